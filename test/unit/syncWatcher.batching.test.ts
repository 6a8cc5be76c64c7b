// Batched watching (max_events_per_response > 1) without gRPC: the same events as one-by-one, in batches no larger
// than asked, at most one batch per tick once caught up, scans shared by watchers with one view. Fake time; no sleeps.
import fc from "fast-check";
import { HsmError } from "../../src/hsm/errors";
import { ClusterEvent, EventAudience, NewEvent, RevisionLog } from "../../src/hsm/revisionLog";
import { SharedScans } from "../../src/hsm/sharedScans";
import { SyncWatcher, WatchItem, WatchOptions } from "../../src/hsm/syncWatcher";
import { WatchTicker } from "../../src/hsm/watchTicker";
import { FakeTime } from "../support/fakeTime";
import { aliceWatchOptions } from "./support/harness";

const ALICE = 1;
const BOB = 2;
const TICK = 20;

function keyEvent(handle: number, nodeId: number, ownerId = ALICE): NewEvent {
  const audience: EventAudience = { ownerId, sharedWith: [], sessionId: undefined };
  return { kind: "KEY_REPLICATED", handle, nodeId, nodesHolding: 2, nodeCount: 3, atMs: 0, audience };
}

function nodeEvent(nodeId: number): NewEvent {
  return { kind: "NODE_DOWN", handle: 0, nodeId, nodesHolding: 0, nodeCount: 3, atMs: 0, audience: undefined };
}

const seenBy =
  (userId: number) =>
  (e: ClusterEvent): boolean =>
    !e.audience || e.audience.ownerId === userId || e.audience.sharedWith.includes(userId);

/** Lets the watcher's promise chain run. */
const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

class World {
  readonly time = new FakeTime(1_000_000);
  readonly log = new RevisionLog(0, () => undefined, 100_000);
  readonly ticker = new WatchTicker(this.log, this.time, TICK);
  readonly scans = new SharedScans();
  private readonly aborts: AbortController[] = [];
  private readonly generators: AsyncGenerator<WatchItem>[] = [];

  /** A watcher from revision 1 for alice; maxEvents 1 watches one event at a time (no batching). */
  watch(maxEvents: number, options: Partial<WatchOptions> = {}): { watcher: SyncWatcher; items: AsyncGenerator<WatchItem>; abort: AbortController } {
    const watcher = new SyncWatcher(this.log, {
      ...aliceWatchOptions(this.time, 1, seenBy(ALICE)),
      ...(maxEvents > 1 ? { batching: { maxEvents, ticker: this.ticker, scans: this.scans } } : {}),
      ...options,
    });
    const abort = new AbortController();
    const items = watcher.items(abort.signal);
    this.aborts.push(abort);
    this.generators.push(items);
    return { watcher, items, abort };
  }

  async stop(): Promise<void> {
    for (const a of this.aborts) a.abort();
    await Promise.all(this.generators.map((g) => g.return(undefined)));
  }
}

function batchOf(item: WatchItem | undefined): readonly ClusterEvent[] {
  if (item?.kind !== "batch") throw new Error(`expected a batch, got ${JSON.stringify(item)}`);
  return item.events;
}

