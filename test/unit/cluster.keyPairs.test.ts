// RSA and EC key pairs through HsmCluster: generation, attributes and defaults per class, shared id, findKey -m,
// restart, replication and atomic pair creation.
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { createHash } from "node:crypto";
import { ImportPublicKeyParams } from "../../src/hsm/cluster";
import { HsmError } from "../../src/hsm/errors";
import { KeyClass, KeyType } from "../../src/hsm/keyTypes";
import { UserRole } from "../../src/hsm/users";
import { ClusterHarness, committed, CuLogin, eventsAfter, expectHsmError, genParams, keyOptions, settle } from "./support/harness";
import { ecParams, rsaParams } from "./support/keyPairParams";

function dumpNames(h: ClusterHarness, login: CuLogin, handle: number): string[] {
  return h.cluster.getAttribute(login.session, handle, 512).map((r) => r.name);
}

function attr(h: ClusterHarness, login: CuLogin, handle: number, id: number): string {
  return h.cluster.getAttribute(login.session, handle, id)[0]!.text;
}

const SECRET_DUMP = [
  "OBJ_ATTR_CLASS",
  "OBJ_ATTR_KEY_TYPE",
  "OBJ_ATTR_TOKEN",
  "OBJ_ATTR_PRIVATE",
  "OBJ_ATTR_ENCRYPT",
  "OBJ_ATTR_DECRYPT",
  "OBJ_ATTR_WRAP",
  "OBJ_ATTR_UNWRAP",
  "OBJ_ATTR_SIGN",
  "OBJ_ATTR_VERIFY",
  "OBJ_ATTR_LOCAL",
  "OBJ_ATTR_SENSITIVE",
  "OBJ_ATTR_EXTRACTABLE",
  "OBJ_ATTR_LABEL",
  "OBJ_ATTR_ID",
  "OBJ_ATTR_VALUE_LEN",
  "OBJ_ATTR_KCV",
];

