// WrapKey with each mechanism and UnwrapKey over real gRPC: round trips, blob layouts, the new key's attributes and
// options, and every refusal with its code and reason, creating nothing.
import * as grpc from "@grpc/grpc-js";
import { createDecipheriv, randomBytes } from "node:crypto";
import { ATTRIBUTE, HsmClient, hsmProto, KEY_CLASS, KEY_TYPE, UnwrapOptions } from "../../clients";
import { aesKeyWrap, aesKeyWrapPad, aesKeyWrapPkcs5 } from "../../common/keyWrap";
import { useDaemonFixture } from "../support/daemonFixture";
import { expectRpcError } from "../support/expectRpcError";
import { aesKcv, des3Kcv } from "../support/kcv";
import { expectRefusedCreatingNothing } from "../support/keyCensus";
import { TestDaemon } from "../support/testDaemon";

const M = hsmProto.WrapMechanism;
const H = hsmProto.HashAlgorithm;
const S = grpc.status;

const AES_MECHANISMS = [
  { name: "-m 4 AES key wrap with PKCS#5 padding", mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5 },
  { name: "-m 5 RFC 3394 without padding", mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD },
  { name: "-m 6 RFC 5649", mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD },
  { name: "-m 10 AES-GCM", mechanism: M.WRAP_MECHANISM_AES_GCM },
];

const SECRET_KINDS = [
  { name: "AES-128", keyType: KEY_TYPE.AES, length: 16 },
  { name: "AES-192", keyType: KEY_TYPE.AES, length: 24 },
  { name: "AES-256", keyType: KEY_TYPE.AES, length: 32 },
  { name: "3DES", keyType: KEY_TYPE.DES3, length: 24 },
];

/** A single attribute's text (8 hex digits for integers and booleans). */
async function attribute(client: HsmClient, handle: number, id: number): Promise<string | undefined> {
  return (await client.getAttribute(handle, id)).attributes[0]?.text;
}

