// Sign, Verify, ImportPrivateKey and Export* refusals through HsmCluster: each asserts its reason and that nothing
// changed (key count and revision), plus the successful private import/export round trip.
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { aesKeyWrapPkcs5, aesKeyUnwrapPkcs5 } from "../../common/keyWrap";
import { ImportPrivateKeyParams, SignParams } from "../../src/hsm/cluster";
import { defaultFlags, KeyObject } from "../../src/hsm/key";
import { KeyGuards } from "../../src/hsm/keyGuards";
import { KeyPairOperations } from "../../src/hsm/keyPairOperations";
import { KeyOperationParts } from "../../src/hsm/keyOperations";
import { KeyRegistry } from "../../src/hsm/keyRegistry";
import { fromPrivateKey } from "../../src/hsm/crypto/asymmetricKeys";
import { KeyClass, KeyType } from "../../src/hsm/keyTypes";
import { LoginSession } from "../../src/hsm/sessions";
import { UserRole } from "../../src/hsm/users";
import { ClusterHarness, CuLogin, expectHsmError, genParams, importParams, keyOptions } from "./support/harness";
import { ecParams, rsaParams, signParams } from "./support/keyPairParams";

describe("key pair guards", () => {
  let h: ClusterHarness;
  let alice: CuLogin;
  let bob: CuLogin;
  let ec: { publicHandle: number; privateHandle: number };
  let rsa: { publicHandle: number; privateHandle: number };

  beforeEach(async () => {
    h = new ClusterHarness({ nodeCount: 2 });
    alice = await h.cu("alice");
    bob = await h.cu("bob");
    ec = await h.cluster.generateKeyPair(alice.session, ecParams());
    rsa = await h.cluster.generateKeyPair(alice.session, rsaParams());
  });
  afterEach(() => h.dispose());

  /** Keys and revision before `fn`, which must fail with `reason` and leave both as they were. */
  async function refusedWithoutChange(fn: () => unknown, reason: Parameters<typeof expectHsmError>[1]): Promise<void> {
    const before = { keys: h.cluster.keyCount, revision: h.cluster.currentRevision };
    await expectHsmError(fn, reason);
    expect({ keys: h.cluster.keyCount, revision: h.cluster.currentRevision }).toEqual(before);
  }

  describe("sign and verify", () => {
    test("a signature made by the private key verifies with the public key; a wrong message does not", async () => {
      const signature = await h.cluster.sign(alice.session, signParams(ec.privateHandle));
      await h.cluster.verify(alice.session, { ...signParams(ec.publicHandle), signature });
      await expectHsmError(() => h.cluster.verify(alice.session, { ...signParams(ec.publicHandle, { input: { kind: "data", bytes: Buffer.from("other") } }), signature }), "SIGNATURE_INVALID");
    });

    test("a key the caller cannot see is KEY_NOT_FOUND for sign and verify alike", async () => {
      await refusedWithoutChange(() => h.cluster.sign(bob.session, signParams(ec.privateHandle)), "KEY_NOT_FOUND");
      await refusedWithoutChange(() => h.cluster.verify(bob.session, { ...signParams(ec.publicHandle), signature: Buffer.alloc(64) }), "KEY_NOT_FOUND");
    });

    test("a shared private key signs for the user it is shared with", async () => {
      const shared = await h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { shareWith: [bob.userId] }));
      const signature = await h.cluster.sign(bob.session, signParams(shared.privateHandle));
      await h.cluster.verify(alice.session, { ...signParams(shared.publicHandle), signature });
    });

    test("sign with a public key, verify with a private key, or either with a secret key is KEY_TYPE_MISMATCH", async () => {
      const aes = (await h.cluster.genSymKey(alice.session, genParams())).handle;
      await refusedWithoutChange(() => h.cluster.sign(alice.session, signParams(ec.publicHandle)), "KEY_TYPE_MISMATCH");
      await refusedWithoutChange(() => h.cluster.verify(alice.session, { ...signParams(ec.privateHandle), signature: Buffer.alloc(64) }), "KEY_TYPE_MISMATCH");
      await refusedWithoutChange(() => h.cluster.sign(alice.session, signParams(aes)), "KEY_TYPE_MISMATCH");
    });

    test("ECDSA with an RSA key and RSA mechanisms with an EC key are KEY_TYPE_MISMATCH", async () => {
      await refusedWithoutChange(() => h.cluster.sign(alice.session, signParams(rsa.privateHandle, { mechanism: "ECDSA" })), "KEY_TYPE_MISMATCH");
      await refusedWithoutChange(() => h.cluster.sign(alice.session, signParams(ec.privateHandle, { mechanism: "RSA_PSS" })), "KEY_TYPE_MISMATCH");
    });

    test("SHA-1 is HASH_FIPS_DISALLOWED for sign and verify", async () => {
      await refusedWithoutChange(() => h.cluster.sign(alice.session, signParams(ec.privateHandle, { hash: "sha1" })), "HASH_FIPS_DISALLOWED");
      await refusedWithoutChange(() => h.cluster.verify(alice.session, { ...signParams(rsa.publicHandle, { mechanism: "RSA_PKCS1_V15", hash: "sha1" }), signature: Buffer.alloc(256) }), "HASH_FIPS_DISALLOWED");
    });

    test("a digest whose length is not the hash's is DATA_LENGTH_INVALID", async () => {
      const digest = createHash("sha256").update("x").digest();
      await refusedWithoutChange(() => h.cluster.sign(alice.session, signParams(ec.privateHandle, { hash: "sha384", input: { kind: "digest", bytes: digest } })), "DATA_LENGTH_INVALID");
    });

    test("more than 65536 bytes of data is DATA_TOO_LARGE; exactly 65536 signs", async () => {
      await refusedWithoutChange(() => h.cluster.sign(alice.session, signParams(ec.privateHandle, { input: { kind: "data", bytes: Buffer.alloc(65537) } })), "DATA_TOO_LARGE");
      await h.cluster.sign(alice.session, signParams(ec.privateHandle, { input: { kind: "data", bytes: Buffer.alloc(65536) } }));
    });

    test("crypto officers cannot sign (INVALID_USER_TYPE)", async () => {
      const officer = await h.co("officer");
      await expectHsmError(() => h.cluster.sign(officer.session, signParams(ec.privateHandle)), "INVALID_USER_TYPE");
    });
  });

  describe("flags (a key whose SIGN or VERIFY is 0)", () => {
    // No RPC makes such a key today (setAttribute sets only OBJ_ATTR_TOKEN), so the keys are placed in a registry directly.
    const session: LoginSession = { sessionId: "s", userId: 7, role: UserRole.CU, username: "u", createdAt: 0, nodeId: 0 };
    function operationsWith(key: KeyObject): KeyPairOperations {
      const keys = new KeyRegistry();
      keys.add(key);
      const guards = new KeyGuards(keys, { isCryptoUser: () => true });
      const unused = undefined as never;
      const parts: KeyOperationParts = { store: unused, commits: unused, keys, events: unused, guards, placement: unused };
      return new KeyPairOperations(parts);
    }
    function keyWith(keyClass: KeyClass.PRIVATE | KeyClass.PUBLIC, flag: "sign" | "verify"): KeyObject {
      const parsed = fromPrivateKey(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
      const flags = { ...defaultFlags(KeyType.EC, { session: false, local: true, extractable: true }, keyClass), [flag]: false };
      return { handle: 9, ownerId: 7, keyClass, keyType: KeyType.EC, label: "k", id: "", flags, valueLen: 0, kcv: undefined, sharedWith: new Set(), sessionId: undefined, nodes: new Set([0]), material: parsed.der };
    }
    const params: SignParams = signParams(9);

    test("SIGN=0 is KEY_FUNCTION_NOT_PERMITTED", async () => {
      await expectHsmError(() => operationsWith(keyWith(KeyClass.PRIVATE, "sign")).sign(session, params), "KEY_FUNCTION_NOT_PERMITTED");
    });

    test("VERIFY=0 is KEY_FUNCTION_NOT_PERMITTED", async () => {
      // The material is a private key's; verify looks at class first, so the class says PUBLIC and the view is the public half.
      const key = keyWith(KeyClass.PUBLIC, "verify");
      const publicDer = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ format: "der", type: "spki" });
      await expectHsmError(() => operationsWith({ ...key, material: publicDer }).verify(session, { ...params, signature: Buffer.alloc(64) }), "KEY_FUNCTION_NOT_PERMITTED");
    });
  });

  describe("ImportPrivateKey and ExportPrivateKey", () => {
    let wrapping: number;
    let wrappingMaterial: Buffer;

    beforeEach(async () => {
      const kek = (await h.cluster.genSymKey(alice.session, genParams({ label: "kek" }))).handle;
      wrappingMaterial = randomBytes(32);
      wrapping = (await h.cluster.importSymKey(alice.session, importParams(kek, wrappingMaterial, { label: "known" }))).handle;
    });

    function privateImport(material: ImportPrivateKeyParams["material"], overrides: Partial<ImportPrivateKeyParams> = {}): ImportPrivateKeyParams {
      return { ...keyOptions({ label: "imported-private" }), material, wrappingKeyHandle: wrapping, ...overrides };
    }

    test("a PEM imports through the three imSymKey steps; the export unwraps to the same PKCS#8 key", async () => {
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
      const created = await h.cluster.importPrivateKey(alice.session, privateImport({ kind: "pem", pem }));
      expect(created.steps.map((s) => s.name)).toEqual(["Cfm3WrapHostKey", "Cfm3CreateUnwrapTemplate", "Cfm3UnWrapKey"]);
      expect(h.cluster.getAttribute(alice.session, created.handle, 0)[0]!.text).toBe("0x00000003");
      expect(h.cluster.getAttribute(alice.session, created.handle, 355)[0]!.text).toBe("0x00000000");
      const wrapped = h.cluster.exportPrivateKey(alice.session, created.handle, wrapping);
      expect(aesKeyUnwrapPkcs5(wrappingMaterial, wrapped)).toEqual(privateKey.export({ format: "der", type: "pkcs8" }));
    });

    test("host-wrapped PKCS#8 skips Cfm3WrapHostKey", async () => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
      const blob = aesKeyWrapPkcs5(wrappingMaterial, privateKey.export({ format: "der", type: "pkcs8" }));
      const created = await h.cluster.importPrivateKey(alice.session, privateImport({ kind: "hostWrapped", bytes: blob }));
      expect(created.steps.map((s) => s.name)).toEqual(["Cfm3CreateUnwrapTemplate", "Cfm3UnWrapKey"]);
    });

    test("bad PEM is KEY_ENCODING_INVALID; a blob under another key UNWRAP_INTEGRITY_FAILED; a wrapped non-key KEY_ENCODING_INVALID", async () => {
      await refusedWithoutChange(() => h.cluster.importPrivateKey(alice.session, privateImport({ kind: "pem", pem: "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n" })), "KEY_ENCODING_INVALID");
      const der = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ format: "der", type: "pkcs8" });
      await refusedWithoutChange(() => h.cluster.importPrivateKey(alice.session, privateImport({ kind: "hostWrapped", bytes: aesKeyWrapPkcs5(randomBytes(32), der) })), "UNWRAP_INTEGRITY_FAILED");
      await refusedWithoutChange(() => h.cluster.importPrivateKey(alice.session, privateImport({ kind: "hostWrapped", bytes: aesKeyWrapPkcs5(wrappingMaterial, randomBytes(64)) })), "KEY_ENCODING_INVALID");
    });

    test("an encrypted PEM and an RSA-1024 key are refused", async () => {
      const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
      await refusedWithoutChange(() => h.cluster.importPrivateKey(alice.session, privateImport({ kind: "pem", pem: small })), "KEY_LENGTH_INVALID");
      const encrypted = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "pw" }).toString();
      await refusedWithoutChange(() => h.cluster.importPrivateKey(alice.session, privateImport({ kind: "pem", pem: encrypted })), "KEY_ENCODING_INVALID");
    });

    test("a wrapping key that is not AES, or not visible, is refused before anything is created", async () => {
      const pem = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
      await refusedWithoutChange(() => h.cluster.importPrivateKey(alice.session, privateImport({ kind: "pem", pem }, { wrappingKeyHandle: rsa.privateHandle })), "WRAPPING_KEY_NOT_AES");
      await refusedWithoutChange(() => h.cluster.importPrivateKey(bob.session, privateImport({ kind: "pem", pem })), "KEY_NOT_FOUND");
    });

    test("a non-extractable private key is KEY_NOT_EXTRACTABLE; someone else's shared key KEY_ACCESS_DENIED", async () => {
      const nex = await h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { nonExtractable: true }));
      await refusedWithoutChange(() => h.cluster.exportPrivateKey(alice.session, nex.privateHandle, wrapping), "KEY_NOT_EXTRACTABLE");
      const shared = await h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { shareWith: [bob.userId] }));
      const bobKek = (await h.cluster.genSymKey(bob.session, genParams())).handle;
      await refusedWithoutChange(() => h.cluster.exportPrivateKey(bob.session, shared.privateHandle, bobKek), "KEY_ACCESS_DENIED");
    });

    test("exportPrivateKey of a public key and exportPublicKey of a private key are KEY_TYPE_MISMATCH", async () => {
      await refusedWithoutChange(() => h.cluster.exportPrivateKey(alice.session, ec.publicHandle, wrapping), "KEY_TYPE_MISMATCH");
      await refusedWithoutChange(() => h.cluster.exportPublicKey(alice.session, ec.privateHandle), "KEY_TYPE_MISMATCH");
    });

    test("exportPublicKey works for a user the public key is shared with, not for others", async () => {
      const shared = await h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { shareWith: [bob.userId] }));
      expect(h.cluster.exportPublicKey(bob.session, shared.publicHandle)).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      await refusedWithoutChange(() => h.cluster.exportPublicKey(bob.session, ec.publicHandle), "KEY_NOT_FOUND");
    });
  });
});
