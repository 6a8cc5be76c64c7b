// Encrypt, Decrypt, Mac and VerifyMac through HsmCluster (and DataOperations alone for flags no API can clear): who may
// use a key, which key types fit which mechanism, the usage flags, and that a refusal changes nothing.
import { randomBytes } from "node:crypto";
import { DecryptParams, EncryptParams, MacParams } from "../../src/hsm/cluster";
import { DataOperations } from "../../src/hsm/dataOperations";
import { defaultFlags, KeyFlags, KeyObject } from "../../src/hsm/key";
import { KeyGuards } from "../../src/hsm/keyGuards";
import { KeyRegistry } from "../../src/hsm/keyRegistry";
import { KeyClass, KeyType } from "../../src/hsm/keyTypes";
import { LoginSession } from "../../src/hsm/sessions";
import { UserRole } from "../../src/hsm/users";
import { ClusterHarness, CuLogin, expectHsmErrorSync, genParams, importParams } from "./support/harness";

const NONE = Buffer.alloc(0);

function encryptParams(handle: number, over: Partial<EncryptParams> = {}): EncryptParams {
  return { handle, mechanism: "AES_GCM", data: Buffer.from("some data"), iv: NONE, aad: NONE, tagLength: 0, oaepHash: "SHA256", ...over };
}

function decryptParams(handle: number, over: Partial<DecryptParams> = {}): DecryptParams {
  return { handle, mechanism: "AES_GCM", data: NONE, iv: NONE, aad: NONE, tag: NONE, oaepHash: "SHA256", ...over };
}

