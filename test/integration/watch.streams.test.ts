// WatchSyncStatus streams under stress, after etcd's watch tests: cancel mid-stream, many watchers seeing one
// sequence, cancel racing with arriving events, a ring that wraps under a watcher that keeps up, resuming on a
// new connection, and daemon shutdown ending every stream.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ClusterControlClient, HsmClient, HsmClientError, KEY_TYPE } from "../../clients";
import { burst } from "../support/clusterScript";
import { startTestDaemon, TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";
import { range, turn, WatchRecorder } from "../support/watchRecorder";

let t: TestDaemon;
let alice: HsmClient;
let control: ClusterControlClient;
const fixture = useDaemonFixture();

/** A second channel to the daemon, closed after the test. */
function channel(): HsmClient {
  return fixture.channel();
}

async function start(options: Parameters<typeof startTestDaemon>[0] = {}): Promise<void> {
  ({ t, alice, control } = await fixture.start(options));
}

const isWatchLine = (l: Record<string, unknown>): boolean => l.message === "call" && l.method === "WatchSyncStatus";

function statusOf(end: { error: HsmClientError | undefined }): { code: string; reason: string | undefined } {
  return { code: end.error ? grpc.status[end.error.code] : "OK", reason: end.error?.reason };
}

/** Unexpected failures the daemon logged (stack traces of bugs); there must be none. */
function unexpectedFailures(): Record<string, unknown>[] {
  return t.logs.filter((l) => l.message === "unexpected failure" || l.level === "error");
}

describe("ending a stream from the client", () => {
  beforeEach(() => start());

  test("aborting the facade's watch mid-stream ends the loop quietly; the daemon logs CANCELLED", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    burst(t.daemon.cluster, 20);
    const abort = new AbortController();
    const seen: number[] = [];
    for await (const m of alice.watch({ startRevision: from, signal: abort.signal })) {
      if (m.message?.$case === "event") seen.push(Number(m.message.value.revision));
      if (seen.length === 5) abort.abort();
    }
    expect(seen.slice(0, 5)).toEqual(range(from, from + 4));
    const line = await t.waitForLog(isWatchLine);
    expect(line.status).toBe("CANCELLED");
  });

  test("cancelling a raw call mid-stream ends it CANCELLED; the daemon keeps serving", async () => {
    const w = fixture.watch(alice, { startRevision: t.daemon.cluster.events.currentRevision + 1 });
    const last = burst(t.daemon.cluster, 20);
    await w.untilRevision(last - 10);
    const end = await w.cancel();
    expect(statusOf(end).code).toBe("CANCELLED");
    expect((await t.waitForLog(isWatchLine)).status).toBe("CANCELLED");
    const after = fixture.watch(alice, { startRevision: last - 5 });
    await after.untilRevision(last);
    expect(after.revisions).toEqual(range(last - 5, last));
  });
});

describe("an already aborted signal", () => {
  beforeEach(() => start());

  // An already aborted signal ends the watch before any call is made.
  test("a watch given an already aborted signal ends at once, without events", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    burst(t.daemon.cluster, 4);
    const iterator = alice.watch({ startRevision: from, signal: AbortSignal.abort() });
    try {
      expect((await iterator.next()).done).toBe(true);
    } finally {
      await iterator.return(undefined);
    }
  });
});

describe("many watchers", () => {
  beforeEach(() => start());

  test("50 watchers on 5 connections see exactly the same sequence", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    const channels = Array.from({ length: 5 }, () => channel());
    const watchers = Array.from({ length: 50 }, (_, i) => fixture.watch(channels[i % 5]!, { startRevision: from }, { metadata: alice.metadata() }));
    const wrappingKey = await alice.createWrappingKey();
    const creations = [];
    for (let i = 0; i < 8; i++) {
      creations.push(await alice.importSymKey(randomBytes(16), { wrappingKey, label: `many-${i}` }));
      if (i === 3) await control.nodeDown(2);
    }
    await control.nodeUp(2);
    for (const c of creations) await alice.waitForSync(c, "all");
    const marker = await control.partition(0).then(() => control.nodeUp(0));
    await Promise.all(watchers.map((w) => w.untilRevision(marker)));
    const reference = watchers[0]!.events.filter((e) => Number(e.revision) <= marker);
    expect(reference.map((e) => Number(e.revision))).toEqual(range(from, marker));
    for (const w of watchers) expect(w.events.filter((e) => Number(e.revision) <= marker)).toEqual(reference);
  });
});

