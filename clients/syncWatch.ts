// Follows WatchSyncStatus from the client side: iterate events, or wait until a key reaches k nodes, without sleeping.
import * as grpc from "@grpc/grpc-js";
import { toClientError } from "./errors";
import { HsmServiceClient, SyncEvent, SyncEventType, WatchSyncStatusRequest, WatchSyncStatusResponse } from "./generated/localcloudhsm/v1/hsm_service";

export interface WatchOptions {
  /** First revision to deliver (inclusive); 0 or absent means "from now". */
  readonly startRevision?: number;
  readonly keyHandles?: readonly number[];
  readonly nodeIds?: readonly number[];
  readonly progressIntervalMs?: number;
  /**
   * Above 1, events arrive in `batch` responses of up to this many (at most 4096): far fewer
   * messages when many events happen. A caught-up watcher then gets one batch per daemon batch
   * interval (--watch-batch-ms, default 20 ms). Use `eventsIn` to read either shape.
   */
  readonly maxEventsPerResponse?: number;
  /**
   * With exactly one key handle: the daemon ends the stream after the first event showing that key on
   * this many nodes (above the node count: all), or after it is tombstoned or deleted.
   */
  readonly untilNodesHolding?: number;
  /** Ends the watch when aborted. */
  readonly signal?: AbortSignal;
}

/** Streams WatchSyncStatus responses; errors arrive as HsmClientError. Breaking out of the loop cancels the call. */
/** The WatchSyncStatusRequest for these options (absent ones take the daemon's defaults). */
export function watchRequest(options: WatchOptions): WatchSyncStatusRequest {
  return {
    startRevision: String(options.startRevision ?? 0),
    keyHandles: [...(options.keyHandles ?? [])],
    nodeIds: [...(options.nodeIds ?? [])],
    progressIntervalMs: options.progressIntervalMs ?? 0,
    maxEventsPerResponse: options.maxEventsPerResponse ?? 0,
    untilNodesHolding: options.untilNodesHolding ?? 0,
  };
}

export async function* watchSyncStatus(raw: HsmServiceClient, metadata: grpc.Metadata, options: WatchOptions = {}): AsyncGenerator<WatchSyncStatusResponse> {
  const request = watchRequest(options);
  if (options.signal?.aborted) return;
  const call = raw.watchSyncStatus(request, metadata);
  const onAbort = (): void => call.cancel();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const message of call as AsyncIterable<WatchSyncStatusResponse>) yield message;
  } catch (err) {
    if (options.signal?.aborted && (err as grpc.ServiceError).code === grpc.status.CANCELLED) return;
    throw toClientError(err);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    call.cancel();
  }
}

/** The events a response carries: one for `event`, several for `batch`, none for `progress`. */
export function eventsIn(response: WatchSyncStatusResponse): SyncEvent[] {
  const m = response.message;
  if (m?.$case === "event") return [m.value];
  if (m?.$case === "batch") return m.value.events;
  return [];
}

/** Events that say how many nodes hold a key (or that it is gone), as the daemon's until_nodes_holding reads them. */
const COVERAGE_EVENTS = new Set([
  SyncEventType.SYNC_EVENT_TYPE_KEY_CREATED,
  SyncEventType.SYNC_EVENT_TYPE_KEY_REPLICATED,
  SyncEventType.SYNC_EVENT_TYPE_SHARING_CHANGED,
  SyncEventType.SYNC_EVENT_TYPE_KEY_MADE_TOKEN,
  SyncEventType.SYNC_EVENT_TYPE_KEY_TOMBSTONED,
  SyncEventType.SYNC_EVENT_TYPE_KEY_DELETED,
]);

/** Raised when a key is tombstoned or deleted while someone waits for it to sync. */
export class KeyGoneError extends Error {
  constructor(readonly keyHandle: number, readonly event: SyncEvent) {
    super(`key ${keyHandle} was removed (revision ${event.revision})`);
    this.name = "KeyGoneError";
  }
}

/** `untilNodesHolding` for "every node": more than any cluster has. */
const ALL_NODES = 0xffff_ffff;

/**
 * Resolves with the event at which `keyHandle` is held by at least `nodes` nodes (or by every node
 * when `nodes` is "all"). Watch from the revision the create call returned so no step is missed.
 * Fails with DEADLINE_EXCEEDED (as HsmClientError) after `deadlineMs`, or KeyGoneError.
 *
 * The daemon ends the stream itself right after that event (until_nodes_holding), and this reads it to
 * its end: the call never has to be cancelled. (Cancelling costs an HTTP/2 RST_STREAM, and a server
 * closes a connection that sends about a thousand of those in quick succession, as rapid-reset
 * protection; a test suite waiting for thousands of keys on one client would trip it.)
 */
export async function waitForSync(
  raw: HsmServiceClient,
  metadata: grpc.Metadata,
  keyHandle: number,
  nodes: number | "all",
  options: { fromRevision: number; deadlineMs?: number },
): Promise<SyncEvent> {
  if (nodes !== "all" && (!Number.isInteger(nodes) || nodes < 1)) throw new RangeError(`nodes must be "all" or a whole number of at least 1, not ${nodes}`);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), options.deadlineMs ?? 30_000);
  const wanted = nodes === "all" ? ALL_NODES : nodes;
  let synced: SyncEvent | undefined;
  let gone: SyncEvent | undefined;
  try {
    const stream = watchSyncStatus(raw, metadata, {
      startRevision: options.fromRevision,
      keyHandles: [keyHandle],
      untilNodesHolding: wanted,
      signal: deadline.signal,
    });
    for await (const message of stream) {
      for (const event of eventsIn(message)) {
        if (!COVERAGE_EVENTS.has(event.type) || synced || gone) continue;
        if (event.type === SyncEventType.SYNC_EVENT_TYPE_KEY_TOMBSTONED || event.type === SyncEventType.SYNC_EVENT_TYPE_KEY_DELETED) gone = event;
        else if (event.nodesHolding >= Math.min(wanted, event.nodeCount)) synced = event;
      }
    }
    if (gone) throw new KeyGoneError(keyHandle, gone);
    if (synced) return synced;
    throw toClientError(Object.assign(new Error("deadline exceeded waiting for sync"), { code: grpc.status.DEADLINE_EXCEEDED, details: "deadline exceeded waiting for sync", metadata: new grpc.Metadata() }));
  } finally {
    clearTimeout(timer);
  }
}