describe("data operations through the cluster", () => {
  let h: ClusterHarness;
  let alice: CuLogin;
  let bob: CuLogin;
  let aes: number;
  let des3: number;
  let hmacKey: number;

  beforeEach(async () => {
    h = new ClusterHarness({ nodeCount: 3 });
    alice = await h.cu("alice");
    bob = await h.cu("bob");
    aes = (await h.cluster.genSymKey(alice.session, genParams({ label: "aes" }))).handle;
    des3 = (await h.cluster.genSymKey(alice.session, genParams({ label: "des3", keyType: KeyType.DES3, keySize: 24 }))).handle;
    hmacKey = (await h.cluster.genSymKey(alice.session, genParams({ label: "hmac", keyType: KeyType.GENERIC_SECRET, keySize: 32 }))).handle;
  });
  afterEach(() => h.dispose());

  /** What a refusal must leave as it was: the keys, their attributes and the event log. */
  function state(): string {
    const dumps = [aes, des3, hmacKey].map((k) => h.cluster.getAttribute(alice.session, k, 512).map((r) => r.text));
    return JSON.stringify({ dumps, revision: h.cluster.currentRevision, keys: h.cluster.keyCount });
  }

  test("every symmetric mechanism round-trips with a generated key", () => {
    const data = randomBytes(48);
    const cases: [EncryptParams["mechanism"], number, Buffer][] = [
      ["AES_GCM", aes, NONE],
      ["AES_CBC_PAD", aes, randomBytes(16)],
      ["AES_CBC", aes, randomBytes(16)],
      ["AES_CTR", aes, randomBytes(16)],
      ["AES_ECB", aes, NONE],
      ["DES3_CBC_PAD", des3, randomBytes(8)],
      ["DES3_CBC", des3, randomBytes(8)],
      ["DES3_ECB", des3, NONE],
    ];
    for (const [mechanism, handle, iv] of cases) {
      const out = h.cluster.encrypt(alice.session, encryptParams(handle, { mechanism, data, iv }));
      expect(out.ciphertext.equals(data)).toBe(false);
      const back = h.cluster.decrypt(alice.session, decryptParams(handle, { mechanism, data: out.ciphertext, iv: out.iv, tag: out.tag }));
      expect({ mechanism, back: back.toString("hex") }).toEqual({ mechanism, back: data.toString("hex") });
    }
  });

  test("a generic secret is born an HMAC key: SIGN=1, VERIFY=1, ENCRYPT=0, DECRYPT=0", () => {
    const flags = Object.fromEntries(h.cluster.getAttribute(alice.session, hmacKey, 512).map((r) => [r.name, r.text]));
    expect(flags).toMatchObject({ OBJ_ATTR_SIGN: "0x01", OBJ_ATTR_VERIFY: "0x01", OBJ_ATTR_ENCRYPT: "0x00", OBJ_ATTR_DECRYPT: "0x00" });
  });

  test("Mac and VerifyMac with every hash; a wrong MAC is SIGNATURE_INVALID, a short one SIGNATURE_LENGTH_INVALID", () => {
    const data = Buffer.from("message");
    for (const hash of ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"] as const) {
      const mac = h.cluster.mac(alice.session, { handle: hmacKey, hash, data });
      expect(() => h.cluster.verifyMac(alice.session, { handle: hmacKey, hash, data, mac })).not.toThrow();
      const wrong = Buffer.from(mac);
      wrong[0]! ^= 0x01;
      expectHsmErrorSync(() => h.cluster.verifyMac(alice.session, { handle: hmacKey, hash, data, mac: wrong }), "SIGNATURE_INVALID");
      expectHsmErrorSync(() => h.cluster.verifyMac(alice.session, { handle: hmacKey, hash, data: Buffer.from("other"), mac }), "SIGNATURE_INVALID");
      expectHsmErrorSync(() => h.cluster.verifyMac(alice.session, { handle: hmacKey, hash, data, mac: mac.subarray(1) }), "SIGNATURE_LENGTH_INVALID");
    }
  });

  describe("who may use a key", () => {
    test("another user's key answers exactly like a missing one (KEY_NOT_FOUND, same details but the handle)", () => {
      const calls = [
        (k: number) => h.cluster.encrypt(bob.session, encryptParams(k)),
        (k: number) => h.cluster.decrypt(bob.session, decryptParams(k, { iv: randomBytes(12), tag: randomBytes(16) })),
        (k: number) => h.cluster.mac(bob.session, { handle: k, hash: "SHA256", data: NONE }),
        (k: number) => h.cluster.verifyMac(bob.session, { handle: k, hash: "SHA256", data: NONE, mac: randomBytes(32) }),
      ];
      const before = state();
      for (const call of calls) {
        const mine = expectHsmErrorSync(() => call(hmacKey), "KEY_NOT_FOUND");
        const missing = expectHsmErrorSync(() => call(0x7fff_0000), "KEY_NOT_FOUND");
        expect([mine.message, { ...mine.details, key_handle: 0 }]).toEqual([missing.message, { ...missing.details, key_handle: 0 }]);
      }
      expect(state()).toBe(before);
    });

    test("a key shared with bob works for him", async () => {
      const shared = (await h.cluster.genSymKey(alice.session, genParams({ label: "shared", shareWith: [bob.userId] }))).handle;
      const out = h.cluster.encrypt(bob.session, encryptParams(shared));
      expect(h.cluster.decrypt(alice.session, decryptParams(shared, { data: out.ciphertext, iv: out.iv, tag: out.tag }))).toEqual(Buffer.from("some data"));
    });

    test("a session key of another login session of the same user is invisible", async () => {
      const sessionKey = (await h.cluster.genSymKey(alice.session, genParams({ label: "sess", session: true }))).handle;
      const other = await h.cluster.login(UserRole.CU, "alice", "password1");
      expect(h.cluster.encrypt(alice.session, encryptParams(sessionKey)).tag).toHaveLength(16);
      expectHsmErrorSync(() => h.cluster.encrypt(other.session, encryptParams(sessionKey)), "KEY_NOT_FOUND");
    });

    test("handle 4 is the internal key: INTERNAL_KEY_UNSUPPORTED", () => {
      expectHsmErrorSync(() => h.cluster.encrypt(alice.session, encryptParams(4)), "INTERNAL_KEY_UNSUPPORTED");
      expectHsmErrorSync(() => h.cluster.mac(alice.session, { handle: 4, hash: "SHA256", data: NONE }), "INTERNAL_KEY_UNSUPPORTED");
    });

    test("a crypto officer is INVALID_USER_TYPE", async () => {
      const officer = await h.co("officer");
      expectHsmErrorSync(() => h.cluster.encrypt(officer.session, encryptParams(aes)), "INVALID_USER_TYPE");
      expectHsmErrorSync(() => h.cluster.verifyMac(officer.session, { handle: hmacKey, hash: "SHA256", data: NONE, mac: randomBytes(32) }), "INVALID_USER_TYPE");
    });
  });

  describe("key type against mechanism: KEY_TYPE_MISMATCH, and nothing changes", () => {
    test.each([
      ["a 3DES key with AES-GCM", () => des3, "AES_GCM", NONE],
      ["an AES key with 3DES-CBC", () => aes, "DES3_CBC", Buffer.alloc(8)],
      ["a generic secret with AES-ECB", () => hmacKey, "AES_ECB", NONE],
      ["an AES key with RSA-OAEP", () => aes, "RSA_OAEP", NONE],
    ] as [string, () => number, EncryptParams["mechanism"], Buffer][])("%s", (_name, key, mechanism, iv) => {
      const before = state();
      expectHsmErrorSync(() => h.cluster.encrypt(alice.session, encryptParams(key(), { mechanism, iv, data: Buffer.alloc(16) })), "KEY_TYPE_MISMATCH");
      expect(state()).toBe(before);
    });

    test("HMAC with an AES or 3DES key", () => {
      for (const k of [aes, des3]) {
        expectHsmErrorSync(() => h.cluster.mac(alice.session, { handle: k, hash: "SHA256", data: NONE }), "KEY_TYPE_MISMATCH");
        expectHsmErrorSync(() => h.cluster.verifyMac(alice.session, { handle: k, hash: "SHA256", data: NONE, mac: randomBytes(32) }), "KEY_TYPE_MISMATCH");
      }
    });
  });

  test("request rules come before the key: a bad IV on an invisible key is MECHANISM_PARAM_INVALID", () => {
    expectHsmErrorSync(() => h.cluster.encrypt(bob.session, encryptParams(aes, { iv: randomBytes(12) })), "MECHANISM_PARAM_INVALID");
    expectHsmErrorSync(() => h.cluster.mac(alice.session, { handle: hmacKey, hash: "SHA256", data: Buffer.alloc(65537) }), "DATA_TOO_LARGE");
  });

  test("a tampered GCM tag and bad padding are ENCRYPTED_DATA_INVALID, and change nothing", async () => {
    const material = randomBytes(32);
    const known = (await h.cluster.importSymKey(alice.session, importParams(aes, material, { label: "known" }))).handle;
    const out = h.cluster.encrypt(alice.session, encryptParams(known, { aad: Buffer.from("a") }));
    const before = state();
    const tag = Buffer.from(out.tag);
    tag[3]! ^= 0x10;
    expectHsmErrorSync(() => h.cluster.decrypt(alice.session, decryptParams(known, { data: out.ciphertext, iv: out.iv, aad: Buffer.from("a"), tag })), "ENCRYPTED_DATA_INVALID");
    expectHsmErrorSync(() => h.cluster.decrypt(alice.session, decryptParams(known, { data: out.ciphertext, iv: out.iv, tag: out.tag })), "ENCRYPTED_DATA_INVALID");
    // A block whose last byte is 0 never unpads.
    const raw = h.cluster.encrypt(alice.session, encryptParams(known, { mechanism: "AES_CBC", iv: Buffer.alloc(16), data: Buffer.alloc(16) }));
    const err = expectHsmErrorSync(() => h.cluster.decrypt(alice.session, decryptParams(known, { mechanism: "AES_CBC_PAD", iv: Buffer.alloc(16), data: raw.ciphertext })), "ENCRYPTED_DATA_INVALID");
    expect(JSON.stringify(err.details)).not.toContain(material.toString("hex"));
    expect(state()).toBe(before);
  });
});