describe("cancel racing with arriving events", () => {
  beforeEach(() => start());

  test("40 watches cancelled right as events arrive: no crash, every stream ended on the server, daemon healthy", async () => {
    const rounds = 40;
    const ends: Promise<{ error: HsmClientError | undefined }>[] = [];
    for (let i = 0; i < rounds; i++) {
      const c = i % 4 === 0 ? channel() : alice;
      const w = WatchRecorder.open(c, { startRevision: Math.max(1, t.daemon.cluster.events.currentRevision - 5) }, { metadata: alice.metadata() });
      const cancel = (): void => {
        w.call.cancel();
        if (c !== alice) c.close();
      };
      if (i % 2 === 0) {
        // Cancelled on the first event, while the rest of the burst is being written to it.
        void w.until(() => w.events.length > 0, "first event").then(cancel, () => undefined);
      } else {
        // Cancelled one turn later: before, during or after the server's first writes.
        setImmediate(cancel);
      }
      burst(t.daemon.cluster, 30);
      ends.push(w.ended);
      if (i % 8 === 0) await turn();
    }
    const outcomes = await Promise.all(ends);
    expect(outcomes.map((o) => statusOf(o).code).filter((c) => c !== "CANCELLED")).toEqual([]);
    // The server noticed every cancellation: one CANCELLED line per stream.
    await t.waitForLog(isWatchLine, rounds);

    // Still healthy: a new watch and a unary call work.
    const w = WatchRecorder.open(alice, { startRevision: t.daemon.cluster.events.currentRevision + 1 });
    const created = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "after-the-race" });
    await w.untilRevision(Number(created.revision));
    expect(w.events[0]!.keyHandle).toBe(created.keyHandle);
    await w.cancel();
    await t.waitForLog(isWatchLine, rounds + 1);

    // No stream was left open by the race: shutdown finds none to end, well within the grace period.
    await t.daemon.shutdown();
    const lines = t.logs.filter(isWatchLine);
    expect(lines).toHaveLength(rounds + 1);
    expect(lines.filter((l) => l.status !== "CANCELLED")).toEqual([]);
    expect(t.logs.filter((l) => String(l.message).includes("grace period"))).toEqual([]);
    expect(unexpectedFailures()).toEqual([]);
  });
});

describe("the ring wraps under a watcher that keeps up", () => {
  beforeEach(() => start({ eventCapacity: 100, watch: { maxLag: 60 } }));

  test("600 events through a 100-event ring: every revision exactly once, in order", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    const w = fixture.watch(alice, { startRevision: from });
    const wrappingKey = await alice.createWrappingKey();
    let last = 0;
    for (let round = 0; round < 30; round++) {
      last = burst(t.daemon.cluster, 20);
      if (round % 10 === 0) last = Number((await alice.importSymKey(randomBytes(16), { wrappingKey, label: `wrap-${round}` })).revision);
      await w.untilRevision(last);
    }
    expect(t.daemon.cluster.events.compactRevision).toBeGreaterThan(from + 400);
    const upTo = w.revisions.filter((r) => r <= last);
    expect(upTo).toEqual(range(from, last));
    expect(new Set(w.revisions).size).toBe(w.revisions.length);
  });
});

describe("resuming after a dropped connection", () => {
  beforeEach(() => start());

  test("a new connection resuming from last seen + 1 continues without gap or duplicate", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    const first = channel();
    const a = WatchRecorder.open(first, { startRevision: from }, { metadata: alice.metadata() });
    const wrappingKey = await alice.createWrappingKey();
    // Writers keep going while the connection drops.
    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing) {
        burst(t.daemon.cluster, 6);
        if (i++ % 5 === 0) await alice.importSymKey(randomBytes(16), { wrappingKey, label: `resume-${i}` });
        await turn();
      }
    })();
    await a.until(() => a.events.length >= 100, "100 events on the first connection");
    // Closing a grpc-js channel leaves calls running; dropping the connection is cancel + close.
    a.call.cancel();
    first.close();
    await a.ended;
    const lastSeen = a.revisions[a.revisions.length - 1]!;
    const second = channel();
    const b = fixture.watch(second, { startRevision: lastSeen + 1 }, { metadata: alice.metadata() });
    await b.until(() => b.events.length >= 100, "100 events on the second connection");
    writing = false;
    await writer;
    const marker = await control.nodeDown(1).then(() => control.nodeUp(1));
    await b.untilRevision(marker);
    const union = [...a.revisions, ...b.revisions.filter((r) => r <= marker)];
    expect(union).toEqual(range(from, marker));
  });
});

describe("daemon shutdown", () => {
  beforeEach(() => start());

  test("shutdown ends every stream UNAVAILABLE / SHUTTING_DOWN, also one whose client is not reading", async () => {
    const from = t.daemon.cluster.events.currentRevision + 1;
    const active = fixture.watch(alice, { startRevision: from });
    const other = channel();
    const stalled = fixture.watch(other, { startRevision: from }, { metadata: alice.metadata() });
    const last = burst(t.daemon.cluster, 10);
    await Promise.all([active.untilRevision(last), stalled.untilRevision(last)]);
    stalled.pause();
    burst(t.daemon.cluster, 100);
    let facadeStarted!: () => void;
    const facadeRunning = new Promise<void>((resolve) => (facadeStarted = resolve));
    const facade = (async () => {
      for await (const _ of alice.watch({ startRevision: from })) facadeStarted();
    })();
    const facadeEnd = facade.then(
      () => undefined,
      (err: unknown) => err,
    );
    await facadeRunning;
    await active.untilRevision(last + 100);
    const stopping = t.daemon.shutdown();
    stalled.resume();
    const [a, s, f] = await Promise.all([active.ended, stalled.ended, facadeEnd]);
    expect(statusOf(a)).toEqual({ code: "UNAVAILABLE", reason: "SHUTTING_DOWN" });
    expect(statusOf(s)).toEqual({ code: "UNAVAILABLE", reason: "SHUTTING_DOWN" });
    expect(f).toBeInstanceOf(HsmClientError);
    expect({ code: grpc.status[(f as HsmClientError).code], reason: (f as HsmClientError).reason }).toEqual({ code: "UNAVAILABLE", reason: "SHUTTING_DOWN" });
    // The stalled watcher got everything up to where it was ended, in order.
    expect(stalled.revisions).toEqual(range(from, stalled.revisions[stalled.revisions.length - 1]!));
    await stopping;
    expect(t.logs.filter(isWatchLine).map((l) => l.reason)).toEqual(["SHUTTING_DOWN", "SHUTTING_DOWN", "SHUTTING_DOWN"]);
  });
});
