// The benchmark's lean watch-response scanner reads the same revisions and times as the generated decoder.
import fc from "fast-check";
import { scanWatchResponse } from "../../bench/watchWire";
import { SyncEvent, SyncEventType, WatchSyncStatusResponse } from "../../clients/generated/localcloudhsm/v1/hsm_service";

type Seen = { kind: "event"; revision: number; timeMs: number } | { kind: "progress"; revision: number };

function scan(bytes: Uint8Array): Seen[] {
  const seen: Seen[] = [];
  scanWatchResponse(bytes, {
    event: (revision, timeMs) => seen.push({ kind: "event", revision, timeMs }),
    progress: (revision) => seen.push({ kind: "progress", revision }),
  });
  return seen;
}

const syncEvent = fc.record({
  revision: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map(String),
  type: fc.constantFrom(SyncEventType.SYNC_EVENT_TYPE_KEY_CREATED, SyncEventType.SYNC_EVENT_TYPE_NODE_DOWN),
  keyHandle: fc.integer({ min: 0, max: 0xffffffff }),
  nodeId: fc.integer({ min: 0, max: 27 }),
  nodesHolding: fc.integer({ min: 0, max: 28 }),
  nodeCount: fc.integer({ min: 1, max: 28 }),
  time: fc.integer({ min: 0, max: 4_102_444_800_000 }).map((ms) => new Date(ms)),
}) satisfies fc.Arbitrary<SyncEvent>;

const expected = (e: SyncEvent): Seen => ({ kind: "event", revision: Number(e.revision), timeMs: e.time!.getTime() });

describe("scanWatchResponse", () => {
  it("reads a single event like the generated decoder", () => {
    fc.assert(
      fc.property(syncEvent, (event) => {
        const bytes = WatchSyncStatusResponse.encode({ message: { $case: "event", value: event } }).finish();
        expect(scan(bytes)).toEqual([expected(event)]);
      }),
    );
  });

  it("reads every event of a batch, in order", () => {
    fc.assert(
      fc.property(fc.array(syncEvent, { minLength: 1, maxLength: 50 }), (events) => {
        const bytes = WatchSyncStatusResponse.encode({ message: { $case: "batch", value: { events } } }).finish();
        expect(scan(bytes)).toEqual(events.map(expected));
      }),
    );
  });

  it("reads a progress notice", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (revision) => {
        const bytes = WatchSyncStatusResponse.encode({ message: { $case: "progress", value: { revision: String(revision) } } }).finish();
        expect(scan(bytes)).toEqual([{ kind: "progress", revision }]);
      }),
    );
  });

  it("rejects a truncated response instead of inventing events", () => {
    const events = [{ revision: "7", type: 1, keyHandle: 9, nodeId: 0, nodesHolding: 1, nodeCount: 3, time: new Date(1_000) }];
    const bytes = WatchSyncStatusResponse.encode({ message: { $case: "batch", value: { events } } }).finish();
    expect(() => scan(bytes.subarray(0, bytes.length - 3))).toThrow();
  });
});
