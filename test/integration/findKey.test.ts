// FindKey over real gRPC: every filter, their AND-combination, exact matching, and visibility (owned + shared only).
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { FindOptions, HsmClient, hsmProto, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { aesKcv } from "../support/kcv";
import { unaryWith } from "../support/rawGrpc";
import { TEST_PASSWORD, TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";

const S = grpc.status;

describe("FindKey filters and visibility", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let bob: HsmClient;
  let carol: HsmClient;
  let dave: HsmClient;
  const a1Bytes = randomBytes(32);
  const b2Bytes = randomBytes(16);
  const k = {} as Record<"wrap" | "a1" | "a2" | "a3" | "a4" | "b1" | "b2" | "bWrap", number>;

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ t, alice } = await fixture.start());
    bob = await t.loggedInCu("bob");
    carol = await t.loggedInCu("carol");
    dave = await t.loggedInCu("dave");
    const bobId = bob.userId!;
    const carolId = carol.userId!;
    k.wrap = await alice.createWrappingKey("alice-wrap");
    k.a1 = (await alice.importSymKey(a1Bytes, { wrappingKey: k.wrap, label: "red", id: "a1" })).keyHandle;
    k.a2 = (await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "red", session: true })).keyHandle;
    k.a3 = (await alice.importSymKey(randomBytes(24), { wrappingKey: k.wrap, keyType: KEY_TYPE.DES3, label: "blue", shareWith: [bobId] })).keyHandle;
    k.a4 = (await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 32, label: "green", shareWith: [bobId, carolId] })).keyHandle;
    k.b1 = (await bob.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "red", id: "b1", shareWith: [alice.userId!] })).keyHandle;
    k.bWrap = await bob.createWrappingKey("bob-wrap");
    k.b2 = (await bob.importSymKey(b2Bytes, { wrappingKey: k.bWrap, label: "red", id: "b2" })).keyHandle;
  });

  const asc = (...handles: number[]) => [...handles].sort((x, y) => x - y);
  const find = (client: HsmClient, filters: FindOptions = {}) => client.findKey(filters);

  describe("visibility", () => {
    test("alice sees her own keys and the key bob shared with her, never bob's other keys", async () => {
      expect(await find(alice)).toEqual(asc(k.wrap, k.a1, k.a2, k.a3, k.a4, k.b1));
    });

    test("bob sees his keys and the keys alice shared with him, not her unshared or session keys", async () => {
      expect(await find(bob)).toEqual(asc(k.b1, k.bWrap, k.b2, k.a3, k.a4));
    });

    test("carol sees only the key shared with her; dave, who owns nothing, sees nothing", async () => {
      expect(await find(carol)).toEqual([k.a4]);
      expect(await find(dave)).toEqual([]);
    });

    test("a session key is visible only in the login session that made it", async () => {
      const again = t.client();
      await again.login("alice", TEST_PASSWORD);
      expect(await find(again)).toEqual(asc(k.wrap, k.a1, k.a3, k.a4, k.b1));
      expect(await find(again, { session: true })).toEqual([]);
    });

    test("filters never reach invisible keys: bob's unshared key by its id, kcv or label", async () => {
      expect(await find(alice, { id: "b2" })).toEqual([]);
      expect(await find(alice, { kcv: Buffer.from(aesKcv(b2Bytes), "hex") })).toEqual([]);
      expect(await find(alice, { label: "red", keyType: KEY_TYPE.AES, session: false })).not.toContain(k.b2);
    });

    test("the response counts every match and reports every node", async () => {
      const res = await unaryWith(alice.raw.findKey.bind(alice.raw), request({ label: "red" }), alice.metadata());
      expect(res.keyHandles).toEqual(asc(k.a1, k.a2, k.b1));
      expect(res.totalSize).toBe(3);
      expect(res.nextPageToken).toBe("");
      expect(res.nodeStatuses.map((n) => [n.nodeId, n.errState])).toEqual([[0, 0], [1, 0], [2, 0]]);
    });
  });

  describe("each filter alone (as alice)", () => {
    test("class: 4 (secret) matches every symmetric key, 2 and 3 match nothing", async () => {
      expect(await find(alice, { keyClass: 4 })).toEqual(asc(k.wrap, k.a1, k.a2, k.a3, k.a4, k.b1));
      expect(await find(alice, { keyClass: 2 })).toEqual([]);
      expect(await find(alice, { keyClass: 3 })).toEqual([]);
    });

    test("type: 31 AES, 21 3DES, 16 generic secret, 18 nothing", async () => {
      expect(await find(alice, { keyType: KEY_TYPE.AES })).toEqual(asc(k.wrap, k.a1, k.a2, k.b1));
      expect(await find(alice, { keyType: KEY_TYPE.DES3 })).toEqual([k.a3]);
      expect(await find(alice, { keyType: KEY_TYPE.GENERIC_SECRET })).toEqual([k.a4]);
      expect(await find(alice, { keyType: 18 })).toEqual([]);
    });

    test("label: exact, case-sensitive, whole-string match", async () => {
      expect(await find(alice, { label: "red" })).toEqual(asc(k.a1, k.a2, k.b1));
      expect(await find(alice, { label: "blue" })).toEqual([k.a3]);
      expect(await find(alice, { label: "Red" })).toEqual([]);
      expect(await find(alice, { label: "re" })).toEqual([]);
      expect(await find(alice, { label: "red " })).toEqual([]);
    });

    test("id: exact match; the empty id matches the keys that have none", async () => {
      expect(await find(alice, { id: "a1" })).toEqual([k.a1]);
      expect(await find(alice, { id: "b1" })).toEqual([k.b1]);
      expect(await find(alice, { id: "a" })).toEqual([]);
      expect(await find(alice, { id: "" })).toEqual(asc(k.wrap, k.a2, k.a3, k.a4));
    });

    test("session: true gives session keys only, false token keys only", async () => {
      expect(await find(alice, { session: true })).toEqual([k.a2]);
      expect(await find(alice, { session: false })).toEqual(asc(k.wrap, k.a1, k.a3, k.a4, k.b1));
    });

    test("shared-with users: keys every listed user can use (as owner or by sharing)", async () => {
      const bobId = bob.userId!;
      const carolId = carol.userId!;
      expect(await find(alice, { sharedWithUserIds: [bobId] })).toEqual(asc(k.a3, k.a4, k.b1));
      expect(await find(alice, { sharedWithUserIds: [carolId] })).toEqual([k.a4]);
      expect(await find(alice, { sharedWithUserIds: [bobId, carolId] })).toEqual([k.a4]);
      expect(await find(alice, { sharedWithUserIds: [dave.userId!] })).toEqual([]);
    });

    test("kcv: the 3 bytes computed on the host find the imported key", async () => {
      expect(await find(alice, { kcv: Buffer.from(aesKcv(a1Bytes), "hex") })).toEqual([k.a1]);
      expect(await find(alice, { kcv: Buffer.from("000000", "hex") })).toEqual([]);
    });

    test("a kcv that is not 3 bytes -> INVALID_ARGUMENT REQUEST_INVALID", async () => {
      const err = await expectRpcError(find(alice, { kcv: Buffer.from("00112233", "hex") }), S.INVALID_ARGUMENT, "REQUEST_INVALID");
      expect(err.metadata.field).toBe("kcv");
    });
  });

  describe("filters combine with AND", () => {
    test("label + type + session", async () => {
      expect(await find(alice, { label: "red", keyType: KEY_TYPE.AES, session: false })).toEqual(asc(k.a1, k.b1));
      expect(await find(alice, { label: "red", keyType: KEY_TYPE.AES, session: true })).toEqual([k.a2]);
    });

    test("label + shared-with", async () => {
      expect(await find(alice, { label: "red", sharedWithUserIds: [bob.userId!] })).toEqual([k.b1]);
    });

    test("kcv + id, kcv + another label, class + type", async () => {
      const kcv = Buffer.from(aesKcv(a1Bytes), "hex");
      expect(await find(alice, { kcv, id: "a1", label: "red", keyClass: 4, keyType: KEY_TYPE.AES, session: false })).toEqual([k.a1]);
      expect(await find(alice, { kcv, label: "blue" })).toEqual([]);
      expect(await find(alice, { keyClass: 4, keyType: KEY_TYPE.DES3, sharedWithUserIds: [bob.userId!] })).toEqual([k.a3]);
      expect(await find(alice, { keyType: KEY_TYPE.DES3, sharedWithUserIds: [carol.userId!] })).toEqual([]);
    });
  });
});

function request(filters: FindOptions): hsmProto.FindKeyRequest {
  return { sharedWithUserIds: [], pageSize: 0, pageToken: "", ...filters };
}