describe("WrapKey mechanisms and UnwrapKey", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let bob: HsmClient;
  /** Generated wrapping key used only to import known plaintext. */
  let importer: number;
  /** A wrapping key whose plaintext the test knows. */
  const kekPlain = randomBytes(32);
  let kek: number;

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ t, alice } = await fixture.start());
    bob = await t.loggedInCu("bob");
    importer = await alice.createWrappingKey("importer");
    kek = (await alice.importSymKey(kekPlain, { wrappingKey: importer, label: "known-kek" })).keyHandle;
  });

  async function importKnown(material: Buffer, keyType: number = KEY_TYPE.AES, label = "known"): Promise<number> {
    return (await alice.importSymKey(material, { wrappingKey: importer, keyType, label })).keyHandle;
  }

  function unwrapOptions(mechanism: hsmProto.WrapMechanism, overrides: Partial<UnwrapOptions> = {}): UnwrapOptions {
    return { wrappingKey: kek, mechanism, keyType: KEY_TYPE.AES, label: "unwrapped", ...overrides };
  }

  describe.each(AES_MECHANISMS)("$name", ({ mechanism }) => {
    test.each(SECRET_KINDS)("$name: wrapped and unwrapped into a new key with the same KCV, LOCAL=0, through the documented steps", async (kind) => {
      const material = randomBytes(kind.length);
      const handle = await importKnown(material, kind.keyType, `src-${kind.name}`);
      const wrapped = Buffer.from((await alice.wrapKey(handle, kek, { mechanism })).wrappedKey);
      const res = await alice.unwrapKey(wrapped, unwrapOptions(mechanism, { keyType: kind.keyType, label: `dst-${kind.name}` }));
      expect(res.steps.map((s) => [s.name, s.returnCode])).toEqual([
        ["Cfm3CreateUnwrapTemplate", 0],
        ["Cfm3UnWrapKey", 0],
      ]);
      expect(res.nodeStatuses.map((n) => n.errState)).toEqual([0, 0, 0]);
      const kcv = kind.keyType === KEY_TYPE.AES ? aesKcv(material) : des3Kcv(material);
      expect({ kcv: await alice.kcv(res.keyHandle), local: await attribute(alice, res.keyHandle, ATTRIBUTE.LOCAL) }).toEqual({ kcv, local: "0x00000000" });
      expect(await attribute(alice, res.keyHandle, ATTRIBUTE.KEY_TYPE)).toBe(`0x${kind.keyType.toString(16).padStart(8, "0")}`);
    });
  });

  test("the AES key wrap blobs are exactly RFC 3394, RFC 5649 and PKCS#5-padded RFC 3394 of the key under the known KEK", async () => {
    const material = randomBytes(32);
    const handle = await importKnown(material);
    const blob = async (mechanism: hsmProto.WrapMechanism): Promise<Buffer> => Buffer.from((await alice.wrapKey(handle, kek, { mechanism })).wrappedKey);
    expect(await blob(M.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD)).toEqual(aesKeyWrap(kekPlain, material));
    expect(await blob(M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD)).toEqual(aesKeyWrapPad(kekPlain, material));
    expect(await blob(M.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5)).toEqual(aesKeyWrapPkcs5(kekPlain, material));
    // Without options: exSymKey's mechanism 4, as before.
    expect(Buffer.from((await alice.wrapKey(handle, kek)).wrappedKey)).toEqual(aesKeyWrapPkcs5(kekPlain, material));
  });

  test("the AES-GCM blob is iv (12) || ciphertext || tag (16) with the AAD, decrypted here by node:crypto", async () => {
    const material = randomBytes(24);
    const handle = await importKnown(material, KEY_TYPE.DES3);
    const aad = Buffer.from("wrap context");
    const blob = Buffer.from((await alice.wrapKey(handle, kek, { mechanism: M.WRAP_MECHANISM_AES_GCM, aad })).wrappedKey);
    expect(blob.length).toBe(12 + 24 + 16);
    const decipher = createDecipheriv("aes-256-gcm", kekPlain, blob.subarray(0, 12), { authTagLength: 16 });
    decipher.setAAD(aad);
    decipher.setAuthTag(blob.subarray(blob.length - 16));
    expect(Buffer.concat([decipher.update(blob.subarray(12, blob.length - 16)), decipher.final()])).toEqual(material);
    // The IV is made by the HSM for each call.
    const again = Buffer.from((await alice.wrapKey(handle, kek, { mechanism: M.WRAP_MECHANISM_AES_GCM, aad })).wrappedKey);
    expect(again.subarray(0, 12).equals(blob.subarray(0, 12))).toBe(false);
    // Unwrapping needs the same AAD.
    const res = await alice.unwrapKey(blob, unwrapOptions(M.WRAP_MECHANISM_AES_GCM, { keyType: KEY_TYPE.DES3, aad }));
    expect(await alice.kcv(res.keyHandle)).toBe(des3Kcv(material));
    await expectRefusedCreatingNothing(
      t,
      alice,
      () => alice.unwrapKey(blob, unwrapOptions(M.WRAP_MECHANISM_AES_GCM, { keyType: KEY_TYPE.DES3, aad: Buffer.from("other") })),
      S.INVALID_ARGUMENT,
      "UNWRAP_INTEGRITY_FAILED",
    );
  });

  test("a generic secret of any length wraps with -m 6 and GCM and comes back as a generic secret with VALUE_LEN", async () => {
    const generic = await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 13, label: "odd-secret" });
    for (const mechanism of [M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, M.WRAP_MECHANISM_AES_GCM, M.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5]) {
      const blob = Buffer.from((await alice.wrapKey(generic.keyHandle, kek, { mechanism })).wrappedKey);
      const res = await alice.unwrapKey(blob, unwrapOptions(mechanism, { keyType: KEY_TYPE.GENERIC_SECRET }));
      expect(await attribute(alice, res.keyHandle, 353)).toBe("0x0000000d");
      // Both copies export to the same bytes.
      expect((await alice.exportKey(res.keyHandle, kek)).material).toEqual((await alice.exportKey(generic.keyHandle, kek)).material);
    }
  });

  test("-nex, -sess, -id, -u, -min_srv and -attest shape the unwrapped key like imSymKey's", async () => {
    const material = randomBytes(16);
    const blob = aesKeyWrapPad(kekPlain, material);
    const res = await alice.unwrapKey(
      blob,
      unwrapOptions(M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, { label: "shaped", id: "unwrap-id-1", shareWith: [bob.userId!], minSrv: 3, attest: true, nonExtractable: true }),
    );
    expect(res.attestation).toEqual({ pass: true, problems: [] });
    expect(res.nodeStatuses.map((n) => n.holdsKey)).toEqual([true, true, true]);
    expect(await attribute(alice, res.keyHandle, 354)).toBe("0x00000000"); // OBJ_ATTR_EXTRACTABLE
    expect(await bob.kcv(res.keyHandle)).toBe(aesKcv(material));
    expect(await alice.findKey({ id: "unwrap-id-1" })).toEqual([res.keyHandle]);
    await expectRpcError(alice.wrapKey(res.keyHandle, kek, { mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD }), S.FAILED_PRECONDITION, "KEY_NOT_EXTRACTABLE");

    const sess = await alice.unwrapKey(blob, unwrapOptions(M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, { label: "session-copy", session: true }));
    expect(sess.nodeStatuses).toHaveLength(1);
    expect(await attribute(alice, sess.keyHandle, ATTRIBUTE.TOKEN)).toBe("0x00000000");
  });

  test("a shared wrapping key unwraps for bob, who owns the new key", async () => {
    const shared = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "shared-kek", shareWith: [bob.userId!] });
    const material = randomBytes(32);
    const src = await importKnown(material);
    const blob = Buffer.from((await alice.wrapKey(src, shared.keyHandle, { mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD })).wrappedKey);
    const res = await bob.unwrapKey(blob, unwrapOptions(M.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD, { wrappingKey: shared.keyHandle }));
    expect((await bob.getKeyInfo(res.keyHandle)).ownerUserId).toBe(bob.userId);
    expect(await bob.kcv(res.keyHandle)).toBe(aesKcv(material));
    // Bob may unwrap with the shared key but not export alice's key with it.
    await expectRpcError(bob.wrapKey(src, shared.keyHandle, { mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD }), S.NOT_FOUND, "KEY_NOT_FOUND");
  });

  describe("WrapKey refusals", () => {
    let aes: number;
    let des: number;
    beforeAll(async () => {
      aes = await importKnown(randomBytes(16), KEY_TYPE.AES, "wrap-me");
      des = await importKnown(randomBytes(24), KEY_TYPE.DES3, "des-wrapper");
    });

    test.each([
      ["a mechanism KMU does not have (9)", () => ({ mechanism: 9 as hsmProto.WrapMechanism }), S.INVALID_ARGUMENT, "MECHANISM_INVALID"],
      ["AAD with -m 4", () => ({ mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5, aad: Buffer.from("x") }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["AAD with -m 6", () => ({ mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, aad: Buffer.from("x") }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["an OAEP hash with -m 5", () => ({ mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD, oaepHash: H.HASH_ALGORITHM_SHA256 }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
    ])("%s is refused", async (_name, options, code, reason) => {
      await expectRpcError(alice.wrapKey(aes, kek, options()), code, reason);
    });

    test("-m 5 refuses a key that is not a multiple of 8 bytes (KEY_LENGTH_INVALID); -m 6 wraps it", async () => {
      const odd = await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 20, label: "twenty" });
      await expectRpcError(alice.wrapKey(odd.keyHandle, kek, { mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD }), S.INVALID_ARGUMENT, "KEY_LENGTH_INVALID");
      const small = await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 8, label: "eight" });
      await expectRpcError(alice.wrapKey(small.keyHandle, kek, { mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD }), S.INVALID_ARGUMENT, "KEY_LENGTH_INVALID");
      expect((await alice.wrapKey(odd.keyHandle, kek, { mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD })).wrappedKey).toHaveLength(32);
    });

    test("an AES key cannot wrap with the RSA mechanisms (KEY_TYPE_MISMATCH); a 3DES key cannot wrap with the AES ones (WRAPPING_KEY_NOT_AES)", async () => {
      for (const mechanism of [M.WRAP_MECHANISM_RSA_OAEP, M.WRAP_MECHANISM_RSA_AES]) {
        await expectRpcError(alice.wrapKey(aes, kek, { mechanism }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH");
      }
      for (const { mechanism } of AES_MECHANISMS) {
        await expectRpcError(alice.wrapKey(aes, des, { mechanism }), S.FAILED_PRECONDITION, "WRAPPING_KEY_NOT_AES");
      }
    });

    test("a non-extractable key, someone else's key, a missing wrapping key and handle 4 are refused", async () => {
      const nex = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "nex", nonExtractable: true });
      await expectRpcError(alice.wrapKey(nex.keyHandle, kek, { mechanism: M.WRAP_MECHANISM_AES_GCM }), S.FAILED_PRECONDITION, "KEY_NOT_EXTRACTABLE");
      const bobs = await bob.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "bobs", shareWith: [alice.userId!] });
      await expectRpcError(alice.wrapKey(bobs.keyHandle, kek, { mechanism: M.WRAP_MECHANISM_AES_GCM }), S.PERMISSION_DENIED, "KEY_ACCESS_DENIED");
      await expectRpcError(alice.wrapKey(aes, 999_999, { mechanism: M.WRAP_MECHANISM_AES_GCM }), S.NOT_FOUND, "KEY_NOT_FOUND");
      await expectRpcError(alice.wrapKey(aes, 4, { mechanism: M.WRAP_MECHANISM_AES_GCM }), S.PERMISSION_DENIED, "INTERNAL_KEY_UNSUPPORTED");
    });
  });

  describe("UnwrapKey refusals create nothing", () => {
    let blob: Buffer;
    beforeAll(() => {
      blob = aesKeyWrapPad(kekPlain, randomBytes(32));
    });

    const refused = (options: () => Partial<UnwrapOptions>, wrapped: () => Buffer, code: grpc.status, reason: string) => async () => {
      await expectRefusedCreatingNothing(t, alice, () => alice.unwrapKey(wrapped(), unwrapOptions(M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, options())), code, reason);
    };

    test("no mechanism", refused(() => ({ mechanism: M.WRAP_MECHANISM_UNSPECIFIED }), () => blob, S.INVALID_ARGUMENT, "MECHANISM_INVALID"));
    test("an unknown mechanism", refused(() => ({ mechanism: 11 as hsmProto.WrapMechanism }), () => blob, S.INVALID_ARGUMENT, "MECHANISM_INVALID"));
    test("AAD with -m 6", refused(() => ({ aad: Buffer.from("aad") }), () => blob, S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"));
    test("an OAEP hash with an AES mechanism", refused(() => ({ oaepHash: H.HASH_ALGORITHM_SHA1 }), () => blob, S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"));
    test("a wrapped key over 8192 bytes", refused(() => ({}), () => randomBytes(8200), S.INVALID_ARGUMENT, "DATA_TOO_LARGE"));
    test("a blob length -m 6 never makes", refused(() => ({}), () => blob.subarray(0, 20), S.INVALID_ARGUMENT, "DATA_LENGTH_INVALID"));
    test("an empty blob", refused(() => ({}), () => Buffer.alloc(0), S.INVALID_ARGUMENT, "DATA_LENGTH_INVALID"));
    test("a tampered blob", refused(() => ({}), () => Buffer.concat([blob.subarray(0, 8), Buffer.from([blob[8]! ^ 1]), blob.subarray(9)]), S.INVALID_ARGUMENT, "UNWRAP_INTEGRITY_FAILED"));
    test("the blob under the wrong mechanism (RFC 5649 blob read as RFC 3394)", refused(() => ({ mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD }), () => blob, S.INVALID_ARGUMENT, "UNWRAP_INTEGRITY_FAILED"));
    test("a blob under another KEK", refused(() => ({}), () => aesKeyWrapPad(randomBytes(32), randomBytes(32)), S.INVALID_ARGUMENT, "UNWRAP_INTEGRITY_FAILED"));
    test("a key of the wrong length for -kt (32 bytes as 3DES)", refused(() => ({ keyType: KEY_TYPE.DES3 }), () => blob, S.INVALID_ARGUMENT, "KEY_LENGTH_INVALID"));
    test("a secret key type that is not 16, 21 or 31", refused(() => ({ keyType: 0 }), () => blob, S.INVALID_ARGUMENT, "KEY_TYPE_NOT_ALLOWED"));
    test("RC4 (-kt 18), refused by the FIPS policy", refused(() => ({ keyType: 18 }), () => blob, S.INVALID_ARGUMENT, "KEY_TYPE_FIPS_DISALLOWED"));
    test("a private key class with a secret key type", refused(() => ({ keyClass: KEY_CLASS.PRIVATE, keyType: KEY_TYPE.AES }), () => blob, S.INVALID_ARGUMENT, "KEY_TYPE_NOT_ALLOWED"));
    test("a public key class", refused(() => ({ keyClass: KEY_CLASS.PUBLIC }), () => blob, S.INVALID_ARGUMENT, "REQUEST_INVALID"));
    test("an AES key with an RSA mechanism", refused(() => ({ mechanism: M.WRAP_MECHANISM_RSA_OAEP }), () => blob, S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"));
    test("handle 4", refused(() => ({ wrappingKey: 4 }), () => blob, S.PERMISSION_DENIED, "INTERNAL_KEY_UNSUPPORTED"));
    test("a missing wrapping key", refused(() => ({ wrappingKey: 999_999 }), () => blob, S.NOT_FOUND, "KEY_NOT_FOUND"));
    test("-timeout without -min_srv", refused(() => ({ timeoutSeconds: 5 }), () => blob, S.INVALID_ARGUMENT, "TIMEOUT_WITHOUT_MIN_SRV"));
    test("sharing with oneself", refused(() => ({ shareWith: [alice.userId!] }), () => blob, S.INVALID_ARGUMENT, "SHARE_WITH_SELF"));
    test("an empty label", refused(() => ({ label: "" }), () => blob, S.INVALID_ARGUMENT, "LABEL_INVALID"));

    test("an id that another key has", async () => {
      await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "has-id", id: "taken-id" });
      await refused(() => ({ id: "taken-id" }), () => blob, S.ALREADY_EXISTS, "ID_ALREADY_EXISTS")();
    });

    test("a wrapping key bob cannot see", async () => {
      await expectRefusedCreatingNothing(t, bob, () => bob.unwrapKey(blob, unwrapOptions(M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD)), S.NOT_FOUND, "KEY_NOT_FOUND");
    });
  });
});