describe("key pairs", () => {
  let h: ClusterHarness;
  let alice: CuLogin;
  let bob: CuLogin;

  beforeEach(async () => {
    h = new ClusterHarness({ nodeCount: 3 });
    alice = await h.cu("alice");
    bob = await h.cu("bob");
  });
  afterEach(() => h.dispose());

  describe("GenerateKeyPair RSA", () => {
    test("the public key gets the lower handle, one Cfm3GenerateKeyPair step, and both keys the label and id", async () => {
      const pair = await h.cluster.generateKeyPair(alice.session, rsaParams({ label: "rsa_test", id: "pair-1" }));
      expect(pair.publicHandle).toBeLessThan(pair.privateHandle);
      expect(pair.steps).toEqual([{ name: "Cfm3GenerateKeyPair", returnCode: 0 }]);
      for (const handle of [pair.publicHandle, pair.privateHandle]) {
        expect(attr(h, alice, handle, 3)).toBe("rsa_test");
        expect(attr(h, alice, handle, 258)).toBe("pair-1");
      }
      expect(h.cluster.findKey(alice.session, { id: "pair-1" })).toEqual([pair.publicHandle, pair.privateHandle]);
    });

    test("the public key's dump is the genRSAKeyPair example's 20 attributes with its documented flags", async () => {
      const pair = await h.cluster.generateKeyPair(alice.session, rsaParams());
      expect(dumpNames(h, alice, pair.publicHandle)).toEqual([...SECRET_DUMP, "OBJ_ATTR_MODULUS", "OBJ_ATTR_MODULUS_BITS", "OBJ_ATTR_PUBLIC_EXPONENT"]);
      const dump = Object.fromEntries(h.cluster.getAttribute(alice.session, pair.publicHandle, 512).map((r) => [r.name, r.text]));
      expect(dump).toMatchObject({
        OBJ_ATTR_CLASS: "0x02",
        OBJ_ATTR_KEY_TYPE: "0x00",
        OBJ_ATTR_TOKEN: "0x01",
        OBJ_ATTR_PRIVATE: "0x00",
        OBJ_ATTR_ENCRYPT: "0x01",
        OBJ_ATTR_DECRYPT: "0x00",
        OBJ_ATTR_UNWRAP: "0x00",
        OBJ_ATTR_SIGN: "0x00",
        OBJ_ATTR_VERIFY: "0x01",
        OBJ_ATTR_LOCAL: "0x01",
        OBJ_ATTR_SENSITIVE: "0x00",
        OBJ_ATTR_EXTRACTABLE: "0x01",
        OBJ_ATTR_MODULUS_BITS: "0x00000800",
        OBJ_ATTR_PUBLIC_EXPONENT: "0x010001",
      });
      // The modulus is bare hex in 80-column lines, 256 bytes for 2048 bits.
      const lines = dump.OBJ_ATTR_MODULUS!.split("\n");
      expect(lines.slice(0, -1).every((l) => l.length === 80)).toBe(true);
      expect(lines.join("")).toMatch(/^[0-9a-f]{512}$/);
    });

    test("the private key signs, decrypts and unwraps, is sensitive, and -nex makes it non-extractable", async () => {
      const pair = await h.cluster.generateKeyPair(alice.session, rsaParams({ nonExtractable: true }));
      const dump = Object.fromEntries(h.cluster.getAttribute(alice.session, pair.privateHandle, 512).map((r) => [r.name, r.text]));
      expect(dump).toMatchObject({
        OBJ_ATTR_CLASS: "0x03",
        OBJ_ATTR_PRIVATE: "0x01",
        OBJ_ATTR_ENCRYPT: "0x00",
        OBJ_ATTR_DECRYPT: "0x01",
        OBJ_ATTR_WRAP: "0x00",
        OBJ_ATTR_UNWRAP: "0x01",
        OBJ_ATTR_SIGN: "0x01",
        OBJ_ATTR_VERIFY: "0x00",
        OBJ_ATTR_SENSITIVE: "0x01",
        OBJ_ATTR_EXTRACTABLE: "0x00",
      });
      expect(attr(h, alice, pair.privateHandle, 356)).toBe("0x00000001");
      // "Public keys are always extractable."
      expect(attr(h, alice, pair.publicHandle, 354)).toBe("0x00000001");
    });

    test("both halves report the same modulus and KCV; the KCV is SHA-1 of the public key's SubjectPublicKeyInfo", async () => {
      const pair = await h.cluster.generateKeyPair(alice.session, rsaParams());
      expect(attr(h, alice, pair.privateHandle, 288)).toBe(attr(h, alice, pair.publicHandle, 288));
      expect(attr(h, alice, pair.privateHandle, 371)).toBe(attr(h, alice, pair.publicHandle, 371));
      const pem = h.cluster.exportPublicKey(alice.session, pair.publicHandle);
      const spki = createPublicKey(pem).export({ format: "der", type: "spki" });
      expect(attr(h, alice, pair.publicHandle, 371)).toBe(`0x${createHash("sha1").update(spki).digest("hex").slice(0, 6)}`);
    });

    test.each([3072, 4096])("%i-bit keys have that modulus length", async (bits) => {
      const pair = await h.cluster.generateKeyPair(alice.session, rsaParams({ modulusBits: bits }));
      expect(attr(h, alice, pair.publicHandle, 289)).toBe(`0x${bits.toString(16).padStart(8, "0")}`);
    }, 120_000);

    test.each([1024, 2047, 8192])("a %i-bit modulus is KEY_LENGTH_INVALID and creates nothing", async (bits) => {
      const before = h.cluster.keyCount;
      await expectHsmError(() => h.cluster.generateKeyPair(alice.session, rsaParams({ modulusBits: bits })), "KEY_LENGTH_INVALID");
      expect(h.cluster.keyCount).toBe(before);
    });

    test("an exponent other than 65537 is MECHANISM_PARAM_INVALID; 0 means 65537", async () => {
      await expectHsmError(() => h.cluster.generateKeyPair(alice.session, rsaParams({ publicExponent: 3 })), "MECHANISM_PARAM_INVALID");
      const pair = await h.cluster.generateKeyPair(alice.session, rsaParams({ publicExponent: 0 }));
      expect(attr(h, alice, pair.publicHandle, 290)).toBe("0x010001");
    });

    test("key types other than 0 and 3 are KEY_TYPE_NOT_ALLOWED", async () => {
      await expectHsmError(() => h.cluster.generateKeyPair(alice.session, rsaParams({ keyType: KeyType.AES })), "KEY_TYPE_NOT_ALLOWED");
    });
  });

  describe("GenerateKeyPair EC", () => {
    test.each([
      ["prime256v1", "06082a8648ce3d030107", 65],
      ["secp384r1", "06052b81040022", 97],
      ["secp521r1", "06052b81040023", 133],
      ["secp256k1", "06052b8104000a", 65],
    ] as const)("%s: EC_PARAMS is the curve OID, EC_POINT the uncompressed point, both halves alike", async (curve, oid, pointBytes) => {
      const pair = await h.cluster.generateKeyPair(alice.session, ecParams(curve));
      expect(attr(h, alice, pair.publicHandle, 384)).toBe(`0x${oid}`);
      expect(attr(h, alice, pair.privateHandle, 384)).toBe(`0x${oid}`);
      const point = Buffer.from(attr(h, alice, pair.publicHandle, 385).slice(2), "hex");
      // DER OCTET STRING around 04 || X || Y.
      expect(point[0]).toBe(0x04);
      expect(point.subarray(point.length - pointBytes)[0]).toBe(0x04);
      expect(attr(h, alice, pair.privateHandle, 385)).toBe(attr(h, alice, pair.publicHandle, 385));
      expect(dumpNames(h, alice, pair.privateHandle)).toEqual([...SECRET_DUMP, "OBJ_ATTR_EC_PARAMS", "OBJ_ATTR_EC_POINT"]);
    });

    test("the EC private key signs only; the public key verifies only (the genECCKeyPair dump)", async () => {
      const pair = await h.cluster.generateKeyPair(alice.session, ecParams());
      const priv = Object.fromEntries(h.cluster.getAttribute(alice.session, pair.privateHandle, 512).map((r) => [r.name, r.text]));
      expect(priv).toMatchObject({ OBJ_ATTR_CLASS: "0x03", OBJ_ATTR_KEY_TYPE: "0x03", OBJ_ATTR_ENCRYPT: "0x00", OBJ_ATTR_DECRYPT: "0x00", OBJ_ATTR_WRAP: "0x00", OBJ_ATTR_UNWRAP: "0x00", OBJ_ATTR_SIGN: "0x01", OBJ_ATTR_VERIFY: "0x00" });
      // The documented P-256 private key's VALUE_LEN 0x8a is the length of its PKCS#8 DER.
      expect(priv.OBJ_ATTR_VALUE_LEN).toBe("0x0000008a");
      const pub = Object.fromEntries(h.cluster.getAttribute(alice.session, pair.publicHandle, 512).map((r) => [r.name, r.text]));
      expect(pub).toMatchObject({ OBJ_ATTR_CLASS: "0x02", OBJ_ATTR_ENCRYPT: "0x00", OBJ_ATTR_WRAP: "0x00", OBJ_ATTR_SIGN: "0x00", OBJ_ATTR_VERIFY: "0x01" });
    });

    test("RSA attributes do not exist for EC keys, EC attributes not for RSA or secret keys", async () => {
      const ec = await h.cluster.generateKeyPair(alice.session, ecParams());
      const rsa = await h.cluster.generateKeyPair(alice.session, rsaParams());
      const aes = await h.cluster.genSymKey(alice.session, genParams());
      await expectHsmError(() => h.cluster.getAttribute(alice.session, ec.publicHandle, 288), "ATTRIBUTE_NOT_PRESENT");
      await expectHsmError(() => h.cluster.getAttribute(alice.session, rsa.privateHandle, 384), "ATTRIBUTE_NOT_PRESENT");
      await expectHsmError(() => h.cluster.getAttribute(alice.session, aes.handle, 385), "ATTRIBUTE_NOT_PRESENT");
    });

    test("a missing curve is REQUEST_INVALID", async () => {
      await expectHsmError(() => h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { curve: undefined })), "REQUEST_INVALID");
    });
  });

  describe("ids, sharing, findKey", () => {
    test("a pair's id is then taken for any other key or pair", async () => {
      await h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { id: "taken" }));
      await expectHsmError(() => h.cluster.generateKeyPair(bob.session, rsaParams({ id: "taken" })), "ID_ALREADY_EXISTS");
      await expectHsmError(() => h.cluster.genSymKey(bob.session, genParams({ id: "taken" })), "ID_ALREADY_EXISTS");
    });

    test("deleting one half keeps the id taken; deleting both frees it", async () => {
      const pair = await h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { id: "pair-id" }));
      h.cluster.deleteKey(alice.session, pair.privateHandle);
      await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ id: "pair-id" })), "ID_ALREADY_EXISTS");
      h.cluster.deleteKey(alice.session, pair.publicHandle);
      await h.cluster.genSymKey(alice.session, genParams({ id: "pair-id" }));
    });

    test("-u shares both keys; others see neither", async () => {
      const carol = await h.cu("carol");
      const pair = await h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { shareWith: [bob.userId] }));
      expect(h.cluster.findKey(bob.session, {})).toEqual([pair.publicHandle, pair.privateHandle]);
      expect(h.cluster.findKey(carol.session, {})).toEqual([]);
      expect(h.cluster.getKeyInfo(bob.session, pair.privateHandle).sharedWith).toEqual([bob.userId]);
    });

    test("-c 2/3 and -t 0/3 filter by class and type; -m finds both halves of the RSA pair with that modulus", async () => {
      const rsa = await h.cluster.generateKeyPair(alice.session, rsaParams());
      const other = await h.cluster.generateKeyPair(alice.session, rsaParams());
      const ec = await h.cluster.generateKeyPair(alice.session, ecParams());
      expect(h.cluster.findKey(alice.session, { keyClass: KeyClass.PUBLIC })).toEqual([rsa.publicHandle, other.publicHandle, ec.publicHandle]);
      expect(h.cluster.findKey(alice.session, { keyClass: KeyClass.PRIVATE, keyType: KeyType.EC })).toEqual([ec.privateHandle]);
      const modulus = Buffer.from(attr(h, alice, rsa.publicHandle, 288).replace(/\n/g, ""), "hex");
      expect(h.cluster.findKey(alice.session, { modulus })).toEqual([rsa.publicHandle, rsa.privateHandle]);
      expect(h.cluster.findKey(bob.session, { modulus })).toEqual([]);
    });
  });

  describe("placement", () => {
    test("both keys replicate to every node and survive a restart with the same attributes", async () => {
      const rev = h.cluster.currentRevision;
      const pair = await h.cluster.generateKeyPair(alice.session, rsaParams({ id: "kept" }));
      await committed();
      await settle();
      const created = eventsAfter(h.cluster, rev).filter(([kind]) => kind === "KEY_CREATED").map(([, handle]) => handle);
      expect(created.sort()).toEqual([pair.publicHandle, pair.privateHandle].sort());
      expect(h.cluster.getKeyInfo(alice.session, pair.privateHandle).nodes.every((n) => n.holdsKey)).toBe(true);
      const before = [pair.publicHandle, pair.privateHandle].map((handle) => h.cluster.getAttribute(alice.session, handle, 512));
      const pem = h.cluster.exportPublicKey(alice.session, pair.publicHandle);
      h.reopen();
      const { session } = await h.cluster.login(UserRole.CU, "alice", "password1");
      expect([pair.publicHandle, pair.privateHandle].map((handle) => h.cluster.getAttribute(session, handle, 512))).toEqual(before);
      expect(h.cluster.exportPublicKey(session, pair.publicHandle)).toBe(pem);
    });

    test("session pairs live on the session's node and vanish at logout", async () => {
      const pair = await h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { session: true }));
      expect(pair.nodes).toHaveLength(1);
      expect(h.cluster.findKey(alice.session, { session: true })).toEqual([pair.publicHandle, pair.privateHandle]);
      h.cluster.logout(alice.token);
      expect(h.cluster.keyCount).toBe(0);
    });

    test("-min_srv beyond the cluster is MIN_SRV_UNMET and creates neither key", async () => {
      await expectHsmError(() => h.cluster.generateKeyPair(alice.session, rsaParams({ minSrv: 4 })), "MIN_SRV_UNMET");
      expect(h.cluster.keyCount).toBe(0);
    });
  });

  describe("ImportPublicKey", () => {
    function importParams(pem: string, overrides: Partial<ImportPublicKeyParams> = {}): ImportPublicKeyParams {
      return { ...keyOptions({ label: "imported" }), pem, ...overrides };
    }

    test("an openssl-style SPKI PEM becomes a public key (LOCAL=0) whose export is the same key", async () => {
      const { publicKey } = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
      const pem = publicKey.export({ format: "pem", type: "spki" }).toString();
      const created = await h.cluster.importPublicKey(alice.session, importParams(pem));
      expect(created.steps).toEqual([{ name: "Cfm3CreatePublicKey", returnCode: 0 }]);
      expect(attr(h, alice, created.handle, 0)).toBe("0x00000002");
      expect(attr(h, alice, created.handle, 355)).toBe("0x00000000");
      expect(h.cluster.exportPublicKey(alice.session, created.handle)).toBe(pem);
    });

    test.each([
      ["garbage", "KEY_ENCODING_INVALID", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"],
      ["not PEM", "KEY_ENCODING_INVALID", "hello"],
      ["a private key", "KEY_ENCODING_INVALID", generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString()],
      ["RSA-1024", "KEY_LENGTH_INVALID", generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "pem", type: "spki" }).toString()],
      ["P-224", "KEY_TYPE_FIPS_DISALLOWED", generateKeyPairSync("ec", { namedCurve: "secp224r1" }).publicKey.export({ format: "pem", type: "spki" }).toString()],
      ["Ed25519", "KEY_TYPE_NOT_ALLOWED", generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }).toString()],
    ] as const)("%s is refused with %s and creates nothing", async (_name, reason, pem) => {
      const err = await expectHsmError(() => h.cluster.importPublicKey(alice.session, importParams(pem)), reason);
      expect(h.cluster.keyCount).toBe(0);
      expect(err).toBeInstanceOf(HsmError);
    });
  });
});
