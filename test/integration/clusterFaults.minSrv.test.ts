// min_srv / timeout / create_object_minimum_nodes over real gRPC: an unmet minimum leaves nothing of the key
// anywhere (ListNodes, findKey, the id, the stream), a slow node does not hold up a met minimum, and a call that
// ends while waiting (client deadline, cancel) tombstones the key like a timeout.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ATTRIBUTE, ClusterControlClient, HsmClient, hsmProto, KEY_TYPE, toClientError } from "../../clients";
import { holders, T, watchFromNow } from "../support/clusterScript";
import { expectRpcError } from "../support/expectRpcError";
import { startTestDaemon, TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";
import { WatchRecorder } from "../support/watchRecorder";

const UNAVAILABLE_NODE = 0x30000085;

let t: TestDaemon;
let alice: HsmClient;
let control: ClusterControlClient;
let wrappingKey: number;
const fixture = useDaemonFixture();

async function start(options: Parameters<typeof startTestDaemon>[0] = {}): Promise<void> {
  ({ t, alice, control } = await fixture.start(options));
  const created = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "wrapping-key" });
  wrappingKey = created.keyHandle;
  await alice.waitForSync(created, "all");
}

async function keyCounts(): Promise<number[]> {
  return (await control.listNodes()).nodes.map((n) => n.keyCount);
}

async function pendingCounts(): Promise<number[]> {
  return (await control.listNodes()).nodes.map((n) => n.pendingReplications);
}

/** Opens a watch from now and keeps it for the fixture to cancel. */
async function watchNow(): Promise<WatchRecorder> {
  const { watch } = await watchFromNow(alice);
  fixture.keep(watch);
  return watch;
}

function importRequest(label: string, extra: Partial<hsmProto.ImportSymKeyRequest>): hsmProto.ImportSymKeyRequest {
  return hsmProto.ImportSymKeyRequest.fromPartial({
    material: { $case: "keyMaterial", value: randomBytes(16) },
    wrappingKeyHandle: wrappingKey,
    keyType: KEY_TYPE.AES,
    label,
    ...extra,
  });
}

/**
 * After node `nodeId` is up again: one more key reaches it, and because delivery to a node is in creation
 * order, anything of an earlier key still queued for it would have arrived first. Returns that node's key count.
 */
async function drainedKeyCount(nodeId: number): Promise<number> {
  const probe = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "probe" });
  await alice.waitForSync(probe, "all");
  const nodes = (await control.listNodes()).nodes;
  expect(nodes[nodeId]!.pendingReplications).toBe(0);
  return nodes[nodeId]!.keyCount;
}

