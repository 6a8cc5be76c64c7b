// The cipher and HMAC modules against published known answers: GCM (McGrew-Viega test cases, as in NIST's GCM
// validation), SP 800-38A (ECB, CBC, CTR), SP 800-67 (3DES), RFC 4231 and RFC 2202 (HMAC); and the parameter rules.
import { constants, generateKeyPairSync, privateDecrypt, randomBytes } from "node:crypto";
import {
  checkDecryptInput,
  checkEncryptInput,
  CipherMechanism,
  gcmDecrypt,
  gcmEncrypt,
  MAX_DATA_BYTES,
  symmetricDecrypt,
  symmetricEncrypt,
  SymmetricMechanism,
} from "../../src/hsm/crypto/ciphers";
import { hmac, hmacMatches } from "../../src/hsm/crypto/hmac";
import { oaepDecrypt, oaepEncrypt, oaepMaxData } from "../../src/hsm/crypto/rsaOaep";
import { Reason } from "../../src/hsm/errors";
import { expectHsmErrorSync, hex } from "./support/harness";

const NONE = Buffer.alloc(0);

describe("AES-GCM known answers (McGrew-Viega test cases 1, 2, 4, 16)", () => {
  const K3 = hex("feffe9928665731c6d6a8f9467308308");
  const P60 = hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  const A = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const IV = hex("cafebabefacedbaddecaf888");
  const cases: [string, Buffer, Buffer, Buffer, Buffer, string, string][] = [
    ["1: empty plaintext", Buffer.alloc(16), Buffer.alloc(12), NONE, NONE, "", "58e2fccefa7e3061367f1d57a4e7455a"],
    ["2: one zero block", Buffer.alloc(16), Buffer.alloc(12), Buffer.alloc(16), NONE, "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"],
    [
      "4: AES-128 with AAD",
      K3,
      IV,
      P60,
      A,
      "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
      "5bc94fbc3221a5db94fae95ae7121a47",
    ],
    [
      "16: AES-256 with AAD",
      Buffer.concat([K3, K3]),
      IV,
      P60,
      A,
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
      "76fc6ece0f4e1768cddf8853bb2d551b",
    ],
  ];

  test.each(cases)("test case %s", (_name, key, iv, plaintext, aad, ciphertext, tag) => {
    const out = gcmEncrypt(key, iv, plaintext, aad, 16);
    expect(out.ciphertext.toString("hex")).toBe(ciphertext);
    expect(out.tag.toString("hex")).toBe(tag);
    expect(gcmDecrypt(key, iv, hex(ciphertext), aad, hex(tag))).toEqual(plaintext);
  });

  test("a 12-byte tag is the first 12 bytes of the full tag (test case 4), and checks as such", () => {
    const out = gcmEncrypt(K3, IV, P60, A, 12);
    expect(out.tag.toString("hex")).toBe("5bc94fbc3221a5db94fae95a");
    expect(gcmDecrypt(K3, IV, out.ciphertext, A, out.tag)).toEqual(P60);
    // SP 800-38D: the decrypter names the tag length (here, by the tag it gives); a 12-byte tag with one bit off fails.
    const bad = Buffer.from(out.tag);
    bad[11]! ^= 1;
    expectHsmErrorSync(() => gcmDecrypt(K3, IV, out.ciphertext, A, bad), "ENCRYPTED_DATA_INVALID");
  });

  test.each([
    ["a flipped tag bit", (c: Buffer, t: Buffer, a: Buffer) => [c, Buffer.from(t.map((b, i) => (i === 0 ? b ^ 1 : b))), a]],
    ["a flipped ciphertext bit", (c: Buffer, t: Buffer, a: Buffer) => [Buffer.from(c.map((b, i) => (i === 5 ? b ^ 0x80 : b))), t, a]],
    ["other AAD", (c: Buffer, t: Buffer) => [c, t, hex("00")]],
  ] as [string, (c: Buffer, t: Buffer, a: Buffer) => Buffer[]][])("%s is ENCRYPTED_DATA_INVALID", (_name, tamper) => {
    const out = gcmEncrypt(K3, IV, P60, A, 16);
    const [c, t, a] = tamper(out.ciphertext, out.tag, A);
    expectHsmErrorSync(() => gcmDecrypt(K3, IV, c!, a!, t!), "ENCRYPTED_DATA_INVALID");
  });

  test("symmetricEncrypt makes a fresh 12-byte IV each time, 16-byte tag by default, and decrypts back", () => {
    const key = randomBytes(32);
    const input = { data: Buffer.from("attack at dawn"), iv: NONE, aad: Buffer.from("hdr"), tagLength: 0 };
    const a = symmetricEncrypt("AES_GCM", key, input);
    const b = symmetricEncrypt("AES_GCM", key, input);
    expect([a.iv.length, a.tag.length]).toEqual([12, 16]);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(symmetricDecrypt("AES_GCM", key, { data: a.ciphertext, iv: a.iv, aad: input.aad, tag: a.tag })).toEqual(input.data);
    expect(symmetricEncrypt("AES_GCM", key, { ...input, tagLength: 13 }).tag).toHaveLength(13);
  });
});

