// Attribute defaults of keys made through the cluster (DESIGN.md semantics 4, 5, 11) and getAttribute access rules.
import { randomBytes } from "node:crypto";
import { ALL_ATTRIBUTES, attributeFileText } from "../../src/hsm/attributes";
import { keyCheckValue } from "../../src/hsm/crypto/kcv";
import { KeyType } from "../../src/hsm/keyTypes";
import { ClusterHarness, CuLogin, expectHsmError, genParams, importParams } from "./support/harness";

/** What every AES token key reports by default, generated or imported; LOCAL and the per-key values differ. */
const AES_TOKEN_KEY = {
  CLASS: "0x04",
  KEY_TYPE: "0x1f",
  TOKEN: "0x01",
  PRIVATE: "0x01",
  ENCRYPT: "0x01",
  DECRYPT: "0x01",
  WRAP: "0x01",
  UNWRAP: "0x01",
  SIGN: "0x00",
  VERIFY: "0x00",
  SENSITIVE: "0x01",
  EXTRACTABLE: "0x01",
};

/** The 512 dump as name -> text. */
function dump(h: ClusterHarness, login: CuLogin, handle: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of h.cluster.getAttribute(login.session, handle, ALL_ATTRIBUTES)) out[r.name.replace("OBJ_ATTR_", "")] = r.text;
  return out;
}

function single(h: ClusterHarness, login: CuLogin, handle: number, id: number): string {
  const readings = h.cluster.getAttribute(login.session, handle, id);
  expect(readings).toHaveLength(1);
  return readings[0]!.text;
}

describe("attribute defaults of keys made through the cluster", () => {
  let h: ClusterHarness;
  let alice: CuLogin;
  let wrappingKey: number;

  beforeEach(async () => {
    h = new ClusterHarness();
    alice = await h.cu("alice");
    wrappingKey = (await h.cluster.genSymKey(alice.session, genParams({ label: "wrapping", keySize: 16 }))).handle;
  });
  afterEach(() => h.dispose());

  test("generated AES", async () => {
    const { handle } = await h.cluster.genSymKey(alice.session, genParams({ label: "aes256", keySize: 32 }));
    expect(dump(h, alice, handle)).toEqual({
      ...AES_TOKEN_KEY,
      LOCAL: "0x01",
      LABEL: "aes256",
      ID: "",
      VALUE_LEN: "0x00000020",
      KCV: expect.stringMatching(/^0x[0-9a-f]{6}$/) as unknown,
    });
  });

  test("generated 3DES", async () => {
    const { handle } = await h.cluster.genSymKey(alice.session, genParams({ keyType: KeyType.DES3, keySize: 24, label: "3DES_shared", id: "IT-02" }));
    expect(dump(h, alice, handle)).toEqual({
      CLASS: "0x04",
      KEY_TYPE: "0x15",
      TOKEN: "0x01",
      PRIVATE: "0x01",
      ENCRYPT: "0x01",
      DECRYPT: "0x01",
      WRAP: "0x00",
      UNWRAP: "0x00",
      SIGN: "0x00",
      VERIFY: "0x00",
      LOCAL: "0x01",
      SENSITIVE: "0x01",
      EXTRACTABLE: "0x01",
      LABEL: "3DES_shared",
      ID: "IT-02",
      VALUE_LEN: "0x00000018",
      KCV: expect.stringMatching(/^0x[0-9a-f]{6}$/) as unknown,
    });
  });

  test.each([16, 24, 32])("imported AES-%i: LOCAL=0, otherwise as generated, KCV of the plaintext", async (size) => {
    const material = randomBytes(size);
    const { handle } = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, material, { label: "imported" }));
    expect(dump(h, alice, handle)).toEqual({
      ...AES_TOKEN_KEY,
      LOCAL: "0x00",
      LABEL: "imported",
      ID: "",
      VALUE_LEN: `0x${size.toString(16).padStart(8, "0")}`,
      KCV: `0x${keyCheckValue(KeyType.AES, material)!.toString("hex")}`,
    });
    expect(single(h, alice, handle, 355)).toBe("0x00000000");
  });

  test("imported 3DES: LOCAL=0, WRAP=UNWRAP=0", async () => {
    const material = randomBytes(24);
    const { handle } = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, material, { keyType: KeyType.DES3, label: "des" }));
    const d = dump(h, alice, handle);
    expect(d).toMatchObject({ KEY_TYPE: "0x15", LOCAL: "0x00", WRAP: "0x00", UNWRAP: "0x00", ENCRYPT: "0x01", DECRYPT: "0x01" });
    expect(d).toMatchObject({ TOKEN: "0x01", PRIVATE: "0x01", SENSITIVE: "0x01", EXTRACTABLE: "0x01", VALUE_LEN: "0x00000018" });
    expect(d.KCV).toBe(`0x${keyCheckValue(KeyType.DES3, material)!.toString("hex")}`);
  });

  test("session keys (generated and imported) have TOKEN=0", async () => {
    const gen = await h.cluster.genSymKey(alice.session, genParams({ session: true }));
    const imp = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(32), { session: true }));
    for (const { handle } of [gen, imp]) {
      expect(single(h, alice, handle, 1)).toBe("0x00000000");
      expect(dump(h, alice, handle).TOKEN).toBe("0x00");
    }
  });

  test("-nex: EXTRACTABLE=0", async () => {
    const { handle } = await h.cluster.genSymKey(alice.session, genParams({ nonExtractable: true }));
    expect(single(h, alice, handle, 354)).toBe("0x00000000");
  });

  test("single attributes use 8 hex digits (KEY_TYPE of AES is 0x0000001f)", async () => {
    const { handle } = await h.cluster.genSymKey(alice.session, genParams());
    expect(single(h, alice, handle, 256)).toBe("0x0000001f");
    expect(single(h, alice, handle, 0)).toBe("0x00000004");
    expect(single(h, alice, handle, 262)).toBe("0x00000001");
    expect(single(h, alice, handle, 371)).toMatch(/^0x[0-9a-f]{6}$/);
  });

  test("generic secret: 16 attributes in the dump, no KCV, and 371 is ATTRIBUTE_NOT_PRESENT", async () => {
    const { handle } = await h.cluster.genSymKey(alice.session, genParams({ keyType: KeyType.GENERIC_SECRET, keySize: 48 }));
    const readings = h.cluster.getAttribute(alice.session, handle, ALL_ATTRIBUTES);
    expect(readings).toHaveLength(16);
    expect(readings.some((r) => r.id === 371)).toBe(false);
    expect(dump(h, alice, handle)).toMatchObject({ KEY_TYPE: "0x10", ENCRYPT: "0x00", DECRYPT: "0x00", WRAP: "0x00", UNWRAP: "0x00" });
    await expectHsmError(() => h.cluster.getAttribute(alice.session, handle, 371), "ATTRIBUTE_NOT_PRESENT");
  });

  test("the dump of a key with an empty ID has an empty line for it", async () => {
    const { handle } = await h.cluster.genSymKey(alice.session, genParams({ label: "x", keySize: 16 }));
    const text = attributeFileText(h.cluster.getAttribute(alice.session, handle, ALL_ATTRIBUTES));
    expect(text.split("\n").slice(27, 32)).toEqual(["x", "OBJ_ATTR_ID", "", "OBJ_ATTR_VALUE_LEN", "0x00000010"]);
  });

  test("288 (modulus) is ATTRIBUTE_NOT_PRESENT, 9999 is ATTRIBUTE_UNKNOWN", async () => {
    const { handle } = await h.cluster.genSymKey(alice.session, genParams());
    await expectHsmError(() => h.cluster.getAttribute(alice.session, handle, 288), "ATTRIBUTE_NOT_PRESENT");
    await expectHsmError(() => h.cluster.getAttribute(alice.session, handle, 9999), "ATTRIBUTE_UNKNOWN");
  });
});

