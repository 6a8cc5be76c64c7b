// The wrapping mechanisms of KMU -m 5, 6, 7, 8 and 10: round trips, layouts, integrity failures and length rules
// (the AES key wrap vectors of RFC 3394 and RFC 5649 are in keyWrap.test.ts).
import { constants, generateKeyPairSync, privateDecrypt, randomBytes } from "node:crypto";
import { aesKeyUnwrapPad, aesKeyWrap, aesKeyWrapPad, aesKeyWrapPkcs5, UnwrapIntegrityError } from "../../common/keyWrap";
import {
  gcmUnwrap,
  gcmWrap,
  maxOaepBytes,
  modulusBytes,
  OaepHash,
  unwrapKeyBytes,
  WrapMechanism,
  WrapParams,
  WrapperKey,
  wrapKeyBytes,
  wrapLengthProblem,
  wrappedLengthProblem,
} from "../../src/hsm/crypto/wrapMechanisms";
import { hex } from "./support/harness";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 });
const rsaWrap: WrapperKey = { kind: "rsa", key: rsa.publicKey };
const rsaUnwrap: WrapperKey = { kind: "rsa", key: rsa.privateKey };

function params(mechanism: WrapMechanism, extra: Partial<WrapParams> = {}): WrapParams {
  return { mechanism, aad: Buffer.alloc(0), oaepHash: "sha256", ...extra };
}

function flip(buf: Buffer, index: number): Buffer {
  const out = Buffer.from(buf);
  out[index] = (out[index] ?? 0) ^ 1;
  return out;
}

// The Galois/Counter Mode specification (McGrew and Viega), test case 4: AES-128, 96-bit IV, 20 bytes of AAD.
const GCM_CASE_4 = {
  key: hex("feffe9928665731c6d6a8f9467308308"),
  iv: hex("cafebabefacedbaddecaf888"),
  aad: hex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
  plaintext: hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"),
  ciphertext: hex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"),
  tag: hex("5bc94fbc3221a5db94fae95ae7121a47"),
};

describe("AES-GCM wrap (-m 10)", () => {
  test("unwrap of iv || ciphertext || tag from the GCM specification's test case 4 gives its plaintext", () => {
    const { key, iv, aad, plaintext, ciphertext, tag } = GCM_CASE_4;
    expect(gcmUnwrap(key, Buffer.concat([iv, ciphertext, tag]), aad)).toEqual(plaintext);
  });

  test("wrap lays out a fresh 12-byte IV, the ciphertext (as long as the key) and the 16-byte tag", () => {
    const kek = randomBytes(32);
    const key = randomBytes(24);
    const a = gcmWrap(kek, key, Buffer.from("aad"));
    const b = gcmWrap(kek, key, Buffer.from("aad"));
    expect([a.length, b.length]).toEqual([12 + 24 + 16, 12 + 24 + 16]);
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
    expect(gcmUnwrap(kek, a, Buffer.from("aad"))).toEqual(key);
  });

  test("another AAD, another key, or any flipped byte fails the integrity check", () => {
    const kek = randomBytes(16);
    const blob = gcmWrap(kek, randomBytes(16), Buffer.from("context"));
    expect(() => gcmUnwrap(kek, blob, Buffer.from("other"))).toThrow(UnwrapIntegrityError);
    expect(() => gcmUnwrap(kek, blob, Buffer.alloc(0))).toThrow(UnwrapIntegrityError);
    expect(() => gcmUnwrap(randomBytes(16), blob, Buffer.from("context"))).toThrow(UnwrapIntegrityError);
    for (const i of [0, 11, 12, 27, blob.length - 1]) expect(() => gcmUnwrap(kek, flip(blob, i), Buffer.from("context"))).toThrow(UnwrapIntegrityError);
    expect(() => gcmUnwrap(kek, blob.subarray(0, 28), Buffer.from("context"))).toThrow(UnwrapIntegrityError);
  });
});

describe("RSA-OAEP wrap (-m 8)", () => {
  test.each<OaepHash>(["sha1", "sha224", "sha256", "sha384", "sha512"])("with %s, node:crypto's own OAEP decryption reads the blob", (hash) => {
    const key = randomBytes(32);
    const blob = wrapKeyBytes(rsaWrap, params(WrapMechanism.RSA_OAEP, { oaepHash: hash }), key);
    expect(blob.length).toBe(256);
    expect(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, blob)).toEqual(key);
    expect(unwrapKeyBytes(rsaUnwrap, params(WrapMechanism.RSA_OAEP, { oaepHash: hash }), blob)).toEqual(key);
  });

  test("unwrapping with another hash or a damaged blob fails the integrity check", () => {
    const blob = wrapKeyBytes(rsaWrap, params(WrapMechanism.RSA_OAEP), randomBytes(16));
    expect(() => unwrapKeyBytes(rsaUnwrap, params(WrapMechanism.RSA_OAEP, { oaepHash: "sha1" }), blob)).toThrow(UnwrapIntegrityError);
    expect(() => unwrapKeyBytes(rsaUnwrap, params(WrapMechanism.RSA_OAEP), flip(blob, 100))).toThrow(UnwrapIntegrityError);
  });

  test("the largest wrappable key is modulus bytes - 2 * hash bytes - 2, and one more byte is refused", () => {
    expect(modulusBytes(rsa.publicKey)).toBe(256);
    expect(maxOaepBytes(256, "sha256")).toBe(190);
    expect(maxOaepBytes(256, "sha512")).toBe(126);
    expect(wrapLengthProblem(WrapMechanism.RSA_OAEP, 190, "sha256", 256)).toBeUndefined();
    expect(wrapLengthProblem(WrapMechanism.RSA_OAEP, 191, "sha256", 256)).toMatch(/at most 190/);
    const blob = wrapKeyBytes(rsaWrap, params(WrapMechanism.RSA_OAEP), Buffer.alloc(190, 7));
    expect(unwrapKeyBytes(rsaUnwrap, params(WrapMechanism.RSA_OAEP), blob)).toEqual(Buffer.alloc(190, 7));
    expect(() => wrapKeyBytes(rsaWrap, params(WrapMechanism.RSA_OAEP), Buffer.alloc(191))).toThrow();
  });
});

