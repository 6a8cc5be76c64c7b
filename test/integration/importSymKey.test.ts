// ImportSymKey over real gRPC: the documented steps, KCVs, -wk host wrapping, and every refusal creating nothing.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ATTRIBUTE, HsmClient, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { aesKcv } from "../support/kcv";
import { useDaemonFixture } from "../support/daemonFixture";

describe("ImportSymKey", () => {
  let alice: HsmClient;
  let wrappingKey: number;

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ alice } = await fixture.start());
    wrappingKey = await alice.createWrappingKey();
  });

  test("imports an AES-256 key through the documented steps and reports every node", async () => {
    const material = randomBytes(32);
    const res = await alice.importSymKey(material, { wrappingKey, label: "imported" });
    expect(res.steps.map((s) => [s.name, s.returnCode])).toEqual([
      ["Cfm3WrapHostKey", 0],
      ["Cfm3CreateUnwrapTemplate", 0],
      ["Cfm3UnWrapKey", 0],
    ]);
    expect(res.nodeStatuses.map((n) => [n.nodeId, n.errState]).sort()).toEqual([[0, 0], [1, 0], [2, 0]]);
    expect(await alice.kcv(res.keyHandle)).toBe(aesKcv(material));
    const local = await alice.getAttribute(res.keyHandle, ATTRIBUTE.LOCAL);
    expect(local.attributes[0]?.text).toBe("0x00000000");
  });

  test("-wk: the key crosses the wire wrapped and imports with the same KCV", async () => {
    const wkPlain = randomBytes(32);
    const w = (await alice.importSymKey(wkPlain, { wrappingKey, label: "file-wrapping-key" })).keyHandle;
    const material = randomBytes(16);
    const res = await alice.importSymKey(material, { wrappingKey: w, hostWrappingKey: wkPlain, label: "via-wk" });
    expect(res.steps.map((s) => s.name)).toEqual(["Cfm3CreateUnwrapTemplate", "Cfm3UnWrapKey"]);
    expect(await alice.kcv(res.keyHandle)).toBe(aesKcv(material));
  });

  test("-wk with a different key than -w fails the unwrap integrity check and creates nothing", async () => {
    const before = await alice.findKey();
    await expectRpcError(
      alice.importSymKey(randomBytes(32), { wrappingKey, hostWrappingKey: randomBytes(32), label: "mismatch" }),
      grpc.status.INVALID_ARGUMENT,
      "UNWRAP_INTEGRITY_FAILED",
    );
    expect(await alice.findKey()).toEqual(before);
  });

  test("3DES imports with the right defaults and a 0x15 key type", async () => {
    const res = await alice.importSymKey(randomBytes(24), { wrappingKey, keyType: KEY_TYPE.DES3, label: "des" });
    const all = await alice.getAttribute(res.keyHandle, ATTRIBUTE.ALL);
    const byName = Object.fromEntries(all.attributes.map((a) => [a.name, a.text]));
    expect(byName).toMatchObject({ OBJ_ATTR_KEY_TYPE: "0x15", OBJ_ATTR_WRAP: "0x00", OBJ_ATTR_LOCAL: "0x00", OBJ_ATTR_VALUE_LEN: "0x00000018" });
  });
});
