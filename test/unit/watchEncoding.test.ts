// Watch responses encoded once: the bytes decode, with the generated decoder, to what each response must say.
import { WatchSyncStatusResponse } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { ClusterEvent } from "../../src/hsm/revisionLog";
import { toSyncEvent } from "../../src/server/responseMapping";
import { WatchResponseEncoder } from "../../src/server/watchEncoding";

function event(revision: number, handle: number): ClusterEvent {
  const audience = { ownerId: 1, sharedWith: [], sessionId: undefined };
  return { revision, kind: "KEY_REPLICATED", handle, nodeId: revision % 3, nodesHolding: 2, nodeCount: 3, atMs: 1_700_000_000_123 + revision, audience };
}

describe("WatchResponseEncoder", () => {
  const encoder = new WatchResponseEncoder();

  test("a single event is the `event` response of that event", () => {
    const e = event(12, 0x2000_0001);
    expect(WatchSyncStatusResponse.decode(encoder.encode({ kind: "event", event: e }))).toEqual({ message: { $case: "event", value: toSyncEvent(e) } });
  });

  test("a batch is the `batch` response of its events, in order", () => {
    const events = [event(5, 1), event(6, 70_000), event(9, 2 ** 31 + 5)];
    const decoded = WatchSyncStatusResponse.decode(encoder.encode({ kind: "batch", events, scannedFrom: 5, scannedTo: 9 }));
    expect(decoded).toEqual({ message: { $case: "batch", value: { events: events.map(toSyncEvent) } } });
  });

  test("a progress notice is the `progress` response", () => {
    expect(WatchSyncStatusResponse.decode(encoder.encode({ kind: "progress", revision: 2 ** 40 }))).toEqual({
      message: { $case: "progress", value: { revision: String(2 ** 40) } },
    });
  });

  test("watchers holding the same scan get the same bytes; an event is encoded the same alone and in a batch", () => {
    const events = [event(1, 10), event(2, 11)];
    const a = encoder.encode({ kind: "batch", events, scannedFrom: 1, scannedTo: 2 });
    const b = encoder.encode({ kind: "batch", events, scannedFrom: 1, scannedTo: 2 });
    expect(b).toBe(a);
    const single = encoder.encode({ kind: "event", event: events[0]! });
    expect(a.includes(single)).toBe(true);
  });
});
