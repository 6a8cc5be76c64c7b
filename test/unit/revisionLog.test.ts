// The revision log on its own: consecutive revisions reserved durably in blocks, a bounded ring read with an
// inclusive cursor, compaction (also of everything before a restart), and the wake-up of waiting readers.
import { NewEvent, RevisionLog } from "../../src/hsm/revisionLog";
import { DEFAULTS } from "../../src/server/settings";
import { expectHsmErrorSync } from "./support/harness";

function nodeEvent(nodeId = 0): NewEvent {
  return { kind: "NODE_DOWN", handle: 0, nodeId, nodesHolding: 0, nodeCount: 3, atMs: 0, audience: undefined };
}

function keyEvent(handle: number, nodeId = 0): NewEvent {
  return { kind: "KEY_CREATED", handle, nodeId, nodesHolding: 1, nodeCount: 3, atMs: 0, audience: { ownerId: 1, sharedWith: [], sessionId: undefined } };
}

/** A log whose reservations are recorded, as the store would persist them. */
function recordingLog(ceiling = 0, capacity = DEFAULTS.eventCapacity): { log: RevisionLog; reserved: number[] } {
  const reserved: number[] = [];
  const log = new RevisionLog(ceiling, (c) => reserved.push(c), capacity);
  return { log, reserved };
}

function revisionsOf(log: RevisionLog, from: number, max = Number.MAX_SAFE_INTEGER): number[] {
  return log.readFrom(from, max).map((e) => e.revision);
}

function expectCompacted(fn: () => unknown, compactRevision: number): void {
  const err = expectHsmErrorSync(fn, "WATCH_COMPACTED");
  expect(err.details.compact_revision).toBe(compactRevision);
}

