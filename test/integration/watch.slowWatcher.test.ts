// A watcher whose client stops reading: writers and other watchers carry on, the slow one is ended
// RESOURCE_EXHAUSTED / WATCHER_TOO_SLOW once it is more than maxLag behind, and names where to resume.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { HsmClient } from "../../clients";
import { burst } from "../support/clusterScript";
import { TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";
import { range, WatchEnd, WatchRecorder } from "../support/watchRecorder";

const MAX_LAG = 500;
/** Events appended between two reads of the fast watcher; below MAX_LAG so a reading watcher is never too slow. */
const BURST = 200;
/** A failure guard, not a wait: the slow stream blocks after a few thousand unread messages. */
const GUARD_EVENTS = 60_000;

let t: TestDaemon;
let alice: HsmClient;
const fixture = useDaemonFixture();

beforeEach(async () => {
  ({ t, alice } = await fixture.start({ watch: { maxLag: MAX_LAG } }));
});

const tooSlowLine = (l: Record<string, unknown>): boolean => l.method === "WatchSyncStatus" && l.reason === "WATCHER_TOO_SLOW";

interface SlowRun {
  readonly from: number;
  readonly slow: WatchRecorder;
  readonly fast: WatchRecorder;
  /** Revision of a key imported over gRPC while the slow stream was blocked. */
  readonly importedWhileBlocked: number;
  readonly end: WatchEnd;
}

/**
 * Opens a slow and a fast watcher from the same revision, stops reading the slow one, and writes until the
 * daemon ends it (its log line says so); the fast one is awaited after every burst, as a reading client would.
 * Then the slow client reads again and gets what was buffered, then the error.
 */
async function runSlowWatcher(): Promise<SlowRun> {
  const from = t.daemon.cluster.events.currentRevision + 1;
  const slow = fixture.watch(alice, { startRevision: from });
  // The fast watcher uses alice's session over its own connection.
  const fast = fixture.watch(t.client(), { startRevision: from }, { metadata: alice.metadata() });
  const first = burst(t.daemon.cluster, 2);
  await slow.untilRevision(first);
  // Pausing after data has flowed makes grpc-js stop reading the HTTP/2 stream, so the daemon's writes block.
  slow.pause();
  let ended = false;
  void t.waitForLog(tooSlowLine).then(() => (ended = true));
  let produced = 0;
  let importedWhileBlocked = 0;
  const wrappingKey = await alice.createWrappingKey();
  while (!ended) {
    if (produced > GUARD_EVENTS) throw new Error(`the slow watcher was not ended after ${produced} events`);
    const last = burst(t.daemon.cluster, BURST);
    produced += BURST;
    await fast.untilRevision(last);
    if (importedWhileBlocked === 0 && produced >= 4 * BURST) {
      // A writer over gRPC is not held up by the stalled stream.
      const created = await alice.importSymKey(randomBytes(16), { wrappingKey, label: "while-blocked" });
      importedWhileBlocked = Number(created.revision);
      await fast.untilRevision(importedWhileBlocked);
    }
  }
  slow.resume();
  const end = await slow.ended;
  return { from, slow, fast, importedWhileBlocked, end };
}

test("a stalled watcher is ended WATCHER_TOO_SLOW naming resume_revision; writers and the other watcher never waited", async () => {
  const { from, slow, fast, importedWhileBlocked, end } = await runSlowWatcher();
  expect({ code: end.error && grpc.status[end.error.code], reason: end.error?.reason }).toEqual({ code: "RESOURCE_EXHAUSTED", reason: "WATCHER_TOO_SLOW" });
  const resumeAt = Number(end.error!.metadata.resume_revision);
  // Everything before resume_revision was delivered, in order, nothing after it.
  expect(slow.revisions).toEqual(range(from, resumeAt - 1));
  expect(Number(end.error!.metadata.current_revision) - (resumeAt - 1)).toBeGreaterThan(MAX_LAG);
  expect(end.error!.metadata.max_lag).toBe(String(MAX_LAG));
  // The fast watcher saw every revision, including the key imported while the slow one was stalled.
  expect(importedWhileBlocked).toBeGreaterThan(0);
  const head = t.daemon.cluster.events.currentRevision;
  await fast.untilRevision(head);
  expect(fast.revisions.filter((r) => r <= head)).toEqual(range(from, head));
  expect(fast.events.some((e) => Number(e.revision) === importedWhileBlocked)).toBe(true);
  expect(t.logs.filter(tooSlowLine)).toHaveLength(1);
});

// Regression: resuming used to fail WATCHER_TOO_SLOW at once, because the lag rule also ended watchers that read.
test("a new watch from resume_revision continues without loss or duplicates, though the backlog is longer than maxLag", async () => {
  const { from, slow, end } = await runSlowWatcher();
  const resumeAt = Number(end.error!.metadata.resume_revision);
  const resumed = fixture.watch(alice, { startRevision: resumeAt });
  const head = t.daemon.cluster.events.currentRevision;
  expect(head - resumeAt).toBeGreaterThan(MAX_LAG);
  await resumed.untilRevision(head);
  expect([...slow.revisions, ...resumed.revisions.filter((r) => r <= head)]).toEqual(range(from, head));
});
