// WrapKey and UnwrapKey with the RSA mechanisms (-m 7 RSA-AES, -m 8 RSA-OAEP) and with private keys as the wrapped key,
// over real gRPC: blobs read here by node:crypto, round trips, and every refusal with code, reason and nothing created.
import * as grpc from "@grpc/grpc-js";
import { constants, generateKeyPairSync, KeyObject, privateDecrypt, randomBytes } from "node:crypto";
import { HsmClient, hsmProto, KEY_CLASS, KEY_TYPE, UnwrapOptions } from "../../clients";
import { aesKeyUnwrapPad, aesKeyWrapPad } from "../../common/keyWrap";
import { useDaemonFixture } from "../support/daemonFixture";
import { expectRpcError } from "../support/expectRpcError";
import { aesKcv } from "../support/kcv";
import { expectRefusedCreatingNothing } from "../support/keyCensus";
import { TestDaemon } from "../support/testDaemon";

const M = hsmProto.WrapMechanism;
const H = hsmProto.HashAlgorithm;
const S = grpc.status;
const OAEP_HASHES = [
  { name: "SHA-1", hash: H.HASH_ALGORITHM_SHA1, node: "sha1" },
  { name: "SHA-256 (default)", hash: H.HASH_ALGORITHM_UNSPECIFIED, node: "sha256" },
  { name: "SHA-384", hash: H.HASH_ALGORITHM_SHA384, node: "sha384" },
  { name: "SHA-512", hash: H.HASH_ALGORITHM_SHA512, node: "sha512" },
];

