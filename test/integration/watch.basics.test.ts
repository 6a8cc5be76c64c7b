// WatchSyncStatus over real gRPC, after etcd's watch tests: where a watch starts (now, past, future, compacted),
// what it filters, what each watcher may see, and progress messages in order with events.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ClusterControlClient, HsmClient, KEY_TYPE } from "../../clients";
import { burst, holders, shape, T, watchFromNow } from "../support/clusterScript";
import { expectRpcError } from "../support/expectRpcError";
import { startTestDaemon, TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";
import { range, WatchRecorder } from "../support/watchRecorder";

let t: TestDaemon;
let alice: HsmClient;
let control: ClusterControlClient;
const fixture = useDaemonFixture();

async function start(options: Parameters<typeof startTestDaemon>[0] = {}): Promise<void> {
  ({ t, alice, control } = await fixture.start(options));
}

async function aesKey(client: HsmClient, label: string, shareWith: number[] = []) {
  return client.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label, shareWith });
}

describe("where a watch starts", () => {
  beforeEach(() => start());

  test("start 0 is 'from now': nothing from before, everything after, in order", async () => {
    const earlier = await aesKey(alice, "earlier");
    await alice.waitForSync(earlier, "all");
    const { watch: w, from } = await watchFromNow(alice);
    expect(from).toBe(t.daemon.cluster.events.currentRevision + 1);
    const down = await control.nodeDown(1);
    const up = await control.nodeUp(1);
    await w.untilRevision(up);
    expect(w.revisions).toEqual([down, up]);
    expect(w.revisions[0]).toBeGreaterThan(Number(earlier.revision));
    expect(shape(w.events)).toEqual([
      [T.SYNC_EVENT_TYPE_NODE_DOWN, 0, 1],
      [T.SYNC_EVENT_TYPE_NODE_UP, 0, 1],
    ]);
  });

  test("a past start revision is inclusive: the create response's revision replays that key from its creation", async () => {
    await control.pauseReplication();
    const created = await aesKey(alice, "past");
    const origin = holders(created)[0]!;
    const resumed = await control.pauseReplication(false);
    await alice.waitForSync(created, "all");
    const w = fixture.watch(alice, { startRevision: Number(created.revision) });
    await w.until(() => w.events.length >= 4, "4 events");
    expect(w.revisions).toEqual(range(Number(created.revision), Number(created.revision) + 3));
    expect(w.revisions[1]).toBe(resumed);
    expect(w.events.map((e) => [e.type, e.keyHandle, e.nodesHolding])).toEqual([
      [T.SYNC_EVENT_TYPE_KEY_CREATED, created.keyHandle, 1],
      [T.SYNC_EVENT_TYPE_REPLICATION_RESUMED, 0, 0],
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, created.keyHandle, 2],
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, created.keyHandle, 3],
    ]);
    expect(w.events[0]!.nodeId).toBe(origin);
    expect(new Set(w.events.slice(2).map((e) => e.nodeId))).toEqual(new Set([0, 1, 2].filter((n) => n !== origin)));
    expect(w.events.every((e) => e.nodeCount === 3 && e.time instanceof Date)).toBe(true);
  });

  test("a future start revision waits until that revision exists and begins exactly there", async () => {
    const now = t.daemon.cluster.events.currentRevision;
    const w = fixture.watch(alice, { startRevision: now + 5, progressIntervalMs: 10 });
    // The watcher is in place (it reports progress) before the revisions it waits for exist.
    await w.until(() => w.progress.length > 0, "a first progress message");
    expect(w.events).toEqual([]);
    for (let i = 0; i < 3; i++) await control.partition(2).then(() => control.nodeUp(2));
    await w.until(() => w.events.length >= 2, "two events");
    expect(w.revisions).toEqual([now + 5, now + 6]);
    expect(shape(w.events)).toEqual([
      [T.SYNC_EVENT_TYPE_NODE_PARTITIONED, 0, 2],
      [T.SYNC_EVENT_TYPE_NODE_UP, 0, 2],
    ]);
  });

  test("start 1 on a fresh daemon replays the whole history", async () => {
    const w = fixture.watch(alice, { startRevision: 1 });
    const current = t.daemon.cluster.events.currentRevision;
    const up = await control.nodeDown(0).then(() => control.nodeUp(0));
    await w.untilRevision(up);
    expect(w.revisions).toEqual(range(1, up));
    expect(up).toBe(current + 2);
  });
});

