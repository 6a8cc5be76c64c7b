// A watcher's cursor over the revision log, without gRPC: where it starts, what it filters, when it sends
// progress, how it ends, and how it judges lag. Time is a FakeTime; nothing here sleeps.
import { ClusterEvent, EventAudience, NewEvent, RevisionLog } from "../../src/hsm/revisionLog";
import { SyncWatcher, WatchItem, WatchOptions } from "../../src/hsm/syncWatcher";
import { FakeTime } from "../support/fakeTime";
import { aliceWatchOptions, expectHsmErrorSync } from "./support/harness";

const ALICE = 1;
const BOB = 2;

function audience(ownerId: number, sharedWith: number[] = [], sessionId?: string): EventAudience {
  return { ownerId, sharedWith, sessionId };
}

function keyEvent(handle: number, nodeId: number, who: EventAudience = audience(ALICE)): NewEvent {
  return { kind: "KEY_REPLICATED", handle, nodeId, nodesHolding: 2, nodeCount: 3, atMs: 0, audience: who };
}

function nodeEvent(nodeId: number): NewEvent {
  return { kind: "NODE_DOWN", handle: 0, nodeId, nodesHolding: 0, nodeCount: 3, atMs: 0, audience: undefined };
}

/** What a cluster session of `userId` (and `sessionId`) may see, as HsmCluster.watch decides it. */
function seenBy(userId: number, sessionId = "s-1"): (e: ClusterEvent) => boolean {
  return (e) => {
    const a = e.audience;
    if (!a) return true;
    if (a.sessionId !== undefined && a.sessionId !== sessionId) return false;
    return a.ownerId === userId || a.sharedWith.includes(userId);
  };
}

interface Running {
  readonly watcher: SyncWatcher;
  readonly items: AsyncGenerator<WatchItem>;
  readonly abort: AbortController;
  /** The next item, or "done". */
  next(): Promise<WatchItem | "done">;
  /** The next `n` items. */
  take(n: number): Promise<WatchItem[]>;
}

class World {
  readonly log: RevisionLog;
  readonly time = new FakeTime(1_000_000);
  private readonly running: Running[] = [];

  constructor(capacity = 1000) {
    this.log = new RevisionLog(0, () => undefined, capacity);
  }

  /** Setting the time moves it without firing timers: a waiting watcher looks at it again at the next append. */
  get nowMs(): number {
    return this.time.now();
  }

  set nowMs(ms: number) {
    this.time.jump(ms - this.time.now());
  }

  append(...events: NewEvent[]): ClusterEvent[] {
    return this.log.append(events);
  }

  watch(options: Partial<WatchOptions> = {}): Running {
    // The progress interval never fires by itself; tests that want progress move `nowMs`.
    const watcher = new SyncWatcher(this.log, { ...aliceWatchOptions(this.time, 0, seenBy(ALICE)), ...options });
    const abort = new AbortController();
    const items = watcher.items(abort.signal);
    const next = async (): Promise<WatchItem | "done"> => {
      const r = await items.next();
      return r.done ? "done" : r.value;
    };
    const take = async (n: number): Promise<WatchItem[]> => {
      const out: WatchItem[] = [];
      for (let i = 0; i < n; i++) {
        const item = await next();
        if (item === "done") throw new Error(`the watcher ended after ${out.length} of ${n} items`);
        out.push(item);
      }
      return out;
    };
    const r = { watcher, items, abort, next, take };
    this.running.push(r);
    return r;
  }

  /** Ends every watcher so no timer or pending wait outlives the test. */
  async stop(): Promise<void> {
    for (const r of this.running) r.abort.abort();
    await Promise.all(this.running.map((r) => r.items.return(undefined)));
  }
}

function revisions(items: WatchItem[]): (number | string)[] {
  return items.flatMap((i): (number | string)[] => (i.kind === "event" ? [i.event.revision] : i.kind === "batch" ? i.events.map((e) => e.revision) : [`p${i.revision}`]));
}