describe("RSA wrapping mechanisms and private keys", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let importer: number;
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 });
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  /** The RSA pair in the daemon: the public key wraps, the private key unwraps. */
  let rsaPublic: number;
  let rsaPrivate: number;
  let ecPublic: number;
  let ecPrivate: number;
  /** An AES KEK whose plaintext the test knows. */
  const kekPlain = randomBytes(32);
  let kek: number;

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ t, alice } = await fixture.start());
    importer = await alice.createWrappingKey("importer");
    kek = (await alice.importSymKey(kekPlain, { wrappingKey: importer, label: "known-kek" })).keyHandle;
    rsaPublic = (await alice.importPublicKey(rsa.publicKey, { label: "rsa-wrap" })).keyHandle;
    rsaPrivate = (await alice.importPrivateKey(rsa.privateKey, { wrappingKey: importer, label: "rsa-unwrap" })).keyHandle;
    ecPublic = (await alice.importPublicKey(ec.publicKey, { label: "ec-pub" })).keyHandle;
    ecPrivate = (await alice.importPrivateKey(ec.privateKey, { wrappingKey: importer, label: "ec-priv" })).keyHandle;
  });

  async function secret(material: Buffer, label: string): Promise<number> {
    return (await alice.importSymKey(material, { wrappingKey: importer, label })).keyHandle;
  }

  function unwrapOptions(mechanism: hsmProto.WrapMechanism, overrides: Partial<UnwrapOptions> = {}): UnwrapOptions {
    return { wrappingKey: rsaPrivate, mechanism, keyType: KEY_TYPE.AES, label: "unwrapped", ...overrides };
  }

  function oaepDecrypt(key: KeyObject, hash: string, blob: Buffer): Buffer {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, blob);
  }

  test.each(OAEP_HASHES)("-m 8 with $name: node:crypto's OAEP decryption reads the blob, and the daemon unwraps it into the same key", async ({ hash, node }) => {
    const material = randomBytes(32);
    const handle = await secret(material, `oaep-${node}`);
    const blob = Buffer.from((await alice.wrapKey(handle, rsaPublic, { mechanism: M.WRAP_MECHANISM_RSA_OAEP, oaepHash: hash })).wrappedKey);
    expect(blob).toHaveLength(256);
    expect(oaepDecrypt(rsa.privateKey, node, blob)).toEqual(material);
    const res = await alice.unwrapKey(blob, unwrapOptions(M.WRAP_MECHANISM_RSA_OAEP, { oaepHash: hash }));
    expect(await alice.kcv(res.keyHandle)).toBe(aesKcv(material));
  });

  test.each(OAEP_HASHES)("-m 7 with $name: RSA-OAEP of a 32-byte AES key, then RFC 5649 of the key under it", async ({ hash, node }) => {
    const material = randomBytes(24);
    const handle = await secret(material, `rsa-aes-${node}`);
    const blob = Buffer.from((await alice.wrapKey(handle, rsaPublic, { mechanism: M.WRAP_MECHANISM_RSA_AES, oaepHash: hash })).wrappedKey);
    const ephemeral = oaepDecrypt(rsa.privateKey, node, blob.subarray(0, 256));
    expect(ephemeral).toHaveLength(32);
    expect(aesKeyUnwrapPad(ephemeral, blob.subarray(256))).toEqual(material);
    const res = await alice.unwrapKey(blob, unwrapOptions(M.WRAP_MECHANISM_RSA_AES, { oaepHash: hash }));
    expect(await alice.kcv(res.keyHandle)).toBe(aesKcv(material));
  });

  test("RSA-AES wraps an RSA private key (PKCS#8 DER) that unwraps as -kc 3 -kt 0 with the same KCV and modulus", async () => {
    const victim = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 });
    const handle = (await alice.importPrivateKey(victim.privateKey, { wrappingKey: importer, label: "victim" })).keyHandle;
    const blob = Buffer.from((await alice.wrapKey(handle, rsaPublic, { mechanism: M.WRAP_MECHANISM_RSA_AES })).wrappedKey);
    const ephemeral = oaepDecrypt(rsa.privateKey, "sha256", blob.subarray(0, 256));
    expect(aesKeyUnwrapPad(ephemeral, blob.subarray(256))).toEqual(victim.privateKey.export({ format: "der", type: "pkcs8" }));
    const res = await alice.unwrapKey(blob, unwrapOptions(M.WRAP_MECHANISM_RSA_AES, { keyClass: KEY_CLASS.PRIVATE, keyType: KEY_TYPE.RSA, label: "victim-copy" }));
    expect(res.steps.map((s) => s.name)).toEqual(["Cfm3CreateUnwrapTemplate", "Cfm3UnWrapKey"]);
    expect(await alice.kcv(res.keyHandle)).toBe(await alice.kcv(handle));
    const attr = async (h: number, id: number): Promise<string | undefined> => (await alice.getAttribute(h, id)).attributes[0]?.text;
    expect({ class: await attr(res.keyHandle, 0), modulus: await attr(res.keyHandle, 288), local: await attr(res.keyHandle, 355) }).toEqual({
      class: "0x00000003",
      modulus: await attr(handle, 288),
      local: "0x00000000",
    });
  });

  test("an EC private key wraps with RSA-OAEP (it fits in 190 bytes) and with -m 6, and unwraps as -kc 3 -kt 3", async () => {
    const der = ec.privateKey.export({ format: "der", type: "pkcs8" });
    for (const [mechanism, wrappingKey, unwrappingKey] of [
      [M.WRAP_MECHANISM_RSA_OAEP, rsaPublic, rsaPrivate],
      [M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, kek, kek],
    ] as const) {
      const blob = Buffer.from((await alice.wrapKey(ecPrivate, wrappingKey, { mechanism })).wrappedKey);
      if (mechanism === M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD) expect(blob).toEqual(aesKeyWrapPad(kekPlain, der));
      const res = await alice.unwrapKey(blob, unwrapOptions(mechanism, { wrappingKey: unwrappingKey, keyClass: KEY_CLASS.PRIVATE, keyType: KEY_TYPE.EC, label: "ec-copy" }));
      expect(await alice.kcv(res.keyHandle)).toBe(await alice.kcv(ecPrivate));
    }
  });

  describe("refusals", () => {
    test("an RSA private key is too long for RSA-OAEP: KEY_LENGTH_INVALID", async () => {
      await expectRpcError(alice.wrapKey(rsaPrivate, rsaPublic, { mechanism: M.WRAP_MECHANISM_RSA_OAEP }), S.INVALID_ARGUMENT, "KEY_LENGTH_INVALID");
      // 190 bytes is RSA-2048 OAEP SHA-256's limit, 126 SHA-512's: a 160-byte generic secret fits one and not the other.
      const generic = await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 160, label: "g160" });
      expect((await alice.wrapKey(generic.keyHandle, rsaPublic, { mechanism: M.WRAP_MECHANISM_RSA_OAEP })).wrappedKey).toHaveLength(256);
      await expectRpcError(
        alice.wrapKey(generic.keyHandle, rsaPublic, { mechanism: M.WRAP_MECHANISM_RSA_OAEP, oaepHash: H.HASH_ALGORITHM_SHA512 }),
        S.INVALID_ARGUMENT,
        "KEY_LENGTH_INVALID",
      );
    });

    test("wrapping needs an RSA public key and unwrapping an RSA private key (KEY_TYPE_MISMATCH); AAD is GCM's only", async () => {
      const key = await secret(randomBytes(16), "wrap-me");
      for (const wrapping of [rsaPrivate, ecPublic, kek]) {
        await expectRpcError(alice.wrapKey(key, wrapping, { mechanism: M.WRAP_MECHANISM_RSA_OAEP }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH");
      }
      await expectRpcError(alice.wrapKey(key, rsaPublic, { mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD }), S.FAILED_PRECONDITION, "WRAPPING_KEY_NOT_AES");
      await expectRpcError(alice.wrapKey(key, rsaPublic, { mechanism: M.WRAP_MECHANISM_RSA_AES, aad: Buffer.from("x") }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID");
      await expectRpcError(alice.wrapKey(key, rsaPublic, { mechanism: M.WRAP_MECHANISM_RSA_OAEP, oaepHash: 6 as hsmProto.HashAlgorithm }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID");
    });

    test("a public key is not wrapped (KEY_TYPE_MISMATCH)", async () => {
      await expectRpcError(alice.wrapKey(rsaPublic, kek, { mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH");
    });

    let blob: Buffer;
    beforeAll(async () => {
      blob = Buffer.from((await alice.wrapKey(await secret(randomBytes(32), "for-unwrap"), rsaPublic, { mechanism: M.WRAP_MECHANISM_RSA_OAEP })).wrappedKey);
    });

    test.each([
      ["the public key as unwrapping key", () => ({ wrappingKey: rsaPublic }), () => blob, S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["an EC private key as unwrapping key", () => ({ wrappingKey: ecPrivate }), () => blob, S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["another OAEP hash", () => ({ oaepHash: H.HASH_ALGORITHM_SHA1 }), () => blob, S.INVALID_ARGUMENT, "UNWRAP_INTEGRITY_FAILED"],
      ["a blob of the wrong length for the modulus", () => ({}), () => blob.subarray(1), S.INVALID_ARGUMENT, "DATA_LENGTH_INVALID"],
      ["a tampered blob", () => ({}), () => Buffer.concat([Buffer.from([blob[0]! ^ 0x80]), blob.subarray(1)]), S.INVALID_ARGUMENT, "UNWRAP_INTEGRITY_FAILED"],
      ["an RSA-OAEP blob read as RSA-AES", () => ({ mechanism: M.WRAP_MECHANISM_RSA_AES }), () => Buffer.concat([blob, randomBytes(24)]), S.INVALID_ARGUMENT, "UNWRAP_INTEGRITY_FAILED"],
      ["an AES key as private key (not PKCS#8)", () => ({ keyClass: KEY_CLASS.PRIVATE, keyType: KEY_TYPE.RSA }), () => blob, S.INVALID_ARGUMENT, "KEY_ENCODING_INVALID"],
      ["a private key type that is not 0 or 3", () => ({ keyClass: KEY_CLASS.PRIVATE, keyType: 1 }), () => blob, S.INVALID_ARGUMENT, "KEY_TYPE_NOT_ALLOWED"],
    ])("UnwrapKey refuses %s and creates nothing", async (_name, options, wrapped, code, reason) => {
      await expectRefusedCreatingNothing(t, alice, () => alice.unwrapKey(wrapped(), unwrapOptions(M.WRAP_MECHANISM_RSA_OAEP, options())), code, reason);
    });

    test("an EC private key unwrapped as -kt 0 (RSA) is KEY_TYPE_MISMATCH and creates nothing", async () => {
      const wrapped = aesKeyWrapPad(kekPlain, ec.privateKey.export({ format: "der", type: "pkcs8" }));
      await expectRefusedCreatingNothing(
        t,
        alice,
        () => alice.unwrapKey(wrapped, { wrappingKey: kek, mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, keyClass: KEY_CLASS.PRIVATE, keyType: KEY_TYPE.RSA, label: "wrong-type" }),
        S.FAILED_PRECONDITION,
        "KEY_TYPE_MISMATCH",
      );
    });

    test("an RSA-1024 private key is refused by the HSM's size policy and creates nothing", async () => {
      const small = generateKeyPairSync("rsa", { modulusLength: 1024, publicExponent: 65537 }).privateKey.export({ format: "der", type: "pkcs8" });
      await expectRefusedCreatingNothing(
        t,
        alice,
        () => alice.unwrapKey(aesKeyWrapPad(kekPlain, small), { wrappingKey: kek, mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, keyClass: KEY_CLASS.PRIVATE, keyType: KEY_TYPE.RSA, label: "small" }),
        S.INVALID_ARGUMENT,
        "KEY_LENGTH_INVALID",
      );
    });
  });
});