describe("compaction", () => {
  // The daemon refuses a lag bound at or above the capacity (a slow watcher could not resume); 99 never ends these watchers.
  beforeEach(() => start({ eventCapacity: 100, watch: { maxLag: 99 } }));

  test("a start at or below the compaction point fails OUT_OF_RANGE / WATCH_COMPACTED naming it; one above replays from there", async () => {
    const last = burst(t.daemon.cluster, 250);
    const compact = last - 100;
    for (const startRevision of [1, compact - 50, compact]) {
      const w = fixture.watch(alice, { startRevision });
      const end = await w.ended;
      expect({ code: end.error && grpc.status[end.error.code], reason: end.error?.reason }).toEqual({ code: "OUT_OF_RANGE", reason: "WATCH_COMPACTED" });
      expect(end.error!.metadata.compact_revision).toBe(String(compact));
      expect(w.events).toEqual([]);
    }
    const w = fixture.watch(alice, { startRevision: compact + 1 });
    await w.untilRevision(last);
    expect(w.revisions).toEqual(range(compact + 1, last));
  });

  test("the facade surfaces a compacted start as HsmClientError OUT_OF_RANGE / WATCH_COMPACTED", async () => {
    burst(t.daemon.cluster, 200);
    const consume = async (): Promise<void> => {
      for await (const _ of alice.watch({ startRevision: 1 })) {
        // nothing arrives
      }
    };
    const err = await expectRpcError(consume(), grpc.status.OUT_OF_RANGE, "WATCH_COMPACTED");
    expect(Number(err.metadata.compact_revision)).toBe(t.daemon.cluster.events.compactRevision);
  });
});

describe("filters", () => {
  beforeEach(() => start());

  test("key_handles: only those keys' events, no node or other keys' events", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    await control.pauseReplication();
    const other = await aesKey(alice, "other");
    const mine = await aesKey(alice, "mine");
    await control.partition(1);
    await control.nodeUp(1);
    await control.pauseReplication(false);
    const w = fixture.watch(alice, { startRevision: from, keyHandles: [mine.keyHandle] });
    await w.until(() => w.events.some((e) => e.nodesHolding === 3), "the key on every node");
    expect(w.events.map((e) => [e.type, e.keyHandle, e.nodesHolding])).toEqual([
      [T.SYNC_EVENT_TYPE_KEY_CREATED, mine.keyHandle, 1],
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, mine.keyHandle, 2],
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, mine.keyHandle, 3],
    ]);
    expect(other.keyHandle).not.toBe(mine.keyHandle);
  });

  test("node_ids: key and node events on those nodes only", async () => {
    const created = await aesKey(alice, "placed");
    const origin = holders(created)[0]!;
    const [watched, ignored] = [0, 1, 2].filter((n) => n !== origin) as [number, number];
    await alice.waitForSync(created, "all");
    const w = fixture.watch(alice, { startRevision: Number(created.revision), nodeIds: [watched] });
    await control.nodeDown(ignored).then(() => control.nodeUp(ignored));
    const marker = await control.partition(watched).then(() => control.nodeUp(watched));
    await w.untilRevision(marker);
    expect(shape(w.events)).toEqual([
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, created.keyHandle, watched],
      [T.SYNC_EVENT_TYPE_NODE_PARTITIONED, 0, watched],
      [T.SYNC_EVENT_TYPE_NODE_UP, 0, watched],
    ]);
  });

  test("both filters together must match", async () => {
    const a = await aesKey(alice, "a");
    const b = await aesKey(alice, "b");
    await alice.waitForSync(a, "all");
    await alice.waitForSync(b, "all");
    const origin = holders(a)[0]!;
    const node = (origin + 1) % 3;
    const w = fixture.watch(alice, { startRevision: Number(a.revision), keyHandles: [b.keyHandle], nodeIds: [node], progressIntervalMs: 10 });
    const marker = await control.nodeDown(node).then(() => control.nodeUp(node));
    // Everything up to the marker has been looked at once a progress message says so.
    await w.until(() => w.progress.some((r) => r >= marker), "progress past the marker");
    expect(shape(w.events)).toEqual([[T.SYNC_EVENT_TYPE_KEY_REPLICATED, b.keyHandle, node]]);
  });
});

