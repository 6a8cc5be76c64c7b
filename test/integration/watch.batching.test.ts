// WatchSyncStatus with max_events_per_response over real gRPC: batches carry exactly what one-by-one delivery
// carries, no more than asked per response, with the same filters, visibility, resume and refusals.
import * as grpc from "@grpc/grpc-js";
import { eventsIn, HsmClient, KEY_TYPE } from "../../clients";
import { burst } from "../support/clusterScript";
import { FakeTime } from "../support/fakeTime";
import { startTestDaemon, TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";
import { range, turn, WatchRecorder } from "../support/watchRecorder";

let t: TestDaemon;
let alice: HsmClient;
const fixture = useDaemonFixture();

async function start(options: Parameters<typeof startTestDaemon>[0] = {}): Promise<void> {
  ({ t, alice } = await fixture.start(options));
}

/** The batch responses of a recorder, as event counts. */
function batchSizes(w: WatchRecorder): number[] {
  return w.messages.filter((m) => m.message?.$case === "batch").map((m) => eventsIn(m).length);
}

describe("batched watching", () => {
  beforeEach(() => start());

  test("a batched watcher gets every field of every event a one-by-one watcher gets, in batches of at most the maximum", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    const key = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "batched" });
    await alice.waitForSync(key, "all");
    const last = burst(t.daemon.cluster, 40);
    const single = fixture.watch(alice, { startRevision: from });
    const batched = fixture.watch(alice, { startRevision: from, maxEventsPerResponse: 7 });
    await Promise.all([single.untilRevision(last), batched.untilRevision(last)]);

    expect(batched.revisions).toEqual(range(from, last));
    expect(batched.events).toEqual(single.events);
    expect(single.messages.every((m) => m.message?.$case === "event" || m.message?.$case === "progress")).toBe(true);
    const sizes = batchSizes(batched);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(last - from + 1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
    // The backlog of 43 events comes in full batches: 6 of 7 and one of 1.
    expect(sizes).toEqual([7, 7, 7, 7, 7, 7, 1]);
  });

  test("filters and visibility apply to batches exactly as to single events", async () => {
    const bob = await t.loggedInCu("bob");
    const from = t.daemon.cluster.events.currentRevision + 1;
    const mine = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "mine" });
    const other = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "other" });
    await alice.waitForSync(mine, "all");
    await alice.waitForSync(other, "all");
    const last = burst(t.daemon.cluster, 2);
    const request = { startRevision: from, keyHandles: [mine.keyHandle] };
    const single = fixture.watch(alice, request);
    const batched = fixture.watch(alice, { ...request, maxEventsPerResponse: 100 });
    const bobs = fixture.watch(bob, { startRevision: from, maxEventsPerResponse: 100 });
    const nodeOnly = fixture.watch(alice, { startRevision: from, nodeIds: [1], maxEventsPerResponse: 100 });
    const nodeOnlySingle = fixture.watch(alice, { startRevision: from, nodeIds: [1] });
    await Promise.all([single, batched, bobs, nodeOnly, nodeOnlySingle].map((w) => w.untilRevision(last)));

    expect(batched.events).toEqual(single.events);
    expect(batched.events.every((e) => e.keyHandle === mine.keyHandle)).toBe(true);
    expect(batched.events).toHaveLength(3);
    // Bob sees neither of alice's keys, only the two cluster-wide events.
    expect(bobs.events.map((e) => e.keyHandle)).toEqual([0, 0]);
    expect(nodeOnly.events).toEqual(nodeOnlySingle.events);
  });

  test("resuming after the last event of a batch continues without a gap or a repeat", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    const middle = burst(t.daemon.cluster, 20);
    const first = fixture.watch(alice, { startRevision: from, maxEventsPerResponse: 8 });
    await first.untilRevision(middle);
    await first.cancel();
    const resumeAt = first.revisions[first.revisions.length - 1]! + 1;
    const last = burst(t.daemon.cluster, 20);
    const second = fixture.watch(alice, { startRevision: resumeAt, maxEventsPerResponse: 8 });
    await second.untilRevision(last);
    expect([...first.revisions, ...second.revisions]).toEqual(range(from, last));
  });

  test("max_events_per_response above 4096: INVALID_ARGUMENT / REQUEST_INVALID naming the field; 0 and 1 mean one event per response", async () => {
    const refused = await fixture.watch(alice, { maxEventsPerResponse: 4097 }).ended;
    expect({ code: refused.error && grpc.status[refused.error.code], reason: refused.error?.reason, field: refused.error?.metadata["field"] }).toEqual({
      code: "INVALID_ARGUMENT",
      reason: "REQUEST_INVALID",
      field: "max_events_per_response",
    });
    const from = t.daemon.cluster.events.currentRevision + 1;
    const last = burst(t.daemon.cluster, 4);
    for (const max of [0, 1]) {
      const w = fixture.watch(alice, { startRevision: from, maxEventsPerResponse: max });
      await w.untilRevision(last);
      expect(w.messages.filter((m) => m.message?.$case === "event")).toHaveLength(4);
      expect(batchSizes(w)).toEqual([]);
    }
  });

  test("the client facade: fixture.watch() with maxEventsPerResponse, read with eventsIn", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    const last = burst(t.daemon.cluster, 30);
    const seen: number[] = [];
    for await (const response of alice.watch({ startRevision: from, maxEventsPerResponse: 64 })) {
      seen.push(...eventsIn(response).map((e) => Number(e.revision)));
      if (seen.length >= last - from + 1) break;
    }
    expect(seen).toEqual(range(from, last));
  });
});

describe("the batch interval (--watch-batch-ms)", () => {
  const time = new FakeTime();
  beforeEach(() => start({ clock: time, timers: time, watch: { batchIntervalMs: 250 } }));

  test("appends that reach a caught-up batched watcher between two ticks come in one response at the tick", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    const w = fixture.watch(alice, { startRevision: from, maxEventsPerResponse: 100 });
    const first = burst(t.daemon.cluster, 2);
    time.advance(250);
    await w.untilRevision(first);
    // The daemon wrote that batch and then waited for the next tick: two separate appends wait with it.
    burst(t.daemon.cluster, 4);
    await turn();
    const last = burst(t.daemon.cluster, 4);
    await turn();
    expect(w.delivered).toBe(first);
    time.advance(250);
    await w.untilRevision(last);
    expect(batchSizes(w).slice(-1)).toEqual([last - first]);
    expect(w.revisions).toEqual(range(from, last));
  });
});
