// The KMU attribute table and its -out file text, over hand-built key objects.
import { randomBytes } from "node:crypto";
import { ALL_ATTRIBUTES, ATTRIBUTE_RULES, attributeFileText, DUMP_ORDER, readAttributes } from "../../src/hsm/attributes";
import { keyCheckValue } from "../../src/hsm/crypto/kcv";
import { HsmError } from "../../src/hsm/errors";
import { defaultFlags, KeyObject } from "../../src/hsm/key";
import { KeyClass, KeyType } from "../../src/hsm/keyTypes";
import { expectHsmErrorSync } from "./support/harness";
import { DOCUMENTED_DUMP_ORDER } from "../support/dumpOrder";

/** A key object as the cluster holds one; only the fields attributes read matter here. */
function makeKey(
  keyType: KeyType,
  size: number,
  overrides: Partial<KeyObject> = {},
  origin = { session: false, local: true, extractable: true },
): KeyObject {
  const material = randomBytes(size);
  const key: Omit<KeyObject, "createdRevision"> = {
    handle: 42,
    ownerId: 3,
    keyClass: KeyClass.SECRET,
    keyType,
    label: "aes256",
    id: "",
    flags: defaultFlags(keyType, origin),
    valueLen: size,
    kcv: keyCheckValue(keyType, material),
    sharedWith: new Set(),
    sessionId: undefined,
    nodes: new Set([0, 1, 2]),
    material,
  };
  return { ...key, ...overrides };
}

function one(key: KeyObject, id: number): { name: string; text: string } {
  const readings = readAttributes(key, id);
  expect(readings).toHaveLength(1);
  const [r] = readings;
  return { name: r!.name, text: r!.text };
}

describe("single attributes", () => {
  const aes = makeKey(KeyType.AES, 32);
  const des3 = makeKey(KeyType.DES3, 24);

  test.each([
    [0, "OBJ_ATTR_CLASS", "0x00000004"],
    [256, "OBJ_ATTR_KEY_TYPE", "0x0000001f"],
    [1, "OBJ_ATTR_TOKEN", "0x00000001"],
    [2, "OBJ_ATTR_PRIVATE", "0x00000001"],
    [260, "OBJ_ATTR_ENCRYPT", "0x00000001"],
    [261, "OBJ_ATTR_DECRYPT", "0x00000001"],
    [262, "OBJ_ATTR_WRAP", "0x00000001"],
    [263, "OBJ_ATTR_UNWRAP", "0x00000001"],
    [264, "OBJ_ATTR_SIGN", "0x00000000"],
    [266, "OBJ_ATTR_VERIFY", "0x00000000"],
    [355, "OBJ_ATTR_LOCAL", "0x00000001"],
    [259, "OBJ_ATTR_SENSITIVE", "0x00000001"],
    [354, "OBJ_ATTR_EXTRACTABLE", "0x00000001"],
    [353, "OBJ_ATTR_VALUE_LEN", "0x00000020"],
    [3, "OBJ_ATTR_LABEL", "aes256"],
    [258, "OBJ_ATTR_ID", ""],
  ])("AES attribute %i reads as %s = %s", (id, name, text) => {
    expect(one(aes, id)).toEqual({ name, text });
  });

  test("3DES KEY_TYPE and VALUE_LEN use 8 hex digits", () => {
    expect(one(des3, 256).text).toBe("0x00000015");
    expect(one(des3, 353).text).toBe("0x00000018");
    expect(one(des3, 262).text).toBe("0x00000000");
  });

  test("KCV is 0x plus 6 lowercase hex digits", () => {
    const kcv = Buffer.from("c33cbd", "hex");
    const key = makeKey(KeyType.AES, 16, { kcv });
    expect(one(key, 371)).toEqual({ name: "OBJ_ATTR_KCV", text: "0xc33cbd" });
    expect(one(aes, 371).text).toMatch(/^0x[0-9a-f]{6}$/);
    expect(one(aes, 371).text).toBe(`0x${aes.kcv!.toString("hex")}`);
  });

  test("values are carried typed as well as as text", () => {
    const [typeReading] = readAttributes(aes, 256);
    expect(typeReading!.data).toEqual({ kind: "uint", value: 31 });
    const [wrapReading] = readAttributes(des3, 262);
    expect(wrapReading!.data).toEqual({ kind: "bool", value: false });
  });

  test("every rule's name is an OBJ_ATTR_ name and every rule cites a source", () => {
    for (const [, rule] of ATTRIBUTE_RULES) {
      expect(rule.name).toMatch(/^OBJ_ATTR_[A-Z_]+$/);
      expect(rule.source.length).toBeGreaterThan(0);
    }
  });
});