describe("min_srv unmet", () => {
  beforeEach(() => start());

  test("node 2 down, min_srv 3, timeout 1 s: UNAVAILABLE / MIN_SRV_UNMET, and nothing of the key remains anywhere", async () => {
    await control.nodeDown(2);
    const countsBefore = await keyCounts();
    const visibleBefore = await alice.findKey();
    const w = await watchNow();
    const err = await expectRpcError(
      alice.importSymKey(randomBytes(32), { wrappingKey, label: "unmet", id: "unmet-id", minSrv: 3, timeoutSeconds: 1 }),
      grpc.status.UNAVAILABLE,
      "MIN_SRV_UNMET",
    );
    expect({ required: err.metadata.required, reached: err.metadata.reached, rc: err.kmuReturnCode }).toEqual({ required: "3", reached: "2", rc: 0x30 });
    const states = err.metadata.node_states!.split(",");
    expect(states[2]).toBe("2:0x30000085");
    expect(states.filter((s) => s.endsWith(":held")).map((s) => s.split(":")[1])).toEqual(["0x00000000", "0x00000000"]);

    // The stream tells the whole story: created, replicated once, tombstoned on both nodes that had it.
    const created = w.events.find((e) => e.type === T.SYNC_EVENT_TYPE_KEY_CREATED) ?? (await w.untilEvent((e) => e.type === T.SYNC_EVENT_TYPE_KEY_CREATED, "KEY_CREATED"));
    const handle = created.keyHandle;
    await w.untilEvent((e) => e.keyHandle === handle && e.type === T.SYNC_EVENT_TYPE_KEY_TOMBSTONED && e.nodesHolding === 0, "the last tombstone");
    expect(w.events.filter((e) => e.keyHandle === handle).map((e) => [e.type, e.nodesHolding])).toEqual([
      [T.SYNC_EVENT_TYPE_KEY_CREATED, 1],
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, 2],
      [T.SYNC_EVENT_TYPE_KEY_TOMBSTONED, 1],
      [T.SYNC_EVENT_TYPE_KEY_TOMBSTONED, 0],
    ]);

    expect(await keyCounts()).toEqual(countsBefore);
    expect(await pendingCounts()).toEqual([0, 0, 0]);
    expect(await alice.findKey()).toEqual(visibleBefore);
    expect(t.daemon.cluster.keyCount).toBe(1);
    await expectRpcError(alice.getAttribute(handle, ATTRIBUTE.KCV), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");

    // Node 2 comes back and never receives it; its id is free again.
    await control.nodeUp(2);
    expect(await drainedKeyCount(2)).toBe(countsBefore[2]! + 1);
    const again = await alice.importSymKey(randomBytes(16), { wrappingKey, label: "unmet", id: "unmet-id" });
    expect(again.keyHandle).toBeGreaterThan(handle);
  });

  test("a call whose client deadline (300 ms, no timeout) passes while waiting: the key is tombstoned", async () => {
    await control.nodeDown(2);
    const countsBefore = await keyCounts();
    const w = await watchNow();
    const call = new Promise<unknown>((resolve, reject) =>
      alice.raw.importSymKey(importRequest("deadline", { id: "deadline-id", minSrv: 3 }), alice.metadata(), { deadline: Date.now() + 300 }, (err, res) =>
        err ? reject(toClientError(err)) : resolve(res),
      ),
    );
    // A client-side deadline carries no ErrorInfo: the reason is the status name.
    await expectRpcError(call, grpc.status.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED");
    const created = await w.untilEvent((e) => e.type === T.SYNC_EVENT_TYPE_KEY_CREATED, "KEY_CREATED");
    await w.untilEvent((e) => e.keyHandle === created.keyHandle && e.type === T.SYNC_EVENT_TYPE_KEY_TOMBSTONED && e.nodesHolding === 0, "the last tombstone");
    expect(await alice.findKey({ label: "deadline" })).toEqual([]);
    expect(await keyCounts()).toEqual(countsBefore);
    await expectRpcError(alice.getAttribute(created.keyHandle, ATTRIBUTE.LABEL), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");
    // The daemon logged the call as failed for min_srv (it answered into a call the client had given up on).
    await t.waitForLog((l) => l.method === "ImportSymKey" && l.reason === "MIN_SRV_UNMET");
    await control.nodeUp(2);
    expect(await drainedKeyCount(2)).toBe(countsBefore[2]! + 1);
    await alice.importSymKey(randomBytes(16), { wrappingKey, label: "deadline", id: "deadline-id" });
  });

  test("a call cancelled by the client while waiting: the key is tombstoned", async () => {
    await control.nodeDown(1);
    const w = await watchNow();
    let pending!: grpc.ClientUnaryCall;
    const outcome = new Promise<unknown>((resolve, reject) => {
      pending = alice.raw.importSymKey(importRequest("cancelled", { minSrv: 3 }), alice.metadata(), { deadline: Date.now() + 30_000 }, (err, res) =>
        err ? reject(toClientError(err)) : resolve(res),
      );
    });
    const created = await w.untilEvent((e) => e.type === T.SYNC_EVENT_TYPE_KEY_CREATED, "KEY_CREATED");
    await w.untilEvent((e) => e.keyHandle === created.keyHandle && e.nodesHolding === 2, "the key on two nodes");
    pending.cancel();
    await w.untilEvent((e) => e.keyHandle === created.keyHandle && e.type === T.SYNC_EVENT_TYPE_KEY_TOMBSTONED && e.nodesHolding === 0, "the last tombstone");
    await expectRpcError(outcome, grpc.status.CANCELLED, "CANCELLED");
    expect(await alice.findKey({ label: "cancelled" })).toEqual([]);
    expect((await control.listNodes()).nodes.map((n) => n.keyCount)).toEqual([1, 1, 1]);
  });
});

describe("min_srv met", () => {
  beforeEach(() => start());

  test("min_srv 2 answers as soon as two nodes hold the key, though the third takes 60 s", async () => {
    const origin = holders(await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "where" }))[0]!;
    const slow = origin === 2 ? 1 : 2;
    const node = await control.setReplicationDelay(slow, 60_000);
    expect(node?.replicationDelayMs).toBe(60_000);
    // Answered while the slow node still lacks the key (two holders, not three): it did not wait for the 60 s node.
    const created = await alice.importSymKey(randomBytes(32), { wrappingKey, label: "quorum", minSrv: 2 });
    expect(created.nodeStatuses.map((s) => s.errState)).toEqual([0, 0, 0]);
    expect(holders(created)).toHaveLength(2);
    expect(holders(created)).not.toContain(slow);
    const listed = await control.listNodes();
    expect(listed.nodes[slow]!.pendingReplications).toBeGreaterThanOrEqual(1);
    // The slow node catches up once its delay is lowered.
    await control.setReplicationDelay(slow, 0);
    const synced = await alice.waitForSync(created, "all");
    expect(synced.nodeId).toBe(slow);
  });

  test("min_srv 3 waits for a partitioned node and answers when it is up again", async () => {
    await control.partition(1);
    const w = await watchNow();
    const call = alice.importSymKey(randomBytes(16), { wrappingKey, label: "waits", minSrv: 3 });
    const created = await w.untilEvent((e) => e.type === T.SYNC_EVENT_TYPE_KEY_CREATED, "KEY_CREATED");
    await w.untilEvent((e) => e.keyHandle === created.keyHandle && e.nodesHolding === 2, "the key on two nodes");
    await control.nodeUp(1);
    const done = await call;
    expect(done.keyHandle).toBe(created.keyHandle);
    expect(holders(done)).toEqual([0, 1, 2]);
  });

  test("min_srv above the node count, or above 1 for a session key, is refused at once and creates nothing", async () => {
    const before = await keyCounts();
    const tooMany = await expectRpcError(alice.importSymKey(randomBytes(16), { wrappingKey, label: "x", minSrv: 4 }), grpc.status.UNAVAILABLE, "MIN_SRV_UNMET");
    expect(tooMany.metadata).toMatchObject({ required: "4", reached: "0" });
    await expectRpcError(alice.importSymKey(randomBytes(16), { wrappingKey, label: "x", minSrv: 2, session: true }), grpc.status.UNAVAILABLE, "MIN_SRV_UNMET");
    await expectRpcError(alice.importSymKey(randomBytes(16), { wrappingKey, label: "x", timeoutSeconds: 1 }), grpc.status.INVALID_ARGUMENT, "TIMEOUT_WITHOUT_MIN_SRV");
    expect(await keyCounts()).toEqual(before);
  });
});