describe("getAttribute access", () => {
  let h: ClusterHarness;
  let alice: CuLogin;
  let bob: CuLogin;

  beforeEach(async () => {
    h = new ClusterHarness();
    alice = await h.cu("alice");
    bob = await h.cu("bob");
  });
  afterEach(() => h.dispose());

  test("another user's key answers exactly like a missing handle", async () => {
    const { handle } = await h.cluster.genSymKey(alice.session, genParams());
    const missing = 999_999;
    const hidden = await expectHsmError(() => h.cluster.getAttribute(bob.session, handle, 256), "KEY_NOT_FOUND");
    const absent = await expectHsmError(() => h.cluster.getAttribute(bob.session, missing, 256), "KEY_NOT_FOUND");
    expect(Object.keys(hidden.details).sort()).toEqual(Object.keys(absent.details).sort());
    expect(hidden.returnCode).toEqual(absent.returnCode);
    expect(hidden.message).toBe(absent.message);
    // Even an unknown attribute id on a hidden key does not reveal that the key exists.
    await expectHsmError(() => h.cluster.getAttribute(bob.session, handle, 9999), "KEY_NOT_FOUND");
  });

  test("a shared key is readable by the user it is shared with", async () => {
    const { handle } = await h.cluster.genSymKey(alice.session, genParams({ shareWith: [bob.userId] }));
    expect(h.cluster.getAttribute(bob.session, handle, 256)[0]!.text).toBe("0x0000001f");
  });

  test("handle 4 is the internal key: INTERNAL_KEY_UNSUPPORTED", async () => {
    await expectHsmError(() => h.cluster.getAttribute(alice.session, 4, 256), "INTERNAL_KEY_UNSUPPORTED");
  });

  test("a crypto officer gets INVALID_USER_TYPE", async () => {
    const officer = await h.co("officer");
    const { handle } = await h.cluster.genSymKey(alice.session, genParams());
    await expectHsmError(() => h.cluster.getAttribute(officer.session, handle, 256), "INVALID_USER_TYPE");
  });
});