describe("SyncWatcher with batching", () => {
  let w: World;
  beforeEach(() => (w = new World()));
  afterEach(() => w.stop());

  test("a backlog comes in full batches, back to back, then the remainder", async () => {
    w.log.append(Array.from({ length: 10 }, (_, i) => keyEvent(100 + i, i % 3)));
    const { items } = w.watch(4);
    const sizes: number[] = [];
    const revisions: number[] = [];
    for (let i = 0; i < 3; i++) {
      const events = batchOf((await items.next()).value as WatchItem);
      sizes.push(events.length);
      revisions.push(...events.map((e) => e.revision));
    }
    expect(sizes).toEqual([4, 4, 2]);
    expect(revisions).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test("once caught up, appends between ticks arrive together in one batch at the tick", async () => {
    const { items } = w.watch(100);
    w.log.append([keyEvent(1, 0)]);
    let next = items.next();
    await turns();
    w.time.advance(TICK);
    expect(batchOf((await next).value as WatchItem).map((e) => e.revision)).toEqual([1]);

    next = items.next();
    w.log.append([keyEvent(1, 1)]);
    await turns();
    w.log.append([keyEvent(1, 2)]);
    await turns();
    let settled = false;
    void next.then(() => (settled = true));
    await turns();
    expect(settled).toBe(false);
    w.time.advance(TICK);
    expect(batchOf((await next).value as WatchItem).map((e) => e.revision)).toEqual([2, 3]);
  });

  test("watchers with one view share the scan: the very same event list", async () => {
    w.log.append([keyEvent(5, 0), nodeEvent(1), keyEvent(6, 2)]);
    const a = w.watch(50);
    const b = w.watch(50);
    const first = batchOf((await a.items.next()).value as WatchItem);
    const second = batchOf((await b.items.next()).value as WatchItem);
    expect(second).toBe(first);
    expect(a.watcher.viewKey).toBe(b.watcher.viewKey);
  });

  test("views that differ in user, filter or batch size do not share", () => {
    const base = w.watch(50).watcher.viewKey;
    expect(w.watch(51).watcher.viewKey).not.toBe(base);
    expect(w.watch(50, { viewer: "bob", canSee: seenBy(BOB) }).watcher.viewKey).not.toBe(base);
    expect(w.watch(50, { handles: new Set([5]) }).watcher.viewKey).not.toBe(base);
    expect(w.watch(50, { nodes: new Set([1]) }).watcher.viewKey).not.toBe(base);
  });

  test("progress: an idle batched watcher gets a notice once the interval passes", async () => {
    const { items } = w.watch(10, { handles: new Set([42]), progressIntervalMs: 50 });
    const next = items.next();
    w.log.append([keyEvent(6, 0), nodeEvent(1)]);
    await turns();
    w.time.advance(50);
    w.log.append([keyEvent(7, 0)]);
    await turns();
    w.time.advance(TICK);
    expect((await next).value).toEqual({ kind: "progress", revision: 3 });
  });

  test("aborting ends a batched watcher that waits for a tick, and leaves no waiter on the ticker", async () => {
    const { items, abort } = w.watch(10, { startRevision: 0 });
    const next = items.next();
    await turns();
    expect(w.ticker.waiterCount).toBe(1);
    abort.abort();
    expect((await next).done).toBe(true);
    expect(w.ticker.waiterCount).toBe(0);
  });

  test("a watch from a future revision holds one ticker waiter however long the log grows toward it", async () => {
    const { items } = w.watch(10, { startRevision: 10_000 });
    const next = items.next();
    for (let i = 0; i < 50; i++) {
      w.log.append([nodeEvent(i % 3)]);
      await turns(2);
      w.time.advance(TICK);
      await turns(2);
    }
    expect(w.ticker.waiterCount).toBe(1);
    void next;
  });

  test("a backlog whose few matches are spread thinly is read to the head at once, not one scan per tick", async () => {
    // 20,000 revisions, one in 100 alice's key 7: every scan of 4,096 revisions finds ~41.
    w.log.append(Array.from({ length: 20_000 }, (_, i) => keyEvent(i % 100 === 0 ? 7 : 8, 0, i % 100 === 0 ? ALICE : BOB)));
    const { items } = w.watch(4096, { handles: new Set([7]) });
    const got: number[] = [];
    while (got.length < 200) got.push(...batchOf((await items.next()).value as WatchItem).map((e) => e.revision));
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i * 100 + 1));
  });

  test("property: batched delivery is exactly the one-by-one delivery, cut into batches of at most max", async () => {
    const event = fc.oneof(
      fc.record({ handle: fc.integer({ min: 1, max: 6 }), node: fc.integer({ min: 0, max: 2 }), owner: fc.constantFrom(ALICE, BOB) }).map((e) => keyEvent(e.handle, e.node, e.owner)),
      fc.integer({ min: 0, max: 2 }).map(nodeEvent),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(event, { minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 2, max: 9 }),
        fc.option(fc.integer({ min: 1, max: 6 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
        async (appends, maxEvents, handle, node) => {
          const world = new World();
          const filters: Partial<WatchOptions> = {
            ...(handle !== undefined ? { handles: new Set([handle]) } : {}),
            ...(node !== undefined ? { nodes: new Set([node]) } : {}),
          };
          try {
            const oneByOne = world.watch(1, filters);
            const batched = world.watch(maxEvents, filters);
            for (const events of appends) world.log.append(events);
            // Expected: what an unbatched watcher delivers, read until the head.
            const expected: number[] = [];
            const unbatched = oneByOne.items;
            const head = world.log.currentRevision;
            const wanted = world.log.readFrom(1, head).filter((e) => (node === undefined || e.nodeId === node) && (e.audience ? handle === undefined || e.handle === handle : handle === undefined) && seenBy(ALICE)(e)).length;
            while (expected.length < wanted) {
              const item = (await unbatched.next()).value as WatchItem;
              if (item.kind === "event") expected.push(item.event.revision);
            }

            const got: number[] = [];
            while (got.length < expected.length) {
              const pending = batched.items.next();
              await turns(2);
              world.time.advance(TICK);
              const events = batchOf((await pending).value as WatchItem);
              expect(events.length).toBeGreaterThan(0);
              expect(events.length).toBeLessThanOrEqual(maxEvents);
              got.push(...events.map((e) => e.revision));
            }
            expect(got).toEqual(expected);
          } finally {
            await world.stop();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("finishAt (the watch's session ended)", () => {
  let w: World;
  beforeEach(() => (w = new World()));
  afterEach(() => w.stop());

  test.each([1, 50])("max %i: delivers what matched up to the final revision, nothing after, then throws the reason", async (maxEvents) => {
    const reason = new HsmError("UNAUTHENTICATED", "logged out");
    const { watcher, items } = w.watch(maxEvents);
    w.log.append([keyEvent(1, 0), keyEvent(1, 1)]);
    const got: number[] = [];
    const first = items.next();
    await turns();
    w.time.advance(TICK);
    const item = (await first).value as WatchItem;
    got.push(...(item.kind === "event" ? [item.event.revision] : batchOf(item).map((e) => e.revision)));
    // The session ends at revision 3 (its session key deleted); revision 4 comes after.
    w.log.append([keyEvent(9, 0)]);
    watcher.finishAt(3, reason);
    w.log.append([keyEvent(1, 2)]);
    let thrown: unknown;
    for (;;) {
      // Settled at once into a value, so a rejection is never unhandled while time moves.
      const next = items.next().then(
        (r) => ({ r, err: undefined }),
        (err: unknown) => ({ r: undefined, err }),
      );
      await turns();
      w.time.advance(TICK);
      const { r, err } = await next;
      if (!r) {
        thrown = err;
        break;
      }
      if (r.done) break;
      const i = r.value;
      got.push(...(i.kind === "event" ? [i.event.revision] : i.kind === "batch" ? i.events.map((e) => e.revision) : []));
    }
    expect(thrown).toBe(reason);
    expect(got).toEqual([1, 2, 3]);
  });

  test.each([
    ["a caught-up watcher", false],
    // The session's end appends what the watcher does not match (its session key 200 deleted).
    ["a watcher whose filter matches nothing after its last batch", true],
  ])("%s, waiting for events, ends at once", async (_name, unmatchedAtEnd) => {
    const { watcher, items } = w.watch(10, { handles: new Set([100]) });
    w.log.append([keyEvent(100, 0)]);
    const first = items.next();
    await turns();
    w.time.advance(TICK);
    await first;
    const waiting = items.next().then(
      () => undefined,
      (err: unknown) => err,
    );
    await turns();
    if (unmatchedAtEnd) w.log.append([keyEvent(200, 0)]);
    const reason = new HsmError("SESSION_EXPIRED", "expired");
    watcher.finishAt(w.log.currentRevision, reason);
    expect(await waiting).toBe(reason);
  });
});