/** Resolves `true` if `promise` settles within a few turns of the event loop, `false` if it is still pending. */
async function settlesSoon(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return settled;
}

describe("SyncWatcher", () => {
  let w: World;
  beforeEach(() => {
    w = new World();
  });
  afterEach(() => w.stop());

  test("start 0 means from now: only events after the current revision", async () => {
    w.append(keyEvent(6, 0), keyEvent(6, 1));
    const r = w.watch({ startRevision: 0 });
    w.append(keyEvent(6, 2));
    expect(revisions(await r.take(1))).toEqual([3]);
  });

  test("a past start revision is inclusive and replays everything from it in order", async () => {
    w.append(keyEvent(6, 0), nodeEvent(1), keyEvent(7, 0), keyEvent(6, 2));
    const r = w.watch({ startRevision: 2 });
    expect(revisions(await r.take(3))).toEqual([2, 3, 4]);
    w.append(keyEvent(8, 1));
    expect(revisions(await r.take(1))).toEqual([5]);
  });

  test("a future start revision waits until that revision exists and skips nothing from it on", async () => {
    w.append(nodeEvent(0));
    const r = w.watch({ startRevision: 4 });
    const first = r.next();
    w.append(nodeEvent(1), nodeEvent(2));
    expect(await settlesSoon(first)).toBe(false);
    w.append(keyEvent(9, 0), keyEvent(9, 1));
    const item = await first;
    expect(item !== "done" && item.kind === "event" && item.event.revision).toBe(4);
    expect(revisions(await r.take(1))).toEqual([5]);
  });

  test("a start at or below the compaction point fails WATCH_COMPACTED naming the compact revision", () => {
    const small = new World(5);
    small.append(...Array.from({ length: 12 }, (_, i) => nodeEvent(i % 3)));
    expect(small.log.compactRevision).toBe(7);
    const err = expectHsmErrorSync(() => small.watch({ startRevision: 7 }), "WATCH_COMPACTED");
    expect(err.details).toMatchObject({ compact_revision: 7, start_revision: 7 });
    expectHsmErrorSync(() => small.watch({ startRevision: 1 }), "WATCH_COMPACTED");
    expect(() => small.watch({ startRevision: 8 })).not.toThrow();
    return small.stop();
  });

  test("node and cluster events reach every watcher; key events only their owner and the users they are shared with", async () => {
    w.append(keyEvent(6, 0, audience(ALICE)), nodeEvent(1), keyEvent(7, 0, audience(ALICE, [BOB])), keyEvent(8, 0, audience(BOB)));
    const bob = w.watch({ startRevision: 1, canSee: seenBy(BOB) });
    const alice = w.watch({ startRevision: 1 });
    w.append(nodeEvent(2));
    expect(revisions(await bob.take(4))).toEqual([2, 3, 4, 5]);
    expect(revisions(await alice.take(4))).toEqual([1, 2, 3, 5]);
  });

  test("session-key events reach only their own session", async () => {
    w.append(keyEvent(6, 0, audience(ALICE, [], "s-1")), keyEvent(7, 0, audience(ALICE, [], "s-2")), nodeEvent(0));
    const mine = w.watch({ startRevision: 1, canSee: seenBy(ALICE, "s-1") });
    const other = w.watch({ startRevision: 1, canSee: seenBy(ALICE, "s-2") });
    expect(revisions(await mine.take(2))).toEqual([1, 3]);
    expect(revisions(await other.take(2))).toEqual([2, 3]);
  });

  test("a handle filter keeps only those keys' events and leaves node events out", async () => {
    w.append(keyEvent(6, 0), nodeEvent(1), keyEvent(7, 1), keyEvent(6, 2), keyEvent(8, 1));
    const r = w.watch({ startRevision: 1, handles: new Set([6, 8]) });
    expect(revisions(await r.take(3))).toEqual([1, 4, 5]);
  });

  test("a node filter keeps key and node events on those nodes", async () => {
    w.append(keyEvent(6, 0), nodeEvent(1), keyEvent(7, 1), keyEvent(6, 2), nodeEvent(2));
    const r = w.watch({ startRevision: 1, nodes: new Set([1]) });
    expect(revisions(await r.take(2))).toEqual([2, 3]);
    const both = w.watch({ startRevision: 1, nodes: new Set([2]), handles: new Set([6]) });
    expect(revisions(await both.take(1))).toEqual([4]);
  });

  test("replication pause and resume concern every node: any node filter passes them", async () => {
    const paused: NewEvent = { ...nodeEvent(0), kind: "REPLICATION_PAUSED" };
    const resumed: NewEvent = { ...nodeEvent(0), kind: "REPLICATION_RESUMED" };
    w.append(paused, nodeEvent(0), resumed);
    const r = w.watch({ startRevision: 1, nodes: new Set([2]) });
    expect(revisions(await r.take(2))).toEqual([1, 3]);
  });

  test("progress: after the interval without a matching event, a notice at the revision everything up to which was looked at", async () => {
    w.nowMs = 1_000;
    const r = w.watch({ startRevision: 1, handles: new Set([42]), progressIntervalMs: 50 });
    const first = r.next();
    // Three events that do not match; time passes the interval; the next append wakes the watcher.
    w.append(nodeEvent(0), keyEvent(6, 0), keyEvent(7, 1));
    expect(await settlesSoon(first)).toBe(false);
    w.nowMs += 50;
    w.append(keyEvent(8, 2));
    expect(revisions([(await first) as WatchItem])).toEqual(["p4"]);
    // A matching event comes in order after the notice and restarts the interval.
    w.append(keyEvent(42, 0));
    expect(revisions(await r.take(1))).toEqual([5]);
    const third = r.next();
    w.nowMs += 10;
    w.append(nodeEvent(1));
    expect(await settlesSoon(third)).toBe(false);
    w.nowMs += 40;
    w.append(nodeEvent(2));
    expect(revisions([(await third) as WatchItem])).toEqual(["p7"]);
  });

  test("no progress notice while matching events keep the stream busy", async () => {
    w.nowMs = 0;
    const r = w.watch({ startRevision: 1, progressIntervalMs: 50 });
    const got: WatchItem[] = [];
    for (let i = 0; i < 5; i++) {
      w.nowMs += 30;
      w.append(nodeEvent(i % 3));
      got.push(...(await r.take(1)));
    }
    expect(revisions(got)).toEqual([1, 2, 3, 4, 5]);
  });

  test("aborting ends a waiting watcher: its pending read finishes as done", async () => {
    const r = w.watch({ startRevision: 0 });
    const pending = r.next();
    expect(await settlesSoon(pending)).toBe(false);
    r.abort.abort();
    expect(await pending).toBe("done");
    w.append(nodeEvent(0));
    expect(await r.next()).toBe("done");
  });

  test("writers never wait for a watcher that does not read", () => {
    const r = w.watch({ startRevision: 0, maxLag: 5 });
    // Appends are synchronous and unaffected by a cursor that does not move.
    for (let i = 0; i < 100; i++) w.append(nodeEvent(i % 3));
    expect(w.log.currentRevision).toBe(100);
    expect(r.watcher.lag()).toBe(100);
  });

  test("lag: writers more than maxLag ahead of a blocked watcher is WATCHER_TOO_SLOW naming the next revision to read; exactly maxLag is fine", () => {
    const r = w.watch({ startRevision: 0, maxLag: 3 });
    const blockedAt = w.log.currentRevision;
    w.append(nodeEvent(0), nodeEvent(1), nodeEvent(2));
    expect(r.watcher.lag()).toBe(3);
    expect(() => r.watcher.checkKeepingUp(blockedAt)).not.toThrow();
    w.append(nodeEvent(0));
    const err = expectHsmErrorSync(() => r.watcher.checkKeepingUp(blockedAt), "WATCHER_TOO_SLOW");
    expect(err.details).toMatchObject({ resume_revision: 1, current_revision: 4, max_lag: 3 });
  });

  test("lag policy while blocked: ends with WATCHER_TOO_SLOW at the append that puts writers more than maxLag past where the client stopped", async () => {
    const r = w.watch({ startRevision: 0, maxLag: 3 });
    const blocked = new AbortController();
    const guard = r.watcher.failWhenTooFarBehind(blocked.signal);
    w.append(nodeEvent(0), nodeEvent(1));
    w.append(nodeEvent(2));
    expect(await settlesSoon(guard)).toBe(false);
    w.append(nodeEvent(0));
    await expect(guard).rejects.toMatchObject({ reason: "WATCHER_TOO_SLOW", details: { resume_revision: 1, current_revision: 4, max_lag: 3 } });
  });

  test("lag policy while blocked: settles once the client drains (abort), whatever is appended after", async () => {
    const r = w.watch({ startRevision: 0, maxLag: 3 });
    const blocked = new AbortController();
    const guard = r.watcher.failWhenTooFarBehind(blocked.signal);
    w.append(nodeEvent(0));
    expect(await settlesSoon(guard)).toBe(false);
    blocked.abort();
    await expect(guard).resolves.toBeUndefined();
    // Counted again from where the client stops next time, not from the first stop.
    w.append(nodeEvent(0), nodeEvent(1), nodeEvent(2));
    const again = new AbortController();
    const next = r.watcher.failWhenTooFarBehind(again.signal);
    expect(await settlesSoon(next)).toBe(false);
    again.abort();
    await expect(next).resolves.toBeUndefined();
  });

  test("lag policy while blocked: time alone never ends a blocked watcher (only appends and compaction do)", async () => {
    const r = w.watch({ startRevision: 0, maxLag: 3 });
    const blocked = new AbortController();
    const guard = r.watcher.failWhenTooFarBehind(blocked.signal);
    w.time.advance(3_600_000);
    expect(await settlesSoon(guard)).toBe(false);
    blocked.abort();
    await guard;
  });

  test("progress waits run on the injected timers: the interval passing (no append) brings the notice", async () => {
    // Ten minutes: only the fake timers can make that pass within the test.
    const r = w.watch({ startRevision: 0, handles: new Set([42]), progressIntervalMs: 600_000 });
    const first = r.next();
    expect(await settlesSoon(first)).toBe(false);
    w.time.advance(599_999);
    expect(await settlesSoon(first)).toBe(false);
    w.time.advance(1);
    expect(revisions([(await first) as WatchItem])).toEqual(["p0"]);
  });

  test("a watcher whose cursor was compacted away is too slow, even within maxLag", () => {
    const small = new World(4);
    const r = small.watch({ startRevision: 0, maxLag: 100 });
    small.append(...Array.from({ length: 6 }, (_, i) => nodeEvent(i % 3)));
    const err = expectHsmErrorSync(() => r.watcher.checkNotOvertaken(), "WATCHER_TOO_SLOW");
    expect(err.details).toMatchObject({ resume_revision: 1 });
    return small.stop();
  });

  test("a watcher that keeps reading while the ring wraps sees every revision exactly once", async () => {
    const small = new World(16);
    const r = small.watch({ startRevision: 0, maxLag: 12 });
    const seen: number[] = [];
    for (let round = 0; round < 20; round++) {
      small.append(...Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? nodeEvent(i % 3) : keyEvent(100 + round, i % 3))));
      for (const item of await r.take(10)) if (item.kind === "event") seen.push(item.event.revision);
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await small.stop();
  });

  // Resuming from resume_revision (or starting anywhere inside the ring) must work even though the backlog is
  // longer than maxLag: the lag rule ends only a watcher whose client stops reading.
  test("a watcher started (or resumed) further back than maxLag, inside the ring, delivers the backlog", async () => {
    w.append(...Array.from({ length: 50 }, (_, i) => nodeEvent(i % 3)));
    const r = w.watch({ startRevision: 11, maxLag: 20 });
    const items = await r.take(40);
    expect(revisions(items)).toEqual(Array.from({ length: 40 }, (_, i) => i + 11));
  });
});