describe("attributes a key does not have, and unknown attributes", () => {
  test.each([288, 289, 290])("RSA-only attribute %i on an AES key is ATTRIBUTE_NOT_PRESENT", (id) => {
    const err = expectHsmErrorSync(() => readAttributes(makeKey(KeyType.AES, 16), id), "ATTRIBUTE_NOT_PRESENT");
    expect(err.details.attribute_id).toBe(id);
  });

  test("KCV (371) of a generic secret is ATTRIBUTE_NOT_PRESENT", () => {
    expectHsmErrorSync(() => readAttributes(makeKey(KeyType.GENERIC_SECRET, 32), 371), "ATTRIBUTE_NOT_PRESENT");
  });

  test.each([9999, -1, 4, 511, 513])("attribute %i is ATTRIBUTE_UNKNOWN", (id) => {
    const err = expectHsmErrorSync(() => readAttributes(makeKey(KeyType.AES, 16), id), "ATTRIBUTE_UNKNOWN");
    expect(err).toBeInstanceOf(HsmError);
    expect(err.details.attribute_id).toBe(id);
  });
});

describe("the 512 dump", () => {
  test("DUMP_ORDER is the documented 17-attribute order", () => {
    expect(DUMP_ORDER.map((id) => ATTRIBUTE_RULES.get(id)?.name)).toEqual(DOCUMENTED_DUMP_ORDER);
  });

  test("a generated AES-256 key dumps 17 attributes with the documented widths", () => {
    const key = makeKey(KeyType.AES, 32, { label: "aes256", id: "" });
    const readings = readAttributes(key, ALL_ATTRIBUTES);
    expect(readings.map((r) => r.name)).toEqual(DOCUMENTED_DUMP_ORDER);
    expect(readings.map((r) => r.text)).toEqual([
      "0x04",
      "0x1f",
      "0x01",
      "0x01",
      "0x01",
      "0x01",
      "0x01",
      "0x01",
      "0x00",
      "0x00",
      "0x01",
      "0x01",
      "0x01",
      "aes256",
      "",
      "0x00000020",
      `0x${key.kcv!.toString("hex")}`,
    ]);
  });

  test("the documented 3DES dump of genSymKey.md, apart from its KCV", () => {
    const key = makeKey(KeyType.DES3, 24, { label: "3DES_shared", id: "IT-02", kcv: Buffer.from("59a46e", "hex") });
    const text = attributeFileText(readAttributes(key, ALL_ATTRIBUTES));
    expect(text).toBe(
      [
        "OBJ_ATTR_CLASS",
        "0x04",
        "OBJ_ATTR_KEY_TYPE",
        "0x15",
        "OBJ_ATTR_TOKEN",
        "0x01",
        "OBJ_ATTR_PRIVATE",
        "0x01",
        "OBJ_ATTR_ENCRYPT",
        "0x01",
        "OBJ_ATTR_DECRYPT",
        "0x01",
        "OBJ_ATTR_WRAP",
        "0x00",
        "OBJ_ATTR_UNWRAP",
        "0x00",
        "OBJ_ATTR_SIGN",
        "0x00",
        "OBJ_ATTR_VERIFY",
        "0x00",
        "OBJ_ATTR_LOCAL",
        "0x01",
        "OBJ_ATTR_SENSITIVE",
        "0x01",
        "OBJ_ATTR_EXTRACTABLE",
        "0x01",
        "OBJ_ATTR_LABEL",
        "3DES_shared",
        "OBJ_ATTR_ID",
        "IT-02",
        "OBJ_ATTR_VALUE_LEN",
        "0x00000018",
        "OBJ_ATTR_KCV",
        "0x59a46e",
        "",
      ].join("\n"),
    );
  });

  test("an empty ID prints as an empty line in the file text", () => {
    const text = attributeFileText(readAttributes(makeKey(KeyType.AES, 16, { id: "" }), ALL_ATTRIBUTES));
    expect(text).toContain("\nOBJ_ATTR_ID\n\nOBJ_ATTR_VALUE_LEN\n0x00000010\n");
  });

  test("a generic secret dumps 16 attributes: no KCV", () => {
    const readings = readAttributes(makeKey(KeyType.GENERIC_SECRET, 64), ALL_ATTRIBUTES);
    expect(readings.map((r) => r.name)).toEqual(DOCUMENTED_DUMP_ORDER.filter((n) => n !== "OBJ_ATTR_KCV"));
    expect(readings.find((r) => r.name === "OBJ_ATTR_KEY_TYPE")!.text).toBe("0x10");
    expect(readings.find((r) => r.name === "OBJ_ATTR_VALUE_LEN")!.text).toBe("0x00000040");
  });

  test("single-attribute file text is NAME then VALUE, each on its own line", () => {
    expect(attributeFileText(readAttributes(makeKey(KeyType.DES3, 24), 256))).toBe("OBJ_ATTR_KEY_TYPE\n0x00000015\n");
  });
});

