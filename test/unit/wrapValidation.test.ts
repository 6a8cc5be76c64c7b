// WrapKey and UnwrapKey request validation: mechanism defaults, the parameters each mechanism allows, the blob cap.
import { HashAlgorithm, UnwrapKeyRequest, WrapKeyRequest, WrapMechanism as ProtoMechanism } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { WrapMechanism } from "../../src/hsm/crypto/wrapMechanisms";
import { validateUnwrapKey, validateWrapKey } from "../../src/server/wrapValidation";
import { expectHsmErrorSync } from "./support/harness";

const wrap = (fields: Partial<WrapKeyRequest>) => validateWrapKey(WrapKeyRequest.fromPartial({ keyHandle: 7, wrappingKeyHandle: 8, ...fields }));
const unwrap = (fields: Partial<UnwrapKeyRequest>) =>
  validateUnwrapKey(UnwrapKeyRequest.fromPartial({ wrappingKeyHandle: 8, mechanism: ProtoMechanism.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, wrappedKey: Buffer.alloc(24), keyClass: 4, keyType: 31, label: "k", ...fields }));

test("WrapKey without a mechanism is exSymKey's mechanism 4, with no AAD and the SHA-256 OAEP default", () => {
  expect(wrap({})).toEqual({ keyHandle: 7, wrappingKeyHandle: 8, mechanism: WrapMechanism.AES_KEY_WRAP_PAD_PKCS5, aad: Buffer.alloc(0), oaepHash: "sha256" });
});

test("each proto mechanism maps to the domain mechanism of the same KMU number", () => {
  for (const m of [4, 5, 6, 7, 8, 10]) expect(wrap({ mechanism: m }).mechanism).toBe(m);
  for (const m of [1, 9, 11, 12, -1]) expectHsmErrorSync(() => wrap({ mechanism: m }), "MECHANISM_INVALID");
});

test("UnwrapKey needs a mechanism; AAD is GCM's, the OAEP hash the RSA mechanisms'", () => {
  expectHsmErrorSync(() => unwrap({ mechanism: ProtoMechanism.WRAP_MECHANISM_UNSPECIFIED }), "MECHANISM_INVALID");
  expect(unwrap({ mechanism: ProtoMechanism.WRAP_MECHANISM_AES_GCM, aad: Buffer.from("a") }).aad).toEqual(Buffer.from("a"));
  expectHsmErrorSync(() => unwrap({ aad: Buffer.from("a") }), "MECHANISM_PARAM_INVALID");
  expect(unwrap({ mechanism: ProtoMechanism.WRAP_MECHANISM_RSA_AES, oaepHash: HashAlgorithm.HASH_ALGORITHM_SHA512 }).oaepHash).toBe("sha512");
  expectHsmErrorSync(() => unwrap({ oaepHash: HashAlgorithm.HASH_ALGORITHM_SHA1 }), "MECHANISM_PARAM_INVALID");
  expectHsmErrorSync(() => unwrap({ mechanism: ProtoMechanism.WRAP_MECHANISM_RSA_OAEP, oaepHash: 99 as HashAlgorithm }), "MECHANISM_PARAM_INVALID");
  expectHsmErrorSync(() => unwrap({ mechanism: ProtoMechanism.WRAP_MECHANISM_AES_GCM, aad: Buffer.alloc(8193) }), "MECHANISM_PARAM_INVALID");
});

test("the wrapped key is at most 8192 bytes", () => {
  expect(unwrap({ wrappedKey: Buffer.alloc(8192) }).wrappedKey).toHaveLength(8192);
  expectHsmErrorSync(() => unwrap({ wrappedKey: Buffer.alloc(8193) }), "DATA_TOO_LARGE");
});