describe("visibility", () => {
  beforeEach(() => start());

  test("bob does not see alice's unshared key; after ShareKey he sees SHARING_CHANGED and what follows; node events always", async () => {
    const bob = await t.loggedInCu("bob");
    const { watch: bobs, from } = await watchFromNow(bob);
    const secret = await aesKey(alice, "secret");
    await alice.waitForSync(secret, "all");
    const hiddenUntil = await control.nodeDown(2);
    await bobs.untilRevision(hiddenUntil);
    expect(shape(bobs.events)).toEqual([[T.SYNC_EVENT_TYPE_NODE_DOWN, 0, 2]]);
    expect(bobs.revisions).toEqual([hiddenUntil]);
    expect(hiddenUntil - from).toBeGreaterThanOrEqual(3);

    // A key created while node 2 is down is shared, then reaches node 2: bob sees the sharing and the replication.
    const later = await aesKey(alice, "later");
    await alice.waitForSync(later, 2);
    const shared = await alice.shareKey(later.keyHandle, [bob.userId!]);
    const upAt = await control.nodeUp(2);
    await alice.waitForSync(later, "all");
    const sharedWithBobAtCreation = await aesKey(alice, "for-bob", [bob.userId!]);
    await alice.waitForSync(sharedWithBobAtCreation, "all");
    const unshared = await alice.shareKey(later.keyHandle, [bob.userId!], false);
    const marker = await control.nodeDown(0);
    await control.nodeUp(0);
    await bobs.untilRevision(marker);
    const afterDown = bobs.events.filter((e) => Number(e.revision) > hiddenUntil && Number(e.revision) <= marker);
    expect(afterDown.map((e) => [e.type, e.keyHandle, Number(e.revision)])).toEqual([
      [T.SYNC_EVENT_TYPE_SHARING_CHANGED, later.keyHandle, Number(shared.revision)],
      [T.SYNC_EVENT_TYPE_NODE_UP, 0, upAt],
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, later.keyHandle, upAt + 1],
      [T.SYNC_EVENT_TYPE_KEY_CREATED, sharedWithBobAtCreation.keyHandle, Number(sharedWithBobAtCreation.revision)],
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, sharedWithBobAtCreation.keyHandle, Number(sharedWithBobAtCreation.revision) + 1],
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, sharedWithBobAtCreation.keyHandle, Number(sharedWithBobAtCreation.revision) + 2],
      // Losing the key is news to bob too.
      [T.SYNC_EVENT_TYPE_SHARING_CHANGED, later.keyHandle, Number(unshared.revision)],
      [T.SYNC_EVENT_TYPE_NODE_DOWN, 0, marker],
    ]);
    expect(bobs.events.some((e) => e.keyHandle === secret.keyHandle)).toBe(false);
  });

  test("session keys are seen only by their own session, also at logout (KEY_DELETED, the last thing its watch delivers)", async () => {
    const other = t.client();
    await other.login("alice", "password1");
    const { watch: own } = await watchFromNow(alice);
    const { watch: sibling } = await watchFromNow(other);
    const wrapping = await aesKey(alice, "wk");
    await alice.waitForSync(wrapping, "all");
    const sessionKey = await alice.importSymKey(randomBytes(16), { wrappingKey: wrapping.keyHandle, label: "s", session: true });
    expect(sessionKey.nodeStatuses).toHaveLength(1);
    await alice.logout();
    const marker = await control.nodeDown(1);
    await control.nodeUp(1);
    // The logged-out session's watch delivers its session key's removal, then ends; the other session goes on.
    const ownEnd = await own.ended;
    expect({ code: ownEnd.error && grpc.status[ownEnd.error.code], reason: ownEnd.error?.reason }).toEqual({ code: "UNAUTHENTICATED", reason: "UNAUTHENTICATED" });
    expect(own.revisions.every((r) => r < marker)).toBe(true);
    await sibling.untilRevision(marker);
    const sessionEvents = (w: WatchRecorder) => w.events.filter((e) => e.keyHandle === sessionKey.keyHandle).map((e) => [e.type, e.nodesHolding]);
    expect(sessionEvents(own)).toEqual([
      [T.SYNC_EVENT_TYPE_KEY_CREATED, 1],
      [T.SYNC_EVENT_TYPE_KEY_DELETED, 0],
    ]);
    expect(sessionEvents(sibling)).toEqual([]);
    // Alice's token key (the wrapping key) is seen by both of her sessions.
    const tokenEvents = (w: WatchRecorder) => w.events.filter((e) => e.keyHandle === wrapping.keyHandle).map((e) => [e.type, e.nodesHolding]);
    expect(tokenEvents(sibling)).toEqual([
      [T.SYNC_EVENT_TYPE_KEY_CREATED, 1],
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, 2],
      [T.SYNC_EVENT_TYPE_KEY_REPLICATED, 3],
    ]);
    expect(tokenEvents(own)).toEqual(tokenEvents(sibling));
  });
});

