// Fault control over real gRPC: listing nodes, down/up with catch-up, partitions, per-node delay, a cluster-wide
// pause, each visible in ListNodes and in the watch stream; and the control service's own refusals.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ClusterControlClient, HsmClient, KEY_TYPE, NodeState, toClientError } from "../../clients";
import { holders, shape, T, watchFromNow } from "../support/clusterScript";
import { expectRpcError } from "../support/expectRpcError";
import { TEST_ADMIN_SECRET, TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";
import { WatchRecorder } from "../support/watchRecorder";

const UNAVAILABLE_NODE = 0x30000085;

let t: TestDaemon;
let alice: HsmClient;
let control: ClusterControlClient;
let wrappingKey: number;
let origin: number;
const fixture = useDaemonFixture();

beforeEach(async () => {
  ({ t, alice, control } = await fixture.start());
  const created = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "wrapping-key" });
  wrappingKey = created.keyHandle;
  origin = holders(created)[0]!;
  await alice.waitForSync(created, "all");
});

function watch(request: Parameters<typeof WatchRecorder.open>[1]): WatchRecorder {
  return fixture.watch(alice, request);
}

async function watchNow(): Promise<{ watch: WatchRecorder; from: number }> {
  const r = await watchFromNow(alice);
  fixture.keep(r.watch);
  return r;
}

/** A node other than the one alice's keys are created on. */
function notOrigin(k = 0): number {
  return [0, 1, 2].filter((n) => n !== origin)[k]!;
}

test("ListNodes: every node with its state, delay, key and pending counts, the pause flag and the revision", async () => {
  const listed = await control.listNodes();
  expect(listed.nodes.map((n) => [n.nodeId, n.state, n.keyCount, n.pendingReplications])).toEqual([
    [0, NodeState.NODE_STATE_UP, 1, 0],
    [1, NodeState.NODE_STATE_UP, 1, 0],
    [2, NodeState.NODE_STATE_UP, 1, 0],
  ]);
  expect(listed.nodes.every((n) => n.replicationDelayMs === 20)).toBe(true);
  expect(listed.replicationPaused).toBe(false);
  expect(Number(listed.revision)).toBe(t.daemon.cluster.events.currentRevision);

  await control.nodeDown(0);
  await control.partition(1);
  await control.setReplicationDelay(2, 1234);
  await control.pauseReplication();
  const changed = await control.listNodes();
  expect(changed.nodes.map((n) => [n.state, n.replicationDelayMs])).toEqual([
    [NodeState.NODE_STATE_DOWN, 20],
    [NodeState.NODE_STATE_PARTITIONED, 20],
    [NodeState.NODE_STATE_UP, 1234],
  ]);
  expect(changed.replicationPaused).toBe(true);
  // A down node keeps its keys.
  expect(changed.nodes.map((n) => n.keyCount)).toEqual([1, 1, 1]);
});

test("a change that changes nothing adds no event and returns the current revision", async () => {
  const down = await control.nodeDown(1);
  expect(await control.nodeDown(1)).toBe(down);
  const paused = await control.pauseReplication();
  expect(await control.pauseReplication()).toBe(paused);
  expect(Number((await control.listNodes()).revision)).toBe(paused);
  expect(paused).toBe(down + 1);
});

test("a node that was down catches up with every key it missed, in creation order, visibly after NODE_UP", async () => {
  const down = notOrigin();
  const { watch: w } = await watchNow();
  const downAt = await control.nodeDown(down);
  const created = [];
  for (let i = 0; i < 3; i++) {
    const res = await alice.importSymKey(randomBytes(16), { wrappingKey, label: `missed-${i}` });
    expect(res.nodeStatuses[down]).toMatchObject({ errState: UNAVAILABLE_NODE, holdsKey: false });
    created.push(res);
  }
  for (const c of created) await alice.waitForSync(c, 2);
  const listed = await control.listNodes();
  expect(listed.nodes[down]).toMatchObject({ state: NodeState.NODE_STATE_DOWN, keyCount: 1, pendingReplications: 3 });
  expect(listed.nodes[origin]!.keyCount).toBe(4);

  const upAt = await control.nodeUp(down);
  const last = created[2]!;
  await w.untilEvent((e) => e.keyHandle === last.keyHandle && e.nodeId === down, "the last key on the recovered node");
  const onNode = w.events.filter((e) => e.nodeId === down);
  expect(shape(onNode)).toEqual([
    [T.SYNC_EVENT_TYPE_NODE_DOWN, 0, down],
    [T.SYNC_EVENT_TYPE_NODE_UP, 0, down],
    ...created.map((c) => [T.SYNC_EVENT_TYPE_KEY_REPLICATED, c.keyHandle, down] as [number, number, number]),
  ]);
  expect(Number(onNode[0]!.revision)).toBe(downAt);
  expect(onNode.slice(2).every((e) => Number(e.revision) > upAt && e.nodesHolding === 3)).toBe(true);
  const after = await control.listNodes();
  expect(after.nodes.map((n) => [n.keyCount, n.pendingReplications])).toEqual([
    [4, 0],
    [4, 0],
    [4, 0],
  ]);
});

