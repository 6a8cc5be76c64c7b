// Limits that keep one client from holding the daemon's resources: watches per login session, HTTP/2 streams per
// connection, and connections that never speak HTTP/2, sit idle, or stop answering pings.
import * as grpc from "@grpc/grpc-js";
import { HsmClient } from "../../clients";
import { burst } from "../support/clusterScript";
import { FRAME, RawHttp2Peer, REFUSED_STREAM } from "../support/rawHttp2";
import { startTestDaemon, TestDaemon } from "../support/testDaemon";
import { WatchRecorder } from "../support/watchRecorder";

const WATCH_PATH = "/localcloudhsm.v1.HsmService/WatchSyncStatus";

function portOf(t: TestDaemon): number {
  return Number(t.address.slice(t.address.lastIndexOf(":") + 1));
}

describe("watches per session (default 64)", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  const open: WatchRecorder[] = [];

  beforeAll(async () => {
    t = await startTestDaemon();
    alice = await t.loggedInCu("alice");
  });
  afterAll(async () => {
    for (const w of open.splice(0)) await w.cancel();
    await t.close();
  });

  /** Opens `count` watches and resolves once each has delivered an event (so each holds its slot). */
  async function runningWatches(client: HsmClient, count: number): Promise<WatchRecorder[]> {
    const from = t.daemon.cluster.events.currentRevision + 1;
    const watches = Array.from({ length: count }, () => WatchRecorder.open(client, { startRevision: from }));
    open.push(...watches);
    const last = burst(t.daemon.cluster, 2);
    await Promise.all(watches.map((w) => w.untilRevision(last)));
    return watches;
  }

  const endedCalls = (status: string): number => t.logs.filter((l) => l.message === "call" && l.method === "WatchSyncStatus" && l.status === status).length;

  test("the 65th watch of a session is refused with RESOURCE_EXHAUSTED / TOO_MANY_WATCHES; ending one frees its slot", async () => {
    const watches = await runningWatches(alice, 64);

    const refused = WatchRecorder.open(alice, { startRevision: 0 });
    const end = await refused.ended;
    expect({ code: end.error && grpc.status[end.error.code], reason: end.error?.reason, max: end.error?.metadata.max_watches }).toEqual({
      code: "RESOURCE_EXHAUSTED",
      reason: "TOO_MANY_WATCHES",
      max: "64",
    });
    // The 64 go on.
    const next = burst(t.daemon.cluster, 2);
    await Promise.all(watches.map((w) => w.untilRevision(next)));

    // One ends; once the daemon has finished it (its call line), a new watch gets the slot.
    const cancelledBefore = endedCalls("CANCELLED");
    open.splice(open.indexOf(watches[0]!), 1);
    await watches[0]!.cancel();
    await t.waitForLog((l) => l.message === "call" && l.method === "WatchSyncStatus" && l.status === "CANCELLED", cancelledBefore + 1);
    const [replacement] = await runningWatches(alice, 1);
    expect(replacement!.revisions.length).toBeGreaterThan(0);

    // The cap is per session: another login of the same user may still watch.
    const second = t.client();
    await second.login("alice", "password1");
    await runningWatches(second, 1);
  });
});

describe("HTTP/2 connection limits", () => {
  let t: TestDaemon;
  const peers: RawHttp2Peer[] = [];

  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    await t.close();
  });

  async function peer(): Promise<RawHttp2Peer> {
    const p = await RawHttp2Peer.connect(portOf(t));
    peers.push(p);
    return p;
  }

  test("a TCP connection that never sends the HTTP/2 preface is closed (GOAWAY) after --connection-idle-ms", async () => {
    t = await startTestDaemon({ http2: { connectionIdleMs: 200 } });
    const silent = await peer();
    await silent.closed;
    expect(silent.frames.map((f) => f.type)).toContain(FRAME.GOAWAY);
  });

  test("an HTTP/2 connection with no call open is closed after --connection-idle-ms", async () => {
    t = await startTestDaemon({ http2: { connectionIdleMs: 200 } });
    const idle = await peer();
    await idle.handshake();
    await idle.closed;
    expect(idle.frames.map((f) => f.type)).toContain(FRAME.GOAWAY);
  });

  test("a connection with a call open that stops answering pings is closed after --keepalive-ms + --keepalive-timeout-ms", async () => {
    t = await startTestDaemon({ http2: { connectionIdleMs: 3_600_000, keepaliveMs: 100, keepaliveTimeoutMs: 100 } });
    const deaf = await peer();
    await deaf.handshake();
    // A half-open call keeps the connection from being idle; only the unanswered ping can end it.
    deaf.openStream(1, WATCH_PATH);
    await deaf.closed;
    expect(deaf.frames.some((f) => f.type === FRAME.PING && (f.flags & 0x1) === 0)).toBe(true);
  });

  test("the daemon announces --max-concurrent-streams; a client that ignores it after acknowledging loses the connection, its extra stream unprocessed", async () => {
    const cap = 4;
    t = await startTestDaemon({ http2: { maxConcurrentStreams: cap } });
    const greedy = await peer();
    await greedy.handshake();
    expect(greedy.announcedMaxConcurrentStreams()).toBe(cap);
    // cap + 1 half-open calls (headers, never a message): stream ids 1, 3, ..., 9.
    const ids = Array.from({ length: cap + 1 }, (_, i) => 2 * i + 1);
    for (const id of ids) greedy.openStream(id, WATCH_PATH);
    await greedy.closed;
    // The GOAWAY names the last stream the daemon took up: never the one past the cap.
    expect(greedy.goaway()!.lastStreamId).toBeLessThan(ids[cap]!);
    expect(greedy.frames.filter((f) => f.streamId === ids[cap]!)).toEqual([]);
  });

  test("streams past --max-concurrent-streams sent before the client acknowledged it are refused one by one (REFUSED_STREAM)", async () => {
    const cap = 4;
    t = await startTestDaemon({ http2: { maxConcurrentStreams: cap } });
    const early = await peer();
    await early.handshake({ acknowledge: false });
    const ids = Array.from({ length: cap + 3 }, (_, i) => 2 * i + 1);
    for (const id of ids) early.openStream(id, WATCH_PATH);
    await early.until(() => early.resets().length >= 3);
    expect(early.resets()).toEqual(ids.slice(cap).map((streamId) => ({ streamId, code: REFUSED_STREAM })));
    // The connection and its first `cap` streams live on.
    await early.pingRoundTrip();
    expect(early.resets()).toHaveLength(3);
    expect(early.goaway()).toBeUndefined();
  });

  test("a well-behaved client's call past the cap is not failed: it runs once a stream of the connection frees", async () => {
    const cap = 2;
    t = await startTestDaemon({ http2: { maxConcurrentStreams: cap } });
    const alice = await t.loggedInCu("alice");
    const from = t.daemon.cluster.events.currentRevision + 1;
    const first = Array.from({ length: cap }, () => WatchRecorder.open(alice, { startRevision: from }));
    const last = burst(t.daemon.cluster, 2);
    await Promise.all(first.map((w) => w.untilRevision(last)));
    // One more on the same channel: grpc-js queues it until a stream closes, then it runs from its start revision.
    const third = WatchRecorder.open(alice, { startRevision: from });
    await first[0]!.cancel();
    await third.untilRevision(last);
    expect(third.revisions[0]).toBe(from);
    await first[1]!.cancel();
    await third.cancel();
  });
});
