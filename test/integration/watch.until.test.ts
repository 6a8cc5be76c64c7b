// until_nodes_holding: a watch of one key that the daemon ends itself once the key is on enough nodes (or gone), so
// waiting for sync never needs a client cancellation, and thousands of waits on one connection stay healthy.
import * as grpc from "@grpc/grpc-js";
import { ClusterControlClient, HsmClient, KEY_TYPE, KeyGoneError } from "../../clients";
import { burst, T } from "../support/clusterScript";
import { TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";
import { WatchRecorder } from "../support/watchRecorder";

let t: TestDaemon;
let alice: HsmClient;
let control: ClusterControlClient;
const fixture = useDaemonFixture();

function watch(request: Parameters<typeof WatchRecorder.open>[1]): WatchRecorder {
  return fixture.watch(alice, request);
}

beforeEach(async () => {
  ({ t, alice, control } = await fixture.start());
});

const statusOf = (end: Awaited<WatchRecorder["ended"]>) => (end.error ? `${grpc.status[end.error.code]} ${end.error.reason}` : "OK");

test.each([
  ["one event per response", 0],
  ["batched", 100],
])("%s: the stream ends OK right after the event that shows the key on that many nodes", async (_name, maxEventsPerResponse) => {
  const key = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "until" });
  await alice.waitForSync(key, "all");
  burst(t.daemon.cluster, 2);
  const two = watch({ startRevision: Number(key.revision), keyHandles: [key.keyHandle], untilNodesHolding: 2, maxEventsPerResponse });
  const all = watch({ startRevision: Number(key.revision), keyHandles: [key.keyHandle], untilNodesHolding: 0xffffffff, maxEventsPerResponse });
  const forever = watch({ startRevision: Number(key.revision), keyHandles: [key.keyHandle], maxEventsPerResponse });
  expect(statusOf(await two.ended)).toBe("OK");
  expect(two.events.map((e) => [e.type, e.nodesHolding])).toEqual([
    [T.SYNC_EVENT_TYPE_KEY_CREATED, 1],
    [T.SYNC_EVENT_TYPE_KEY_REPLICATED, 2],
  ]);
  expect(statusOf(await all.ended)).toBe("OK");
  expect(all.events.map((e) => e.nodesHolding)).toEqual([1, 2, 3]);
  // Without it the stream stays open.
  await forever.until(() => forever.events.length === 3, "three events");
  const share = await alice.shareKey(key.keyHandle, [(await t.admin.createUser("bob", "password1")).user!.userId]);
  await forever.untilRevision(Number(share.revision));
});

test("a key that is tombstoned ends the wait: the stream ends OK after the tombstone, waitForSync rejects KeyGoneError", async () => {
  await control.nodeDown(2);
  const from = t.daemon.cluster.events.currentRevision + 1;
  const failed = alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "doomed", minSrv: 3, timeoutSeconds: 1 });
  await expect(failed).rejects.toMatchObject({ reason: "MIN_SRV_UNMET" });
  const created = t.daemon.cluster.events.readFrom(from, 100).find((e) => e.kind === "KEY_CREATED")!;
  const w = watch({ startRevision: from, keyHandles: [created.handle], untilNodesHolding: 3 });
  expect(statusOf(await w.ended)).toBe("OK");
  expect(w.events[w.events.length - 1]!.type).toBe(T.SYNC_EVENT_TYPE_KEY_TOMBSTONED);
  await expect(alice.waitForSync({ keyHandle: created.handle, revision: String(created.revision) }, 3)).rejects.toBeInstanceOf(KeyGoneError);
});

test("a user the key is shared with after it synced learns its coverage from SHARING_CHANGED: the wait ends there", async () => {
  const bob = await t.loggedInCu("bob");
  const key = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "shared later" });
  await alice.waitForSync(key, "all");
  const shared = await alice.shareKey(key.keyHandle, [bob.userId!]);
  const event = await bob.waitForSync(key, "all");
  expect([event.type, event.nodesHolding, event.revision]).toEqual([T.SYNC_EVENT_TYPE_SHARING_CHANGED, 3, shared.revision]);
});

test("waitForSync refuses a node count that is not a whole number of at least 1, before any call", async () => {
  const key = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "k" });
  for (const nodes of [0, 1.5, -1]) await expect(alice.waitForSync(key, nodes)).rejects.toBeInstanceOf(RangeError);
});

test("until_nodes_holding needs exactly one key handle and no node filter: INVALID_ARGUMENT / REQUEST_INVALID naming the field", async () => {
  const requests = [{ keyHandles: [] }, { keyHandles: [1, 2] }, { keyHandles: [1], nodeIds: [0] }];
  for (const request of requests) {
    const end = await watch({ ...request, untilNodesHolding: 1 }).ended;
    expect({ code: end.error && grpc.status[end.error.code], reason: end.error?.reason, field: end.error?.metadata["field"] }).toEqual({
      code: "INVALID_ARGUMENT",
      reason: "REQUEST_INVALID",
      field: "until_nodes_holding",
    });
  }
});

test("2,000 waitForSync calls in a row on one client: the connection is never reset", async () => {
  const key = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "many waits" });
  for (let i = 0; i < 2000; i++) {
    const event = await alice.waitForSync(key, "all");
    expect(event.nodesHolding).toBe(3);
  }
});
