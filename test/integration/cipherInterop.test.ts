// Interop with the openssl command line: openssl decrypts what the daemon encrypts and the daemon decrypts what openssl
// encrypts (RSA-OAEP through openssl pkeyutl, AES-CBC with and without padding, AES-CTR, AES-ECB, 3DES-CBC, 3DES-ECB, and AES-GCM, which openssl enc
// refuses: there openssl's own AES-CTR and AES-ECB do the block work and a GHASH written from SP 800-38D the tag), and
// openssl's HMAC equals Mac and passes VerifyMac. Keys whose bytes the test must know are imported (AES, 3DES) or
// exported (generic secrets, which ImportSymKey does not take) with the ordinary key calls.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CipherMechanism as M, HashAlgorithm as H, HsmClient, KEY_TYPE } from "../../clients";
import { useDaemonFixture } from "../support/daemonFixture";
import { openssl, opensslEnc, opensslGcmDecrypt, opensslGcmEncrypt, opensslHmac } from "../support/opensslCli";

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");

describe("the GCM helper itself (openssl block cipher + SP 800-38D GHASH)", () => {
  test("reproduces McGrew-Viega test cases 2 and 4, and checks a 12-byte tag", async () => {
    const two = await opensslGcmEncrypt(Buffer.alloc(16), Buffer.alloc(12), Buffer.alloc(16), Buffer.alloc(0));
    expect([two.ciphertext.toString("hex"), two.tag.toString("hex")]).toEqual(["0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"]);
    const K = hex("feffe9928665731c6d6a8f9467308308");
    const IV = hex("cafebabefacedbaddecaf888");
    const A = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    const P = hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
    const four = await opensslGcmEncrypt(K, IV, P, A);
    expect(four.tag.toString("hex")).toBe("5bc94fbc3221a5db94fae95ae7121a47");
    expect(await opensslGcmDecrypt(K, IV, four.ciphertext, A, four.tag.subarray(0, 12))).toEqual(P);
    await expect(opensslGcmDecrypt(K, IV, four.ciphertext, Buffer.alloc(0), four.tag)).rejects.toThrow("GCM tag mismatch");
  });
});