describe("usage flags (DataOperations over a registry holding hand-made keys)", () => {
  const session: LoginSession = { sessionId: "s", userId: 7, role: UserRole.CU, username: "alice", createdAt: 0, nodeId: 0 };

  function withKey(keyType: KeyType, size: number, flags: Partial<KeyFlags>): { ops: DataOperations; handle: number } {
    const keys = new KeyRegistry();
    const key: KeyObject = {
      handle: 10,
      ownerId: 7,
      keyClass: KeyClass.SECRET,
      keyType,
      label: "k",
      id: "",
      flags: { ...defaultFlags(keyType, { session: false, local: true, extractable: true }), ...flags },
      valueLen: size,
      kcv: undefined,
      sharedWith: new Set(),
      sessionId: undefined,
      nodes: new Set([0]),
      material: randomBytes(size),
    };
    keys.add(key);
    return { ops: new DataOperations(new KeyGuards(keys, { isCryptoUser: () => true })), handle: 10 };
  }

  test("ENCRYPT=0: Encrypt is KEY_FUNCTION_NOT_PERMITTED; Decrypt still works", () => {
    const { ops, handle } = withKey(KeyType.AES, 32, { encrypt: false });
    const err = expectHsmErrorSync(() => ops.encrypt(session, encryptParams(handle)), "KEY_FUNCTION_NOT_PERMITTED");
    expect(err.details).toMatchObject({ attribute: "OBJ_ATTR_ENCRYPT" });
    const ecb = { mechanism: "AES_ECB" as const, data: Buffer.alloc(16) };
    expect(ops.decrypt(session, decryptParams(handle, ecb))).toHaveLength(16);
  });

  test("DECRYPT=0: Decrypt is KEY_FUNCTION_NOT_PERMITTED", () => {
    const { ops, handle } = withKey(KeyType.DES3, 24, { decrypt: false });
    expectHsmErrorSync(() => ops.decrypt(session, decryptParams(handle, { mechanism: "DES3_ECB", data: Buffer.alloc(8) })), "KEY_FUNCTION_NOT_PERMITTED");
  });

  test("SIGN=0: Mac is refused; VERIFY=0: VerifyMac is refused", () => {
    const params: MacParams = { handle: 10, hash: "SHA256", data: Buffer.from("x") };
    const noSign = withKey(KeyType.GENERIC_SECRET, 32, { sign: false });
    expectHsmErrorSync(() => noSign.ops.mac(session, params), "KEY_FUNCTION_NOT_PERMITTED");
    const noVerify = withKey(KeyType.GENERIC_SECRET, 32, { verify: false });
    const mac = noVerify.ops.mac(session, params);
    expectHsmErrorSync(() => noVerify.ops.verifyMac(session, { ...params, mac }), "KEY_FUNCTION_NOT_PERMITTED");
  });
});