describe("RSA-AES wrap (-m 7, PKCS#11 CKM_RSA_AES_KEY_WRAP)", () => {
  test("the blob is RSA-OAEP of a 32-byte AES key, then RFC 5649 of the target under that key", () => {
    const target = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "der", type: "pkcs8" });
    const blob = wrapKeyBytes(rsaWrap, params(WrapMechanism.RSA_AES, { oaepHash: "sha1" }), target);
    const ephemeral = privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha1" }, blob.subarray(0, 256));
    expect(ephemeral.length).toBe(32);
    expect(aesKeyUnwrapPad(ephemeral, blob.subarray(256))).toEqual(target);
    expect(unwrapKeyBytes(rsaUnwrap, params(WrapMechanism.RSA_AES, { oaepHash: "sha1" }), blob)).toEqual(target);
  });

  test("a blob composed elsewhere with an AES-128 ephemeral key unwraps too; a damaged half fails", () => {
    const ephemeral = randomBytes(16);
    const target = randomBytes(32);
    const head = wrapKeyBytes(rsaWrap, params(WrapMechanism.RSA_OAEP), ephemeral);
    const blob = Buffer.concat([head, aesKeyWrapPad(ephemeral, target)]);
    expect(unwrapKeyBytes(rsaUnwrap, params(WrapMechanism.RSA_AES), blob)).toEqual(target);
    expect(() => unwrapKeyBytes(rsaUnwrap, params(WrapMechanism.RSA_AES), flip(blob, 3))).toThrow(UnwrapIntegrityError);
    expect(() => unwrapKeyBytes(rsaUnwrap, params(WrapMechanism.RSA_AES), flip(blob, blob.length - 1))).toThrow(UnwrapIntegrityError);
  });
});

describe("the AES key wrap mechanisms through the one entry point", () => {
  const kek = randomBytes(32);
  const aes: WrapperKey = { kind: "aes", material: kek };

  test("-m 4, 5 and 6 are the common/keyWrap functions (one implementation per algorithm)", () => {
    const key = randomBytes(32);
    expect(wrapKeyBytes(aes, params(WrapMechanism.AES_KEY_WRAP_PAD_PKCS5), key)).toEqual(aesKeyWrapPkcs5(kek, key));
    expect(wrapKeyBytes(aes, params(WrapMechanism.AES_KEY_WRAP_NO_PAD), key)).toEqual(aesKeyWrap(kek, key));
    expect(wrapKeyBytes(aes, params(WrapMechanism.AES_KEY_WRAP_ZERO_PAD), key)).toEqual(aesKeyWrapPad(kek, key));
    for (const m of [WrapMechanism.AES_KEY_WRAP_PAD_PKCS5, WrapMechanism.AES_KEY_WRAP_NO_PAD, WrapMechanism.AES_KEY_WRAP_ZERO_PAD, WrapMechanism.AES_GCM]) {
      expect(unwrapKeyBytes(aes, params(m), wrapKeyBytes(aes, params(m), key))).toEqual(key);
    }
  });

  test("length rules: no padding needs a multiple of 8 of at least 16; PKCS#5 at least 8; KWP, GCM and RSA-AES any non-empty key", () => {
    const problems = (m: WrapMechanism): number[] => [0, 1, 7, 8, 12, 16, 20, 24].filter((n) => wrapLengthProblem(m, n, "sha256", 256) !== undefined);
    expect(problems(WrapMechanism.AES_KEY_WRAP_NO_PAD)).toEqual([0, 1, 7, 8, 12, 20]);
    expect(problems(WrapMechanism.AES_KEY_WRAP_PAD_PKCS5)).toEqual([0, 1, 7]);
    expect(problems(WrapMechanism.AES_KEY_WRAP_ZERO_PAD)).toEqual([0]);
    expect(problems(WrapMechanism.AES_GCM)).toEqual([0]);
    expect(problems(WrapMechanism.RSA_AES)).toEqual([0]);
  });

  test("blob lengths a mechanism can never produce are recognised before any unwrapping", () => {
    expect(wrappedLengthProblem(WrapMechanism.AES_KEY_WRAP_NO_PAD, 20, 0)).toBeDefined();
    expect(wrappedLengthProblem(WrapMechanism.AES_KEY_WRAP_NO_PAD, 24, 0)).toBeUndefined();
    expect(wrappedLengthProblem(WrapMechanism.AES_KEY_WRAP_ZERO_PAD, 8, 0)).toBeDefined();
    expect(wrappedLengthProblem(WrapMechanism.AES_KEY_WRAP_ZERO_PAD, 16, 0)).toBeUndefined();
    expect(wrappedLengthProblem(WrapMechanism.AES_GCM, 28, 0)).toBeDefined();
    expect(wrappedLengthProblem(WrapMechanism.AES_GCM, 29, 0)).toBeUndefined();
    expect(wrappedLengthProblem(WrapMechanism.RSA_OAEP, 255, 256)).toBeDefined();
    expect(wrappedLengthProblem(WrapMechanism.RSA_OAEP, 256, 256)).toBeUndefined();
    expect(wrappedLengthProblem(WrapMechanism.RSA_AES, 256 + 8, 256)).toBeDefined();
    expect(wrappedLengthProblem(WrapMechanism.RSA_AES, 256 + 16, 256)).toBeUndefined();
  });
});
