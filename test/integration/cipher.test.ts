// Encrypt, Decrypt, Mac and VerifyMac over real gRPC: every mechanism round-trips, and every bad input is refused with
// its gRPC code and ErrorInfo reason and changes nothing (keys, attributes, event log); no data reaches the call log.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { CipherMechanism as M, EcCurve, HashAlgorithm as H, HsmClient, KEY_TYPE, UserType } from "../../clients";
import { useDaemonFixture } from "../support/daemonFixture";
import { expectRpcError } from "../support/expectRpcError";
import { TestDaemon } from "../support/testDaemon";

const S = grpc.status;

describe("Encrypt, Decrypt, Mac, VerifyMac", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let bob: HsmClient;
  let aes128: number;
  let aes256: number;
  let des3: number;
  let hmacKey: number;
  /** Alice's RSA-2048 pair and EC P-256 pair. */
  let rsa: { publicKeyHandle: number; privateKeyHandle: number };
  let ec: { publicKeyHandle: number; privateKeyHandle: number };

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ t, alice } = await fixture.start());
    bob = await t.loggedInCu("bob");
    aes128 = (await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "aes128", minSrv: 3 })).keyHandle;
    aes256 = (await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "aes256", minSrv: 3 })).keyHandle;
    des3 = (await alice.genSymKey({ keyType: KEY_TYPE.DES3, keySize: 24, label: "des3", minSrv: 3 })).keyHandle;
    hmacKey = (await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 32, label: "hmac", minSrv: 3 })).keyHandle;
    rsa = await alice.generateKeyPair({ keyType: KEY_TYPE.RSA, modulusBits: 2048, label: "rsa", minSrv: 3 });
    ec = await alice.generateKeyPair({ keyType: KEY_TYPE.EC, curve: EcCurve.EC_CURVE_P256, label: "ec", minSrv: 3 });
  });

  // Keys are made with minSrv 3, so their replication events are all in before the call returns and the event log
  // moves only when something happens.

  /** What a refusal must leave as it was. */
  async function state(): Promise<unknown> {
    const keys = [aes128, aes256, des3, hmacKey, rsa.publicKeyHandle, rsa.privateKeyHandle];
    const dumps = await Promise.all(keys.map((k) => alice.getAttribute(k, 512)));
    return { dumps, keys: await alice.findKey(), revision: t.daemon.cluster.currentRevision, count: t.daemon.cluster.keyCount };
  }

  async function refusedAndUnchanged(call: () => Promise<unknown>, code: grpc.status, reason: string): Promise<void> {
    const before = await state();
    await expectRpcError(call(), code, reason);
    expect(await state()).toEqual(before);
  }

  describe("round trips", () => {
    test.each([
      ["AES-GCM, AES-128", M.CIPHER_MECHANISM_AES_GCM, () => aes128, 0],
      ["AES-GCM, AES-256", M.CIPHER_MECHANISM_AES_GCM, () => aes256, 0],
      ["AES-CBC-PAD", M.CIPHER_MECHANISM_AES_CBC_PAD, () => aes256, 16],
      ["AES-CBC", M.CIPHER_MECHANISM_AES_CBC, () => aes256, 16],
      ["AES-CTR", M.CIPHER_MECHANISM_AES_CTR, () => aes128, 16],
      ["AES-ECB", M.CIPHER_MECHANISM_AES_ECB, () => aes256, 0],
      ["3DES-CBC-PAD", M.CIPHER_MECHANISM_DES3_CBC_PAD, () => des3, 8],
      ["3DES-CBC", M.CIPHER_MECHANISM_DES3_CBC, () => des3, 8],
      ["3DES-ECB", M.CIPHER_MECHANISM_DES3_ECB, () => des3, 0],
    ] as [string, M, () => number, number][])("%s", async (_name, mechanism, key, ivLength) => {
      const plaintext = randomBytes(64);
      const iv = ivLength > 0 ? randomBytes(ivLength) : undefined;
      const out = await alice.encrypt(key(), plaintext, { mechanism, iv });
      expect(out.ciphertext.equals(plaintext)).toBe(false);
      expect(out.iv).toEqual(mechanism === M.CIPHER_MECHANISM_AES_GCM ? expect.any(Buffer) : (iv ?? Buffer.alloc(0)));
      expect(await alice.decrypt(key(), out.ciphertext, { mechanism, ...out })).toEqual(plaintext);
    });

    test("GCM: a fresh 12-byte IV per call, tag lengths 12 to 16, AAD bound to the tag", async () => {
      const plaintext = Buffer.from("payload");
      const aad = Buffer.from("header");
      const ivs = new Set<string>();
      for (const tagLength of [12, 13, 14, 15, 16]) {
        const out = await alice.encrypt(aes256, plaintext, { mechanism: M.CIPHER_MECHANISM_AES_GCM, aad, tagLength });
        expect([out.iv.length, out.tag.length]).toEqual([12, tagLength]);
        ivs.add(out.iv.toString("hex"));
        expect(await alice.decrypt(aes256, out.ciphertext, { mechanism: M.CIPHER_MECHANISM_AES_GCM, iv: out.iv, tag: out.tag, aad })).toEqual(plaintext);
      }
      expect(ivs.size).toBe(5);
    });

    test.each([
      ["default (SHA-256)", undefined],
      ["SHA-1", H.HASH_ALGORITHM_SHA1],
      ["SHA-384", H.HASH_ALGORITHM_SHA384],
      ["SHA-512", H.HASH_ALGORITHM_SHA512],
    ] as [string, H | undefined][])("RSA-OAEP, %s: the public key encrypts, the private key decrypts; no IV, no tag", async (_name, oaepHash) => {
      const plaintext = randomBytes(32);
      const out = await alice.encrypt(rsa.publicKeyHandle, plaintext, { mechanism: M.CIPHER_MECHANISM_RSA_OAEP, oaepHash });
      expect([out.ciphertext.length, out.iv.length, out.tag.length]).toEqual([256, 0, 0]);
      expect(await alice.decrypt(rsa.privateKeyHandle, out.ciphertext, { mechanism: M.CIPHER_MECHANISM_RSA_OAEP, oaepHash })).toEqual(plaintext);
    });

    test("the largest plaintext (65536 bytes) and an empty one", async () => {
      for (const plaintext of [randomBytes(65536), Buffer.alloc(0)]) {
        const out = await alice.encrypt(aes256, plaintext, { mechanism: M.CIPHER_MECHANISM_AES_CBC_PAD, iv: randomBytes(16) });
        expect(await alice.decrypt(aes256, out.ciphertext, { mechanism: M.CIPHER_MECHANISM_AES_CBC_PAD, iv: out.iv })).toEqual(plaintext);
      }
    });

    test.each([
      [H.HASH_ALGORITHM_SHA1, 20],
      [H.HASH_ALGORITHM_SHA224, 28],
      [H.HASH_ALGORITHM_SHA256, 32],
      [H.HASH_ALGORITHM_SHA384, 48],
      [H.HASH_ALGORITHM_SHA512, 64],
    ])("HMAC with hash %i: %i bytes, verified", async (hash, length) => {
      const data = randomBytes(100);
      const mac = await alice.mac(hmacKey, data, hash);
      expect(mac).toHaveLength(length);
      await expect(alice.verifyMac(hmacKey, data, mac, hash)).resolves.toBeUndefined();
    });

    test("a key shared with bob encrypts for him and decrypts for alice", async () => {
      const { userId: bobId } = (await bob.listUsers()).users.find((u) => u.username === "bob")!;
      const shared = (await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "shared", shareWith: [bobId], minSrv: 3 })).keyHandle;
      const out = await bob.encrypt(shared, Buffer.from("for alice"), { mechanism: M.CIPHER_MECHANISM_AES_GCM });
      expect(await alice.decrypt(shared, out.ciphertext, { mechanism: M.CIPHER_MECHANISM_AES_GCM, ...out })).toEqual(Buffer.from("for alice"));
    });
  });

  describe("refusals: code, reason, and nothing changes", () => {
    const gcm = M.CIPHER_MECHANISM_AES_GCM;
    const cases: [string, () => Promise<unknown>, grpc.status, string][] = [
      ["unspecified mechanism", () => alice.encrypt(aes256, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_UNSPECIFIED }), S.INVALID_ARGUMENT, "MECHANISM_INVALID"],
      ["unknown mechanism 99", () => alice.decrypt(aes256, Buffer.alloc(16), { mechanism: 99 as M }), S.INVALID_ARGUMENT, "MECHANISM_INVALID"],
      ["unspecified MAC hash", () => alice.mac(hmacKey, Buffer.alloc(1), H.HASH_ALGORITHM_UNSPECIFIED), S.INVALID_ARGUMENT, "MECHANISM_INVALID"],
      ["unknown VerifyMac hash 9", () => alice.verifyMac(hmacKey, Buffer.alloc(1), Buffer.alloc(32), 9 as H), S.INVALID_ARGUMENT, "MECHANISM_INVALID"],
      ["a caller IV for GCM", () => alice.encrypt(aes256, Buffer.alloc(16), { mechanism: gcm, iv: randomBytes(12) }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["GCM tag length 11", () => alice.encrypt(aes256, Buffer.alloc(16), { mechanism: gcm, tagLength: 11 }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["GCM tag length 17", () => alice.encrypt(aes256, Buffer.alloc(16), { mechanism: gcm, tagLength: 17 }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["GCM decrypt with an 8-byte IV", () => alice.decrypt(aes256, Buffer.alloc(16), { mechanism: gcm, iv: randomBytes(8), tag: randomBytes(16) }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["an IV for ECB", () => alice.encrypt(aes256, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_AES_ECB, iv: randomBytes(16) }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["a 12-byte IV for CBC", () => alice.encrypt(aes256, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_AES_CBC, iv: randomBytes(12) }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["a 16-byte IV for 3DES-CBC", () => alice.encrypt(des3, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_DES3_CBC, iv: randomBytes(16) }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["AAD with CTR", () => alice.encrypt(aes256, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_AES_CTR, iv: randomBytes(16), aad: Buffer.from("x") }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["65537 bytes", () => alice.encrypt(aes256, Buffer.alloc(65537), { mechanism: gcm }), S.INVALID_ARGUMENT, "DATA_TOO_LARGE"],
      ["a 65537-byte MAC input", () => alice.mac(hmacKey, Buffer.alloc(65537), H.HASH_ALGORITHM_SHA256), S.INVALID_ARGUMENT, "DATA_TOO_LARGE"],
      ["AES-CBC without padding, 17 bytes", () => alice.encrypt(aes256, Buffer.alloc(17), { mechanism: M.CIPHER_MECHANISM_AES_CBC, iv: randomBytes(16) }), S.INVALID_ARGUMENT, "DATA_LENGTH_INVALID"],
      ["3DES-ECB, 12 bytes", () => alice.encrypt(des3, Buffer.alloc(12), { mechanism: M.CIPHER_MECHANISM_DES3_ECB }), S.INVALID_ARGUMENT, "DATA_LENGTH_INVALID"],
      ["AES-CBC-PAD decrypt of 20 bytes", () => alice.decrypt(aes256, Buffer.alloc(20), { mechanism: M.CIPHER_MECHANISM_AES_CBC_PAD, iv: randomBytes(16) }), S.INVALID_ARGUMENT, "DATA_LENGTH_INVALID"],
      ["a 3DES key with AES-GCM", () => alice.encrypt(des3, Buffer.alloc(16), { mechanism: gcm }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["an AES key with 3DES-ECB", () => alice.encrypt(aes256, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_DES3_ECB }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["a generic secret with AES-GCM", () => alice.encrypt(hmacKey, Buffer.alloc(16), { mechanism: gcm }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["an AES key for HMAC", () => alice.mac(aes256, Buffer.alloc(16), H.HASH_ALGORITHM_SHA256), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["an AES key with RSA-OAEP", () => alice.encrypt(aes256, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_RSA_OAEP }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["RSA-OAEP encrypt with the private key", () => alice.encrypt(rsa.privateKeyHandle, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_RSA_OAEP }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["RSA-OAEP decrypt with the public key", () => alice.decrypt(rsa.publicKeyHandle, Buffer.alloc(256), { mechanism: M.CIPHER_MECHANISM_RSA_OAEP }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["RSA-OAEP with an EC public key", () => alice.encrypt(ec.publicKeyHandle, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_RSA_OAEP }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["AES-GCM with an RSA public key", () => alice.encrypt(rsa.publicKeyHandle, Buffer.alloc(16), { mechanism: gcm }), S.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH"],
      ["RSA-OAEP with an IV", () => alice.encrypt(rsa.publicKeyHandle, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_RSA_OAEP, iv: randomBytes(16) }), S.INVALID_ARGUMENT, "MECHANISM_PARAM_INVALID"],
      ["RSA-OAEP-SHA256, 191 bytes under RSA-2048", () => alice.encrypt(rsa.publicKeyHandle, Buffer.alloc(191), { mechanism: M.CIPHER_MECHANISM_RSA_OAEP }), S.INVALID_ARGUMENT, "DATA_TOO_LARGE"],
      ["RSA-OAEP, a 255-byte ciphertext under RSA-2048", () => alice.decrypt(rsa.privateKeyHandle, Buffer.alloc(255), { mechanism: M.CIPHER_MECHANISM_RSA_OAEP }), S.INVALID_ARGUMENT, "DATA_LENGTH_INVALID"],
      ["RSA-OAEP, a ciphertext that does not decode", () => alice.decrypt(rsa.privateKeyHandle, Buffer.alloc(256, 1), { mechanism: M.CIPHER_MECHANISM_RSA_OAEP }), S.INVALID_ARGUMENT, "ENCRYPTED_DATA_INVALID"],
      ["unknown OAEP hash 7", () => alice.encrypt(rsa.publicKeyHandle, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_RSA_OAEP, oaepHash: 7 as H }), S.INVALID_ARGUMENT, "MECHANISM_INVALID"],
      ["a missing key", () => alice.encrypt(0x7fff_0000, Buffer.alloc(16), { mechanism: gcm }), S.NOT_FOUND, "KEY_NOT_FOUND"],
      ["alice's key, used by bob", () => bob.encrypt(aes256, Buffer.alloc(16), { mechanism: gcm }), S.NOT_FOUND, "KEY_NOT_FOUND"],
      ["alice's HMAC key, used by bob", () => bob.mac(hmacKey, Buffer.alloc(16), H.HASH_ALGORITHM_SHA256), S.NOT_FOUND, "KEY_NOT_FOUND"],
      ["handle 4", () => alice.decrypt(4, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_AES_ECB }), S.PERMISSION_DENIED, "INTERNAL_KEY_UNSUPPORTED"],
      ["a 31-byte HMAC-SHA256", () => alice.verifyMac(hmacKey, Buffer.alloc(1), Buffer.alloc(31), H.HASH_ALGORITHM_SHA256), S.INVALID_ARGUMENT, "SIGNATURE_LENGTH_INVALID"],
      ["a wrong HMAC", () => alice.verifyMac(hmacKey, Buffer.alloc(1), Buffer.alloc(32), H.HASH_ALGORITHM_SHA256), S.INVALID_ARGUMENT, "SIGNATURE_INVALID"],
    ];
    test.each(cases)("%s", async (_name, call, code, reason) => {
      await refusedAndUnchanged(call, code, reason);
    });

    test("a tampered GCM tag, ciphertext or AAD is ENCRYPTED_DATA_INVALID", async () => {
      const aad = Buffer.from("bound");
      const out = await alice.encrypt(aes256, randomBytes(40), { mechanism: gcm, aad });
      const flip = (b: Buffer, at: number): Buffer => Buffer.from(b.map((x, i) => (i === at ? x ^ 1 : x)));
      await refusedAndUnchanged(() => alice.decrypt(aes256, out.ciphertext, { mechanism: gcm, iv: out.iv, aad, tag: flip(out.tag, 15) }), S.INVALID_ARGUMENT, "ENCRYPTED_DATA_INVALID");
      await refusedAndUnchanged(() => alice.decrypt(aes256, flip(out.ciphertext, 0), { mechanism: gcm, iv: out.iv, aad, tag: out.tag }), S.INVALID_ARGUMENT, "ENCRYPTED_DATA_INVALID");
      await refusedAndUnchanged(() => alice.decrypt(aes256, out.ciphertext, { mechanism: gcm, iv: out.iv, aad: Buffer.from("other"), tag: out.tag }), S.INVALID_ARGUMENT, "ENCRYPTED_DATA_INVALID");
      // The same ciphertext under another key of the same size.
      const other = (await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "other", minSrv: 3 })).keyHandle;
      await expectRpcError(alice.decrypt(other, out.ciphertext, { mechanism: gcm, iv: out.iv, aad, tag: out.tag }), S.INVALID_ARGUMENT, "ENCRYPTED_DATA_INVALID");
    });

    test("RSA-OAEP with another hash than the encryption's is ENCRYPTED_DATA_INVALID", async () => {
      const out = await alice.encrypt(rsa.publicKeyHandle, Buffer.from("x"), { mechanism: M.CIPHER_MECHANISM_RSA_OAEP, oaepHash: H.HASH_ALGORITHM_SHA1 });
      await refusedAndUnchanged(
        () => alice.decrypt(rsa.privateKeyHandle, out.ciphertext, { mechanism: M.CIPHER_MECHANISM_RSA_OAEP, oaepHash: H.HASH_ALGORITHM_SHA256 }),
        S.INVALID_ARGUMENT,
        "ENCRYPTED_DATA_INVALID",
      );
    });

    test("bad PKCS#7 padding is ENCRYPTED_DATA_INVALID", async () => {
      const iv = randomBytes(16);
      // A raw CBC block whose plaintext ends in 0x00 never unpads.
      const raw = await alice.encrypt(aes256, Buffer.alloc(16), { mechanism: M.CIPHER_MECHANISM_AES_CBC, iv });
      await refusedAndUnchanged(() => alice.decrypt(aes256, raw.ciphertext, { mechanism: M.CIPHER_MECHANISM_AES_CBC_PAD, iv }), S.INVALID_ARGUMENT, "ENCRYPTED_DATA_INVALID");
    });

    test("a crypto officer is PERMISSION_DENIED INVALID_USER_TYPE", async () => {
      await t.admin.createUser("officer", "password-officer", UserType.USER_TYPE_CO);
      const officer = t.client();
      await officer.login("officer", "password-officer", UserType.USER_TYPE_CO);
      await refusedAndUnchanged(() => officer.encrypt(aes256, Buffer.alloc(16), { mechanism: gcm }), S.PERMISSION_DENIED, "INVALID_USER_TYPE");
    });
  });

  test("call log lines name the method and key handle, never the data, IV, tag or MAC", async () => {
    const marker = Buffer.from("secret-plaintext-marker-0123456789");
    const before = t.logs.length;
    const out = await alice.encrypt(aes256, marker, { mechanism: M.CIPHER_MECHANISM_AES_GCM });
    await alice.decrypt(aes256, out.ciphertext, { mechanism: M.CIPHER_MECHANISM_AES_GCM, ...out });
    const mac = await alice.mac(hmacKey, marker, H.HASH_ALGORITHM_SHA256);
    await expectRpcError(alice.decrypt(aes256, out.ciphertext, { mechanism: M.CIPHER_MECHANISM_AES_GCM, iv: out.iv, tag: Buffer.alloc(16) }), S.INVALID_ARGUMENT, "ENCRYPTED_DATA_INVALID");
    const lines = t.logs.slice(before);
    expect(lines.filter((l) => ["Encrypt", "Decrypt", "Mac"].includes(String(l.method))).map((l) => [l.method, l.key_handle])).toEqual([
      ["Encrypt", aes256],
      ["Decrypt", aes256],
      ["Mac", hmacKey],
      ["Decrypt", aes256],
    ]);
    const text = JSON.stringify(lines);
    for (const secret of [marker, out.ciphertext, out.tag, out.iv, mac]) {
      for (const encoding of ["hex", "base64", "utf8"] as const) expect(text).not.toContain(secret.toString(encoding));
    }
  });
});