describe("SP 800-38A known answers (F.1 ECB, F.2 CBC, F.5 CTR)", () => {
  const P = hex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710");
  const K128 = hex("2b7e151628aed2a6abf7158809cf4f3c");
  const K256 = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
  const CBC_IV = hex("000102030405060708090a0b0c0d0e0f");
  const cases: [string, SymmetricMechanism, Buffer, Buffer, string][] = [
    ["F.1.1 ECB-AES128", "AES_ECB", K128, NONE, "3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf 43b1cd7f598ece23881b00e3ed030688 7b0c785e27e8ad3f8223207104725dd4"],
    ["F.1.5 ECB-AES256", "AES_ECB", K256, NONE, "f3eed1bdb5d2a03c064b5a7e3db181f8 591ccb10d410ed26dc5ba74a31362870 b6ed21b99ca6f4f9f153e7b1beafed1d 23304b7a39f9f3ff067d8d8f9e24ecc7"],
    ["F.2.1 CBC-AES128", "AES_CBC", K128, CBC_IV, "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2 73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7"],
    ["F.2.5 CBC-AES256", "AES_CBC", K256, CBC_IV, "f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d 39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b"],
    ["F.5.1 CTR-AES128", "AES_CTR", K128, hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), "874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff 5ae4df3edbd5d35e5b4f09020db03eab 1e031dda2fbe03d1792170a0f3009cee"],
  ];

  test.each(cases)("%s", (_name, mechanism, key, iv, expected) => {
    const out = symmetricEncrypt(mechanism, key, { data: P, iv, aad: NONE, tagLength: 0 });
    expect(out.ciphertext).toEqual(hex(expected));
    expect(out.iv).toEqual(iv);
    expect(out.tag).toHaveLength(0);
    expect(symmetricDecrypt(mechanism, key, { data: hex(expected), iv, aad: NONE, tag: NONE })).toEqual(P);
  });

  test("CBC with PKCS#7 padding: the CBC answer plus one block of 16 x 0x10, and back", () => {
    const out = symmetricEncrypt("AES_CBC_PAD", K128, { data: P, iv: CBC_IV, aad: NONE, tagLength: 0 });
    expect(out.ciphertext.subarray(0, 64)).toEqual(hex(cases[2]![4]));
    expect(out.ciphertext).toHaveLength(80);
    expect(symmetricDecrypt("AES_CBC_PAD", K128, { data: out.ciphertext, iv: CBC_IV, aad: NONE, tag: NONE })).toEqual(P);
  });

  test("CTR takes any length (a partial last block)", () => {
    const out = symmetricEncrypt("AES_CTR", K128, { data: P.subarray(0, 20), iv: hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"), aad: NONE, tagLength: 0 });
    expect(out.ciphertext).toEqual(hex(cases[4]![4]).subarray(0, 20));
  });

  test("bad PKCS#7 padding is ENCRYPTED_DATA_INVALID", () => {
    // The raw CBC encryption of a block ending in 0x00 decrypts to invalid padding.
    const block = Buffer.alloc(16, 0x41);
    block[15] = 0;
    const raw = symmetricEncrypt("AES_CBC", K128, { data: block, iv: CBC_IV, aad: NONE, tagLength: 0 }).ciphertext;
    expectHsmErrorSync(() => symmetricDecrypt("AES_CBC_PAD", K128, { data: raw, iv: CBC_IV, aad: NONE, tag: NONE }), "ENCRYPTED_DATA_INVALID");
  });
});

describe("3DES known answers (SP 800-67 Rev. 1 example, ECB)", () => {
  const K = hex("0123456789ABCDEF 23456789ABCDEF01 456789ABCDEF0123");
  // "The qufck brown fox jump", the standard's own spelling.
  const P = hex("5468652071756663 6B2062726F776E20 666F78206A756D70");
  const C = hex("A826FD8CE53B855F CCE21C8112256FE6 68D5C05DD9B6B900");

  test("ECB encrypts to the published ciphertext and back", () => {
    expect(symmetricEncrypt("DES3_ECB", K, { data: P, iv: NONE, aad: NONE, tagLength: 0 }).ciphertext).toEqual(C);
    expect(symmetricDecrypt("DES3_ECB", K, { data: C, iv: NONE, aad: NONE, tag: NONE })).toEqual(P);
  });

  test("CBC with a zero IV equals ECB on the first block; CBC_PAD adds one block of 8 x 0x08", () => {
    const iv = Buffer.alloc(8);
    const cbc = symmetricEncrypt("DES3_CBC", K, { data: P, iv, aad: NONE, tagLength: 0 }).ciphertext;
    expect(cbc.subarray(0, 8)).toEqual(C.subarray(0, 8));
    const padded = symmetricEncrypt("DES3_CBC_PAD", K, { data: P, iv, aad: NONE, tagLength: 0 }).ciphertext;
    expect(padded.subarray(0, 24)).toEqual(cbc);
    expect(padded).toHaveLength(32);
    expect(symmetricDecrypt("DES3_CBC_PAD", K, { data: padded, iv, aad: NONE, tag: NONE })).toEqual(P);
    expect(symmetricDecrypt("DES3_CBC", K, { data: cbc, iv, aad: NONE, tag: NONE })).toEqual(P);
  });
});

describe("HMAC known answers (RFC 4231 test cases 1 and 2; RFC 2202 for SHA-1)", () => {
  const key1 = Buffer.alloc(20, 0x0b);
  const data1 = Buffer.from("Hi There");
  const key2 = Buffer.from("Jefe");
  const data2 = Buffer.from("what do ya want for nothing?");
  test.each([
    ["SHA1", key1, data1, "b617318655057264e28bc0b6fb378c8ef146be00"],
    ["SHA224", key1, data1, "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22"],
    ["SHA256", key1, data1, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
    ["SHA384", key1, data1, "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"],
    ["SHA512", key1, data1, "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"],
    ["SHA1", key2, data2, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"],
    ["SHA224", key2, data2, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"],
    ["SHA256", key2, data2, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"],
    ["SHA384", key2, data2, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"],
    ["SHA512", key2, data2, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"],
  ] as const)("HMAC-%s", (hash, key, data, expected) => {
    expect(hmac(hash, key, data).toString("hex")).toBe(expected);
    expect(hmacMatches(hash, key, data, hex(expected))).toBe(true);
    const wrong = hex(expected);
    wrong[wrong.length - 1]! ^= 1;
    expect(hmacMatches(hash, key, data, wrong)).toBe(false);
    expect(hmacMatches(hash, key, data, hex(expected).subarray(0, 16))).toBe(false);
  });
});

describe("parameter rules (checked before any key is used)", () => {
  const block = (n: number): Buffer => Buffer.alloc(n, 7);
  const enc = (mechanism: CipherMechanism, over: Partial<{ data: Buffer; iv: Buffer; aad: Buffer; tagLength: number }>) => () =>
    checkEncryptInput(mechanism, { data: block(32), iv: NONE, aad: NONE, tagLength: 0, ...over });
  const dec = (mechanism: CipherMechanism, over: Partial<{ data: Buffer; iv: Buffer; aad: Buffer; tag: Buffer }>) => () =>
    checkDecryptInput(mechanism, { data: block(32), iv: NONE, aad: NONE, tag: NONE, ...over });

  test.each([
    ["GCM with a caller IV", enc("AES_GCM", { iv: block(12) }), "MECHANISM_PARAM_INVALID"],
    ["GCM tag length 11", enc("AES_GCM", { tagLength: 11 }), "MECHANISM_PARAM_INVALID"],
    ["GCM tag length 17", enc("AES_GCM", { tagLength: 17 }), "MECHANISM_PARAM_INVALID"],
    ["CBC tag length 16", enc("AES_CBC", { iv: block(16), tagLength: 16 }), "MECHANISM_PARAM_INVALID"],
    ["CBC with a 15-byte IV", enc("AES_CBC_PAD", { iv: block(15) }), "MECHANISM_PARAM_INVALID"],
    ["CBC without an IV", enc("AES_CBC", {}), "MECHANISM_PARAM_INVALID"],
    ["CTR with an 8-byte IV", enc("AES_CTR", { iv: block(8) }), "MECHANISM_PARAM_INVALID"],
    ["3DES-CBC with a 16-byte IV", enc("DES3_CBC", { iv: block(16) }), "MECHANISM_PARAM_INVALID"],
    ["ECB with an IV", enc("AES_ECB", { iv: block(16) }), "MECHANISM_PARAM_INVALID"],
    ["3DES-ECB with an IV", enc("DES3_ECB", { iv: block(8) }), "MECHANISM_PARAM_INVALID"],
    ["AAD with CBC", enc("AES_CBC_PAD", { iv: block(16), aad: block(4) }), "MECHANISM_PARAM_INVALID"],
    ["AAD with ECB", enc("AES_ECB", { aad: block(4) }), "MECHANISM_PARAM_INVALID"],
    ["RSA-OAEP with an IV", enc("RSA_OAEP", { iv: block(16) }), "MECHANISM_PARAM_INVALID"],
    ["AES-CBC, 17 bytes", enc("AES_CBC", { iv: block(16), data: block(17) }), "DATA_LENGTH_INVALID"],
    ["AES-ECB, 15 bytes", enc("AES_ECB", { data: block(15) }), "DATA_LENGTH_INVALID"],
    ["3DES-CBC, 12 bytes", enc("DES3_CBC", { iv: block(8), data: block(12) }), "DATA_LENGTH_INVALID"],
    ["3DES-ECB, 9 bytes", enc("DES3_ECB", { data: block(9) }), "DATA_LENGTH_INVALID"],
    ["65537 bytes", enc("AES_GCM", { data: block(MAX_DATA_BYTES + 1) }), "DATA_TOO_LARGE"],
    ["65537 bytes of AAD", enc("AES_GCM", { aad: block(MAX_DATA_BYTES + 1) }), "DATA_TOO_LARGE"],
  ] as [string, () => void, Reason][])("encrypt: %s", (_name, fn, reason) => {
    expectHsmErrorSync(fn, reason);
  });

  test.each([
    ["GCM without the IV", dec("AES_GCM", { tag: block(16) }), "MECHANISM_PARAM_INVALID"],
    ["GCM with a 16-byte IV", dec("AES_GCM", { iv: block(16), tag: block(16) }), "MECHANISM_PARAM_INVALID"],
    ["GCM without the tag", dec("AES_GCM", { iv: block(12) }), "MECHANISM_PARAM_INVALID"],
    ["GCM with an 11-byte tag", dec("AES_GCM", { iv: block(12), tag: block(11) }), "MECHANISM_PARAM_INVALID"],
    ["GCM with a 17-byte tag", dec("AES_GCM", { iv: block(12), tag: block(17) }), "MECHANISM_PARAM_INVALID"],
    ["CBC with a tag", dec("AES_CBC", { iv: block(16), tag: block(16) }), "MECHANISM_PARAM_INVALID"],
    ["CTR with AAD", dec("AES_CTR", { iv: block(16), aad: block(1) }), "MECHANISM_PARAM_INVALID"],
    ["CBC_PAD, 0 bytes", dec("AES_CBC_PAD", { iv: block(16), data: NONE }), "DATA_LENGTH_INVALID"],
    ["CBC_PAD, 31 bytes", dec("AES_CBC_PAD", { iv: block(16), data: block(31) }), "DATA_LENGTH_INVALID"],
    ["3DES-ECB, 7 bytes", dec("DES3_ECB", { data: block(7) }), "DATA_LENGTH_INVALID"],
    ["65536 + 17 bytes of CBC_PAD", dec("AES_CBC_PAD", { iv: block(16), data: block(MAX_DATA_BYTES + 32) }), "DATA_TOO_LARGE"],
  ] as [string, () => void, Reason][])("decrypt: %s", (_name, fn, reason) => {
    expectHsmErrorSync(fn, reason);
  });

  test("the largest inputs and the defaults pass", () => {
    expect(() => enc("AES_GCM", { data: block(MAX_DATA_BYTES), tagLength: 12 })()).not.toThrow();
    expect(() => enc("AES_CTR", { data: block(5), iv: block(16) })()).not.toThrow();
    expect(() => enc("AES_CBC_PAD", { data: block(5), iv: block(16) })()).not.toThrow();
    expect(() => dec("AES_CBC_PAD", { data: block(MAX_DATA_BYTES + 16), iv: block(16) })()).not.toThrow();
    expect(() => dec("AES_GCM", { iv: block(12), tag: block(12), aad: block(3) })()).not.toThrow();
  });

  test("errors carry lengths and names, never the data", () => {
    const secret = Buffer.from("the plaintext must not leak here");
    const err = expectHsmErrorSync(enc("AES_ECB", { data: Buffer.concat([secret, block(1)]) }), "DATA_LENGTH_INVALID");
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain("plaintext must");
    expect(err.details).toMatchObject({ mechanism: "AES_ECB", length: 33, block_size: 16 });
  });
});

describe("RSA-OAEP", () => {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

  test("the OAEP limit is k - 2*hLen - 2, and a message at the limit round-trips", () => {
    expect([oaepMaxData(256, "SHA1"), oaepMaxData(256, "SHA256"), oaepMaxData(256, "SHA512")]).toEqual([214, 190, 126]);
    const data = randomBytes(190);
    expect(oaepDecrypt(privateKey, "SHA256", oaepEncrypt(publicKey, "SHA256", data))).toEqual(data);
    expectHsmErrorSync(() => oaepEncrypt(publicKey, "SHA256", randomBytes(191)), "DATA_TOO_LARGE");
  });

  test("node:crypto's own OAEP (an independent caller of OpenSSL) decrypts what oaepEncrypt makes", () => {
    const data = Buffer.from("oaep");
    const ciphertext = oaepEncrypt(publicKey, "SHA384", data);
    expect(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha384" }, ciphertext)).toEqual(data);
  });

  test("a ciphertext of the wrong length, under another hash, or altered is refused", () => {
    const ciphertext = oaepEncrypt(publicKey, "SHA256", Buffer.from("x"));
    expectHsmErrorSync(() => oaepDecrypt(privateKey, "SHA256", ciphertext.subarray(1)), "DATA_LENGTH_INVALID");
    expectHsmErrorSync(() => oaepDecrypt(privateKey, "SHA1", ciphertext), "ENCRYPTED_DATA_INVALID");
    const altered = Buffer.from(ciphertext);
    altered[100]! ^= 1;
    expectHsmErrorSync(() => oaepDecrypt(privateKey, "SHA256", altered), "ENCRYPTED_DATA_INVALID");
  });
});
