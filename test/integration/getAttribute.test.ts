// GetAttribute over real gRPC: typed values and KMU text forms, the 512 dump and its -out file, and refusals.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ATTRIBUTE, HsmClient, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { aesKcv, des3Kcv } from "../support/kcv";
import { TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";
import { DOCUMENTED_DUMP_ORDER } from "../support/dumpOrder";

const S = grpc.status;

describe("GetAttribute", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let bob: HsmClient;
  const aesBytes = randomBytes(32);
  const des3Bytes = randomBytes(24);
  let aesKey: number;
  let des3Key: number;
  let genericSecret: number;
  let bobsKey: number;
  let bobsGenericSecret: number;

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ t, alice } = await fixture.start());
    bob = await t.loggedInCu("bob");
    const wrappingKey = await alice.createWrappingKey();
    aesKey = (await alice.importSymKey(aesBytes, { wrappingKey, label: "attr aes" })).keyHandle;
    des3Key = (await alice.importSymKey(des3Bytes, { wrappingKey, keyType: KEY_TYPE.DES3, label: "attr-3des", id: "des-id-7" })).keyHandle;
    genericSecret = (await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 48, label: "hmac" })).keyHandle;
    bobsKey = (await bob.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "bobs" })).keyHandle;
    bobsGenericSecret = (await bob.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 16, label: "bobs-hmac" })).keyHandle;
  });

  describe("one attribute", () => {
    test("KEY_TYPE of an AES key: uint 31, text 0x0000001f, file NAME line then VALUE line", async () => {
      const res = await alice.getAttribute(aesKey, ATTRIBUTE.KEY_TYPE);
      expect(res.keyHandle).toBe(aesKey);
      expect(res.attributes).toEqual([
        { attributeId: 256, name: "OBJ_ATTR_KEY_TYPE", value: { $case: "uintValue", value: 31 }, text: "0x0000001f" },
      ]);
      expect(res.fileText).toBe("OBJ_ATTR_KEY_TYPE\n0x0000001f\n");
    });

    test("KEY_TYPE of a 3DES key is 0x00000015", async () => {
      const res = await alice.getAttribute(des3Key, ATTRIBUTE.KEY_TYPE);
      expect(res.attributes[0]?.text).toBe("0x00000015");
    });

    test("KCV of an AES key: the 3 bytes node:crypto computes, as 0x plus 6 hex digits", async () => {
      const expected = aesKcv(aesBytes);
      const res = await alice.getAttribute(aesKey, ATTRIBUTE.KCV);
      expect(res.attributes).toEqual([
        { attributeId: 371, name: "OBJ_ATTR_KCV", value: { $case: "bytesValue", value: Buffer.from(expected, "hex") }, text: `0x${expected}` },
      ]);
      expect(res.attributes[0]?.text).toMatch(/^0x[0-9a-f]{6}$/);
      expect(res.fileText).toBe(`OBJ_ATTR_KCV\n0x${expected}\n`);
      expect(await alice.kcv(aesKey)).toBe(expected);
    });

    test("KCV of a 3DES key matches node:crypto's des-ede3-ecb", async () => {
      expect(await alice.kcv(des3Key)).toBe(des3Kcv(des3Bytes));
    });

    test.each([
      ["CLASS", ATTRIBUTE.CLASS, { $case: "uintValue", value: 4 }, "0x00000004"],
      ["TOKEN", ATTRIBUTE.TOKEN, { $case: "boolValue", value: true }, "0x00000001"],
      ["LOCAL (imported)", ATTRIBUTE.LOCAL, { $case: "boolValue", value: false }, "0x00000000"],
      ["WRAP", ATTRIBUTE.WRAP, { $case: "boolValue", value: true }, "0x00000001"],
      ["VALUE_LEN", 353, { $case: "uintValue", value: 32 }, "0x00000020"],
      ["LABEL", ATTRIBUTE.LABEL, { $case: "stringValue", value: "attr aes" }, "attr aes"],
      ["ID (empty)", ATTRIBUTE.ID, { $case: "stringValue", value: "" }, ""],
    ])("%s of the AES key", async (_name, attributeId, value, text) => {
      const res = await alice.getAttribute(aesKey, attributeId);
      expect(res.attributes).toHaveLength(1);
      expect(res.attributes[0]).toMatchObject({ attributeId, value, text });
    });

    test("a session key has TOKEN 0x00000000", async () => {
      const session = (await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "sess", session: true })).keyHandle;
      expect((await alice.getAttribute(session, ATTRIBUTE.TOKEN)).attributes[0]?.text).toBe("0x00000000");
    });
  });

  describe("512: every attribute", () => {
    test("an AES key: 17 attributes in the documented order, 2-digit flags, 8-digit VALUE_LEN, KCV, empty ID line", async () => {
      const res = await alice.getAttribute(aesKey, ATTRIBUTE.ALL);
      expect(res.attributes.map((a) => a.name)).toEqual(DOCUMENTED_DUMP_ORDER);
      expect(res.attributes).toHaveLength(17);
      const text = Object.fromEntries(res.attributes.map((a) => [a.name, a.text]));
      expect(text).toEqual({
        OBJ_ATTR_CLASS: "0x04",
        OBJ_ATTR_KEY_TYPE: "0x1f",
        OBJ_ATTR_TOKEN: "0x01",
        OBJ_ATTR_PRIVATE: "0x01",
        OBJ_ATTR_ENCRYPT: "0x01",
        OBJ_ATTR_DECRYPT: "0x01",
        OBJ_ATTR_WRAP: "0x01",
        OBJ_ATTR_UNWRAP: "0x01",
        OBJ_ATTR_SIGN: "0x00",
        OBJ_ATTR_VERIFY: "0x00",
        OBJ_ATTR_LOCAL: "0x00",
        OBJ_ATTR_SENSITIVE: "0x01",
        OBJ_ATTR_EXTRACTABLE: "0x01",
        OBJ_ATTR_LABEL: "attr aes",
        OBJ_ATTR_ID: "",
        OBJ_ATTR_VALUE_LEN: "0x00000020",
        OBJ_ATTR_KCV: `0x${aesKcv(aesBytes)}`,
      });

      // The -out file: NAME line, VALUE line, for each attribute in order; the empty ID is an empty line.
      const lines = res.fileText.split("\n");
      expect(lines.pop()).toBe("");
      expect(lines).toHaveLength(34);
      for (let i = 0; i < 17; i++) {
        expect(lines[2 * i]).toBe(DOCUMENTED_DUMP_ORDER[i]);
        expect(lines[2 * i + 1]).toBe(res.attributes[i]!.text);
      }
      expect(res.fileText).toContain("OBJ_ATTR_ID\n\nOBJ_ATTR_VALUE_LEN\n0x00000020\n");
    });

    test("a 3DES key with an id: type 0x15, WRAP/UNWRAP 0x00, VALUE_LEN 0x00000018, the id as text", async () => {
      const res = await alice.getAttribute(des3Key, ATTRIBUTE.ALL);
      expect(res.attributes.map((a) => a.name)).toEqual(DOCUMENTED_DUMP_ORDER);
      const text = Object.fromEntries(res.attributes.map((a) => [a.name, a.text]));
      expect(text).toMatchObject({
        OBJ_ATTR_KEY_TYPE: "0x15",
        OBJ_ATTR_WRAP: "0x00",
        OBJ_ATTR_UNWRAP: "0x00",
        OBJ_ATTR_ID: "des-id-7",
        OBJ_ATTR_VALUE_LEN: "0x00000018",
        OBJ_ATTR_KCV: `0x${des3Kcv(des3Bytes)}`,
      });
    });

    test("a generic secret: the same order without KCV, 16 attributes", async () => {
      const res = await alice.getAttribute(genericSecret, ATTRIBUTE.ALL);
      expect(res.attributes.map((a) => a.name)).toEqual(DOCUMENTED_DUMP_ORDER.filter((n) => n !== "OBJ_ATTR_KCV"));
      expect(res.fileText).not.toContain("OBJ_ATTR_KCV");
      expect(Object.fromEntries(res.attributes.map((a) => [a.name, a.text]))).toMatchObject({
        OBJ_ATTR_KEY_TYPE: "0x10",
        OBJ_ATTR_LOCAL: "0x01",
        OBJ_ATTR_VALUE_LEN: "0x00000030",
      });
    });
  });

  describe("refusals", () => {
    test("an attribute the key type lacks: MODULUS (288) of an AES key -> ATTRIBUTE_NOT_PRESENT (0x12)", async () => {
      const err = await expectRpcError(alice.getAttribute(aesKey, 288), S.INVALID_ARGUMENT, "ATTRIBUTE_NOT_PRESENT");
      expect(err.metadata.kmu_return_code).toBe("0x12");
      expect(err.metadata.attribute_id).toBe("288");
    });

    test("KCV (371) of a generic secret -> ATTRIBUTE_NOT_PRESENT", async () => {
      await expectRpcError(alice.getAttribute(genericSecret, ATTRIBUTE.KCV), S.INVALID_ARGUMENT, "ATTRIBUTE_NOT_PRESENT");
    });

    test.each([9_999, 4, 511, 513])("an attribute id KMU does not know (%d) -> ATTRIBUTE_UNKNOWN (0x12)", async (attributeId) => {
      const err = await expectRpcError(alice.getAttribute(aesKey, attributeId), S.INVALID_ARGUMENT, "ATTRIBUTE_UNKNOWN");
      expect(err.metadata.kmu_return_code).toBe("0x12");
    });

    test("another CU's key answers exactly like a handle that does not exist", async () => {
      const missing = await expectRpcError(alice.getAttribute(999_999, ATTRIBUTE.KCV), S.NOT_FOUND, "KEY_NOT_FOUND");
      const invisible = await expectRpcError(alice.getAttribute(bobsKey, ATTRIBUTE.KCV), S.NOT_FOUND, "KEY_NOT_FOUND");
      expect(missing.metadata.kmu_return_code).toBe("0xa8");
      expect(Object.keys(invisible.metadata).sort()).toEqual(Object.keys(missing.metadata).sort());
      expect({ ...invisible.metadata, key_handle: "" }).toEqual({ ...missing.metadata, key_handle: "" });
    });

    test("nothing about an invisible key leaks through the attribute checks: lacking or unknown attributes still say KEY_NOT_FOUND", async () => {
      await expectRpcError(alice.getAttribute(bobsGenericSecret, ATTRIBUTE.KCV), S.NOT_FOUND, "KEY_NOT_FOUND");
      await expectRpcError(alice.getAttribute(bobsKey, 288), S.NOT_FOUND, "KEY_NOT_FOUND");
      await expectRpcError(alice.getAttribute(bobsKey, 9_999), S.NOT_FOUND, "KEY_NOT_FOUND");
      await expectRpcError(alice.getAttribute(bobsKey, ATTRIBUTE.ALL), S.NOT_FOUND, "KEY_NOT_FOUND");
    });

    test("handle 4 -> PERMISSION_DENIED INTERNAL_KEY_UNSUPPORTED (0xc6)", async () => {
      const err = await expectRpcError(alice.getAttribute(4, ATTRIBUTE.KEY_TYPE), S.PERMISSION_DENIED, "INTERNAL_KEY_UNSUPPORTED");
      expect(err.metadata.kmu_return_code).toBe("0xc6");
    });

    test("a key shared with the caller is readable", async () => {
      const shared = (await bob.genSymKey({ keyType: KEY_TYPE.AES, keySize: 24, label: "to-alice", shareWith: [alice.userId!] })).keyHandle;
      const res = await alice.getAttribute(shared, 353);
      expect(res.attributes[0]?.text).toBe("0x00000018");
    });
  });
});