test("a partitioned node answers (state 0 in responses) but receives nothing until it is up", async () => {
  const cut = notOrigin(0);
  const other = notOrigin(1);
  // If the partition did not hold, the cut node (no delay) would get the key long before the other one (200 ms).
  await control.setReplicationDelay(cut, 0);
  await control.setReplicationDelay(other, 200);
  await control.partition(cut);
  const created = await alice.importSymKey(randomBytes(16), { wrappingKey, label: "partitioned" });
  expect(created.nodeStatuses.map((s) => s.errState)).toEqual([0, 0, 0]);
  expect(created.nodeStatuses[cut]!.holdsKey).toBe(false);
  const two = await alice.waitForSync(created, 2);
  expect(two.nodeId).toBe(other);
  const listed = await control.listNodes();
  expect(listed.nodes[cut]).toMatchObject({ state: NodeState.NODE_STATE_PARTITIONED, keyCount: 1, pendingReplications: 1 });

  const w = watch({ startRevision: Number(created.revision), nodeIds: [cut] });
  const upAt = await control.nodeUp(cut);
  await w.untilEvent((e) => e.type === T.SYNC_EVENT_TYPE_KEY_REPLICATED, "the key on the formerly partitioned node");
  expect(shape(w.events)).toEqual([
    [T.SYNC_EVENT_TYPE_NODE_UP, 0, cut],
    [T.SYNC_EVENT_TYPE_KEY_REPLICATED, created.keyHandle, cut],
  ]);
  expect(Number(w.events[0]!.revision)).toBe(upAt);
});

test("pause holds every replication cluster-wide; resume releases it, after REPLICATION_RESUMED in the stream", async () => {
  // With no delay, anything the pause let through would arrive at once.
  for (const n of [0, 1, 2]) await control.setReplicationDelay(n, 0);
  const { watch: w } = await watchNow();
  const pausedAt = await control.pauseReplication();
  const a = await alice.importSymKey(randomBytes(16), { wrappingKey, label: "held-a" });
  const waiting = alice.importSymKey(randomBytes(16), { wrappingKey, label: "held-b", minSrv: 2 });
  const b = await w.untilEvent((e) => e.type === T.SYNC_EVENT_TYPE_KEY_CREATED && e.keyHandle !== a.keyHandle, "the second key created");
  const listed = await control.listNodes();
  expect(listed.replicationPaused).toBe(true);
  expect(listed.nodes.map((n) => n.pendingReplications)).toEqual([0, 1, 2].map((n) => (n === origin ? 0 : 2)));

  const resumedAt = await control.pauseReplication(false);
  const done = await waiting;
  expect(done.keyHandle).toBe(b.keyHandle);
  await alice.waitForSync(a, "all");
  await alice.waitForSync(done, "all");
  const sequence = w.events.filter((e) => Number(e.revision) >= pausedAt);
  expect(sequence.slice(0, 4).map((e) => [e.type, e.keyHandle])).toEqual([
    [T.SYNC_EVENT_TYPE_REPLICATION_PAUSED, 0],
    [T.SYNC_EVENT_TYPE_KEY_CREATED, a.keyHandle],
    [T.SYNC_EVENT_TYPE_KEY_CREATED, b.keyHandle],
    [T.SYNC_EVENT_TYPE_REPLICATION_RESUMED, 0],
  ]);
  expect(Number(sequence[3]!.revision)).toBe(resumedAt);
  expect(sequence.slice(4).map((e) => e.type)).toEqual(new Array(4).fill(T.SYNC_EVENT_TYPE_KEY_REPLICATED));
  expect((await control.listNodes()).nodes.map((n) => n.keyCount)).toEqual([3, 3, 3]);
});

test("the control service needs the admin secret and refuses unknown nodes, bad states and delays", async () => {
  const stranger = new ClusterControlClient(t.address, "not-the-admin-secret-000000");
  try {
    await expectRpcError(stranger.listNodes(), grpc.status.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");
    await expectRpcError(stranger.nodeDown(1), grpc.status.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");
  } finally {
    stranger.close();
  }
  await expectRpcError(control.nodeDown(3), grpc.status.NOT_FOUND, "NODE_NOT_FOUND");
  await expectRpcError(control.setReplicationDelay(7, 10), grpc.status.NOT_FOUND, "NODE_NOT_FOUND");
  await expectRpcError(control.setReplicationDelay(1, 600_001), grpc.status.INVALID_ARGUMENT, "REQUEST_INVALID");
  const unspecified = new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    md.set("x-admin-secret", TEST_ADMIN_SECRET);
    control.raw.setNodeState({ nodeId: 1, state: NodeState.NODE_STATE_UNSPECIFIED }, md, (err, res) => (err ? reject(toClientError(err)) : resolve(res)));
  });
  await expectRpcError(unspecified, grpc.status.INVALID_ARGUMENT, "REQUEST_INVALID");
  // Nothing changed.
  expect((await control.listNodes()).nodes.map((n) => [n.state, n.replicationDelayMs])).toEqual([
    [NodeState.NODE_STATE_UP, 20],
    [NodeState.NODE_STATE_UP, 20],
    [NodeState.NODE_STATE_UP, 20],
  ]);
});