describe("defaultFlags", () => {
  test("generated AES: encrypt, decrypt, wrap, unwrap; local; sensitive; extractable", () => {
    expect(defaultFlags(KeyType.AES, { session: false, local: true, extractable: true })).toEqual({
      token: true,
      private: true,
      encrypt: true,
      decrypt: true,
      wrap: true,
      unwrap: true,
      sign: false,
      verify: false,
      derive: false,
      local: true,
      sensitive: true,
      extractable: true,
      neverExtractable: false,
      alwaysSensitive: true,
      trusted: false,
      wrapWithTrusted: false,
      destroyable: true,
    });
  });

  test("3DES: no wrap or unwrap", () => {
    const flags = defaultFlags(KeyType.DES3, { session: false, local: true, extractable: true });
    expect([flags.encrypt, flags.decrypt, flags.wrap, flags.unwrap]).toEqual([true, true, false, false]);
  });

  test("generic secrets are HMAC keys: sign and verify, no encrypt, decrypt, wrap or unwrap", () => {
    const flags = defaultFlags(KeyType.GENERIC_SECRET, { session: false, local: true, extractable: true });
    expect([flags.sign, flags.verify, flags.encrypt, flags.decrypt, flags.wrap, flags.unwrap]).toEqual([true, true, false, false, false, false]);
  });

  test("imported keys: LOCAL=0, and neither ALWAYS_SENSITIVE nor NEVER_EXTRACTABLE", () => {
    const flags = defaultFlags(KeyType.AES, { session: false, local: false, extractable: true });
    expect(flags.local).toBe(false);
    expect(flags.alwaysSensitive).toBe(false);
    expect(flags.neverExtractable).toBe(false);
  });

  test("session keys: TOKEN=0; -nex: EXTRACTABLE=0 and NEVER_EXTRACTABLE=1", () => {
    expect(defaultFlags(KeyType.AES, { session: true, local: true, extractable: true }).token).toBe(false);
    const nex = defaultFlags(KeyType.AES, { session: false, local: true, extractable: false });
    expect(nex.extractable).toBe(false);
    expect(nex.neverExtractable).toBe(true);
  });
});