describe("RevisionLog", () => {
  test("appends get consecutive revisions, one per event, across calls and within a batch", () => {
    const { log } = recordingLog();
    expect(log.currentRevision).toBe(0);
    const [a] = log.append([nodeEvent()]);
    const batch = log.append([keyEvent(6), keyEvent(7), keyEvent(8)]);
    expect([a!.revision, ...batch.map((e) => e.revision)]).toEqual([1, 2, 3, 4]);
    expect(batch.map((e) => e.handle)).toEqual([6, 7, 8]);
    expect(log.currentRevision).toBe(4);
  });

  test("an empty append hands out no revision, reserves nothing and wakes nobody", async () => {
    const { log, reserved } = recordingLog();
    let woken = false;
    log.onNextAppend(() => (woken = true));
    expect(log.append([])).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect({ current: log.currentRevision, reserved, woken }).toEqual({ current: 0, reserved: [], woken: false });
  });

  test("revisions are reserved durably before they are handed out, in blocks, never twice", () => {
    const { log, reserved } = recordingLog(500);
    // Reserved before the first revision exists, and above it.
    const [first] = log.append([nodeEvent()]);
    expect(first!.revision).toBe(501);
    expect(reserved).toHaveLength(1);
    expect(reserved[0]!).toBeGreaterThan(501);
    // Many more appends stay inside the block: no further write per event.
    for (let i = 0; i < 1000; i++) log.append([nodeEvent()]);
    expect(reserved).toHaveLength(1);
    // Every handed-out revision is always below the last durable ceiling.
    expect(log.currentRevision).toBeLessThan(reserved[reserved.length - 1]!);
  });

  test("a batch that crosses the reserved ceiling reserves a new one first", () => {
    const { log, reserved } = recordingLog();
    log.append([nodeEvent()]);
    const ceiling = reserved[0]!;
    const crossing = ceiling - log.currentRevision + 5;
    log.append(Array.from({ length: crossing }, () => nodeEvent()));
    expect(reserved).toHaveLength(2);
    expect(reserved[1]!).toBeGreaterThan(log.currentRevision);
  });

  test("a log reopened at a reserved ceiling continues above it and has compacted everything below", () => {
    const { log } = recordingLog(200_000);
    expect(log.currentRevision).toBe(200_000);
    expect(log.compactRevision).toBe(200_000);
    expectCompacted(() => log.readFrom(200_000, 10), 200_000);
    expect(log.readFrom(200_001, 10)).toEqual([]);
    const [e] = log.append([nodeEvent()]);
    expect(e!.revision).toBe(200_001);
    expect(revisionsOf(log, 200_001)).toEqual([200_001]);
  });

  test("readFrom is inclusive, in order, bounded by max, and empty beyond the head", () => {
    const { log } = recordingLog();
    log.append(Array.from({ length: 10 }, (_, i) => keyEvent(100 + i)));
    expect(revisionsOf(log, 1)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(revisionsOf(log, 4, 3)).toEqual([4, 5, 6]);
    expect(log.readFrom(4, 3).map((e) => e.handle)).toEqual([103, 104, 105]);
    expect(revisionsOf(log, 10)).toEqual([10]);
    expect(revisionsOf(log, 11)).toEqual([]);
    expect(revisionsOf(log, 1_000)).toEqual([]);
  });

  test("only the newest `capacity` events are kept; the compaction point moves with the head", () => {
    const { log } = recordingLog(0, 8);
    log.append(Array.from({ length: 5 }, () => nodeEvent()));
    expect(log.compactRevision).toBe(0);
    expect(revisionsOf(log, 1)).toEqual([1, 2, 3, 4, 5]);
    log.append(Array.from({ length: 7 }, () => nodeEvent()));
    // Head 12, capacity 8: revisions 5..12 remain, 4 is the compaction point.
    expect(log.compactRevision).toBe(4);
    expectCompacted(() => log.readFrom(4, 100), 4);
    expectCompacted(() => log.readFrom(1, 100), 4);
    expect(revisionsOf(log, 5)).toEqual([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test("after the ring wraps many times, every readable revision returns its own event", () => {
    const capacity = 7;
    const { log } = recordingLog(0, capacity);
    for (let i = 1; i <= 100; i++) {
      log.append([keyEvent(1000 + i, i % 3)]);
      const readable = log.readFrom(log.compactRevision + 1, 1000);
      expect(readable.map((e) => e.revision)).toEqual(Array.from({ length: Math.min(i, capacity) }, (_, k) => log.compactRevision + 1 + k));
      expect(readable.every((e) => e.handle === 1000 + e.revision)).toBe(true);
    }
  });

  test("one batch larger than the ring keeps exactly its newest `capacity` events", () => {
    const { log } = recordingLog(0, 4);
    log.append(Array.from({ length: 10 }, (_, i) => keyEvent(1 + i)));
    expect(log.compactRevision).toBe(6);
    expect(log.readFrom(7, 100).map((e) => [e.revision, e.handle])).toEqual([
      [7, 7],
      [8, 8],
      [9, 9],
      [10, 10],
    ]);
  });

  test("onNextAppend calls its listener once, at the next append and not before; later appends need a new one", () => {
    const { log } = recordingLog();
    const seen: number[] = [];
    log.onNextAppend(() => seen.push(log.currentRevision));
    expect(seen).toEqual([]);
    log.append([nodeEvent()]);
    expect(seen).toEqual([1]);
    log.append([nodeEvent(), nodeEvent()]);
    expect(seen).toEqual([1]);
    log.onNextAppend(() => seen.push(log.currentRevision));
    log.append([nodeEvent()]);
    expect(seen).toEqual([1, 4]);
  });

  test("many listeners are all called by one append; a removed one is not", () => {
    const { log } = recordingLog();
    let called = 0;
    for (let i = 0; i < 50; i++) log.onNextAppend(() => (called += 1));
    const remove = log.onNextAppend(() => (called += 1000));
    remove();
    log.append([nodeEvent()]);
    expect(called).toBe(50);
  });

  test("a capacity below 1 is refused", () => {
    expect(() => new RevisionLog(0, () => undefined, 0)).toThrow(RangeError);
  });
});