describe("daemon <-> openssl", () => {
  let alice: HsmClient;
  let wrappingKey: number;
  const fixture = useDaemonFixture("all");

  beforeAll(async () => {
    ({ alice } = await fixture.start());
    wrappingKey = await alice.createWrappingKey("interop-wrapping");
  });

  async function importKey(material: Buffer, keyType: number): Promise<number> {
    return (await alice.importSymKey(material, { wrappingKey, keyType, label: `interop-${keyType}-${material.length}` })).keyHandle;
  }

  describe.each([
    ["AES-128", 16],
    ["AES-192", 24],
    ["AES-256", 32],
  ])("%s", (_name, size) => {
    let key: Buffer;
    let handle: number;
    beforeAll(async () => {
      key = randomBytes(size);
      handle = await importKey(key, KEY_TYPE.AES);
    });

    test.each([
      ["cbc", M.CIPHER_MECHANISM_AES_CBC_PAD, 16, false, 100],
      ["cbc", M.CIPHER_MECHANISM_AES_CBC, 16, true, 96],
      ["ctr", M.CIPHER_MECHANISM_AES_CTR, 16, false, 100],
      ["ecb", M.CIPHER_MECHANISM_AES_ECB, 0, true, 96],
    ] as [string, M, number, boolean, number][])("aes-%s (mechanism %i) both ways", async (mode, mechanism, ivLength, nopad, length) => {
      const cipher = `aes-${size * 8}-${mode}`;
      const iv = ivLength > 0 ? randomBytes(ivLength) : undefined;
      const plaintext = randomBytes(length);
      const ours = await alice.encrypt(handle, plaintext, { mechanism, iv });
      expect(await opensslEnc(cipher, key, iv, ours.ciphertext, { decrypt: true, nopad })).toEqual(plaintext);
      const theirs = await opensslEnc(cipher, key, iv, plaintext, { nopad });
      expect(theirs).toEqual(ours.ciphertext);
      expect(await alice.decrypt(handle, theirs, { mechanism, iv })).toEqual(plaintext);
    });

    test("aes-gcm both ways, with AAD and a 12- and a 16-byte tag", async () => {
      const aad = randomBytes(20);
      for (const tagLength of [12, 16]) {
        const plaintext = randomBytes(77);
        const ours = await alice.encrypt(handle, plaintext, { mechanism: M.CIPHER_MECHANISM_AES_GCM, aad, tagLength });
        expect(await opensslGcmDecrypt(key, ours.iv, ours.ciphertext, aad, ours.tag)).toEqual(plaintext);
        const iv = randomBytes(12);
        const theirs = await opensslGcmEncrypt(key, iv, plaintext, aad, tagLength);
        expect(await alice.decrypt(handle, theirs.ciphertext, { mechanism: M.CIPHER_MECHANISM_AES_GCM, iv, aad, tag: theirs.tag })).toEqual(plaintext);
      }
    });
  });

  test.each([
    ["des-ede3-cbc", M.CIPHER_MECHANISM_DES3_CBC_PAD, 8, false, 50],
    ["des-ede3-cbc", M.CIPHER_MECHANISM_DES3_CBC, 8, true, 48],
    ["des-ede3-ecb", M.CIPHER_MECHANISM_DES3_ECB, 0, true, 48],
  ] as [string, M, number, boolean, number][])("%s (mechanism %i) both ways", async (cipher, mechanism, ivLength, nopad, length) => {
    const key = randomBytes(24);
    const handle = await importKey(key, KEY_TYPE.DES3);
    const iv = ivLength > 0 ? randomBytes(ivLength) : undefined;
    const plaintext = randomBytes(length);
    const ours = await alice.encrypt(handle, plaintext, { mechanism, iv });
    expect(await opensslEnc(cipher, key, iv, ours.ciphertext, { decrypt: true, nopad })).toEqual(plaintext);
    const theirs = await opensslEnc(cipher, key, iv, plaintext, { nopad });
    expect(await alice.decrypt(handle, theirs, { mechanism, iv })).toEqual(plaintext);
  });

  test.each([
    ["SHA1", H.HASH_ALGORITHM_SHA1],
    ["SHA224", H.HASH_ALGORITHM_SHA224],
    ["SHA256", H.HASH_ALGORITHM_SHA256],
    ["SHA384", H.HASH_ALGORITHM_SHA384],
    ["SHA512", H.HASH_ALGORITHM_SHA512],
  ] as [string, H][])("HMAC-%s: openssl mac equals Mac, and VerifyMac accepts openssl's", async (digest, hash) => {
    const handle = (await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 48, label: `hmac-${digest}` })).keyHandle;
    const { material } = await alice.exportKey(handle, wrappingKey);
    const data = randomBytes(300);
    const theirs = await opensslHmac(digest, material, data);
    expect(await alice.mac(handle, data, hash)).toEqual(theirs);
    await expect(alice.verifyMac(handle, data, theirs, hash)).resolves.toBeUndefined();
  });

  describe("RSA-OAEP with openssl pkeyutl", () => {
    let dir: string;
    let privatePem: string;
    let publicHandle: number;
    let privateHandle: number;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "lch-oaep-"));
      const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
      privatePem = pair.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
      writeFileSync(join(dir, "private.pem"), privatePem, { mode: 0o600 });
      writeFileSync(join(dir, "public.pem"), pair.publicKey.export({ format: "pem", type: "spki" }));
      privateHandle = (await alice.importPrivateKey(privatePem, { wrappingKey, label: "oaep-private" })).keyHandle;
      publicHandle = (await alice.importPublicKey(pair.publicKey, { label: "oaep-public" })).keyHandle;
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const oaep = (digest: string): string[] => ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", `rsa_oaep_md:${digest}`, "-pkeyopt", `rsa_mgf1_md:${digest}`];

    test.each([
      ["sha1", H.HASH_ALGORITHM_SHA1],
      ["sha256", H.HASH_ALGORITHM_SHA256],
      ["sha512", H.HASH_ALGORITHM_SHA512],
    ] as [string, H][])("%s: openssl decrypts the daemon's ciphertext and the daemon decrypts openssl's", async (digest, oaepHash) => {
      const plaintext = randomBytes(48);
      const ours = await alice.encrypt(publicHandle, plaintext, { mechanism: M.CIPHER_MECHANISM_RSA_OAEP, oaepHash });
      expect(await openssl(["pkeyutl", "-decrypt", "-inkey", join(dir, "private.pem"), ...oaep(digest)], ours.ciphertext)).toEqual(plaintext);
      const theirs = await openssl(["pkeyutl", "-encrypt", "-pubin", "-inkey", join(dir, "public.pem"), ...oaep(digest)], plaintext);
      expect(await alice.decrypt(privateHandle, theirs, { mechanism: M.CIPHER_MECHANISM_RSA_OAEP, oaepHash })).toEqual(plaintext);
    });
  });
});