describe("create_object_minimum_nodes", () => {
  beforeEach(() => start({ createObjectMinimumNodes: 3 }));

  test("3 beats min_srv 1: the call waits for every node, and with one down it fails requiring 3", async () => {
    const all = await alice.importSymKey(randomBytes(16), { wrappingKey, label: "everywhere", minSrv: 1 });
    expect(holders(all)).toEqual([0, 1, 2]);
    await control.nodeDown(1);
    const err = await expectRpcError(
      alice.importSymKey(randomBytes(16), { wrappingKey, label: "short", minSrv: 1, timeoutSeconds: 1 }),
      grpc.status.UNAVAILABLE,
      "MIN_SRV_UNMET",
    );
    expect({ required: err.metadata.required, reached: err.metadata.reached }).toEqual({ required: "3", reached: "2" });
    expect(await alice.findKey({ label: "short" })).toEqual([]);
    // Session keys live on one node and are not bound by it.
    const sessionKey = await alice.importSymKey(randomBytes(16), { wrappingKey, label: "session", session: true });
    expect(sessionKey.nodeStatuses).toHaveLength(1);
  });
});

describe("node states in every key-management response", () => {
  beforeEach(() => start());

  test("with node 1 down, each response lists all three nodes, node 1 as 0x30000085; a session key has one line", async () => {
    await control.nodeDown(1);
    const bob = await t.loggedInCu("bob");
    const expectStates = (statuses: { nodeId: number; errState: number; description: string }[], what: string): void => {
      expect({ what, states: statuses.map((s) => [s.nodeId, s.errState]) }).toEqual({
        what,
        states: [
          [0, 0],
          [1, UNAVAILABLE_NODE],
          [2, 0],
        ],
      });
      expect(statuses.every((s) => s.description !== "")).toBe(true);
    };
    const login = await new Promise<hsmProto.LoginResponse>((resolve, reject) =>
      alice.raw.login({ userType: 1, username: "alice", password: "password1" }, (err, res) => (err ? reject(err) : resolve(res))),
    );
    expectStates(login.nodeStatuses, "Login");
    const gen = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "gen" });
    expectStates(gen.nodeStatuses, "GenSymKey");
    const imported = await alice.importSymKey(randomBytes(16), { wrappingKey, label: "imp" });
    expectStates(imported.nodeStatuses, "ImportSymKey");
    expect(imported.nodeStatuses[1]!.holdsKey).toBe(false);
    const found = await new Promise<hsmProto.FindKeyResponse>((resolve, reject) =>
      alice.raw.findKey(hsmProto.FindKeyRequest.fromPartial({}), alice.metadata(), (err, res) => (err ? reject(err) : resolve(res))),
    );
    expectStates(found.nodeStatuses, "FindKey");
    expectStates((await alice.shareKey(gen.keyHandle, [bob.userId!])).nodeStatuses, "ShareKey");
    expectStates((await alice.getKeyInfo(gen.keyHandle)).nodeStatuses, "GetKeyInfo");
    expectStates((await alice.listUsers()).nodeStatuses, "ListHsmUsers");
    expectStates((await alice.deleteKey(imported.keyHandle)).nodeStatuses, "DeleteKey");
    const logout = await new Promise<hsmProto.LogoutResponse>((resolve, reject) =>
      bob.raw.logout({}, bob.metadata(), (err, res) => (err ? reject(err) : resolve(res))),
    );
    expectStates(logout.nodeStatuses, "Logout");
    const sessionKey = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "sess", session: true });
    expect(sessionKey.nodeStatuses.map((s) => [s.errState, s.holdsKey])).toEqual([[0, true]]);
    expect(sessionKey.nodeStatuses[0]!.nodeId).not.toBe(1);
  });
});