describe("progress", () => {
  beforeEach(() => start());

  test("progress messages come at the requested interval while nothing matches, with the revision everything up to was looked at", async () => {
    const quiet = await aesKey(alice, "quiet");
    await alice.waitForSync(quiet, "all");
    const w = fixture.watch(alice, { startRevision: 0, keyHandles: [quiet.keyHandle], progressIntervalMs: 50 });
    await w.until(() => w.progress.length >= 1, "a first progress message");
    const firstAt = Date.now();
    const upTo = await control.nodeDown(1).then(() => control.nodeUp(1));
    await w.until(() => w.progress.some((r) => r >= upTo), "progress covering the node events");
    const count = w.progress.length;
    await w.until(() => w.progress.length >= count + 3, "three more progress messages");
    const elapsed = Date.now() - firstAt;
    expect(w.events).toEqual([]);
    // Never backwards; at least the interval apart on average (timers never fire early by more than a tick).
    expect([...w.progress].sort((a, b) => a - b)).toEqual(w.progress);
    expect(elapsed).toBeGreaterThanOrEqual((w.progress.length - 1) * 50 - 25);
  });

  test("progress and events are in order: a progress revision covers every event before it and none after", async () => {
    const w = fixture.watch(alice, { startRevision: t.daemon.cluster.events.currentRevision + 1, progressIntervalMs: 20 });
    let last = 0;
    for (let round = 0; round < 4; round++) {
      last = await control.nodeDown(round % 3).then(() => control.nodeUp(round % 3));
      await w.until(() => w.progress.some((r) => r >= last), `progress after round ${round}`);
      burst(t.daemon.cluster, 10);
    }
    let high = 0;
    let progressSeen = 0;
    for (const m of w.messages) {
      if (m.message?.$case === "event") {
        const r = Number(m.message.value.revision);
        expect(r).toBeGreaterThan(high);
        high = r;
      } else if (m.message?.$case === "progress") {
        const r = Number(m.message.value.revision);
        expect(r).toBeGreaterThanOrEqual(high);
        high = r;
        progressSeen += 1;
      }
    }
    expect(progressSeen).toBeGreaterThanOrEqual(4);
    expect(w.revisions).toEqual(range(w.revisions[0]!, w.revisions[w.revisions.length - 1]!));
  });
});

describe("refusals", () => {
  beforeEach(() => start());

  test("no session: UNAUTHENTICATED; a progress interval below 10 ms or a negative start: INVALID_ARGUMENT / REQUEST_INVALID", async () => {
    const anonymous = fixture.watch(t.client(), {});
    const noAuth = await anonymous.ended;
    expect({ code: noAuth.error && grpc.status[noAuth.error.code], reason: noAuth.error?.reason }).toEqual({ code: "UNAUTHENTICATED", reason: "UNAUTHENTICATED" });
    const tooOften = await fixture.watch(alice, { progressIntervalMs: 5 }).ended;
    expect({ code: tooOften.error && grpc.status[tooOften.error.code], reason: tooOften.error?.reason }).toEqual({ code: "INVALID_ARGUMENT", reason: "REQUEST_INVALID" });
    const negative = await fixture.watch(alice, { startRevision: -1 }).ended;
    expect({ code: negative.error && grpc.status[negative.error.code], reason: negative.error?.reason }).toEqual({ code: "INVALID_ARGUMENT", reason: "REQUEST_INVALID" });
  });
});
