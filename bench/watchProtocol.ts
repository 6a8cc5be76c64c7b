// Messages between the benchmark (parent) and a watcher worker process (child), over the fork() IPC channel.
import { HistogramData } from "./latencyStats";

export interface WatchWorkerSpec {
  readonly address: string;
  /** Session token of the bench user; every stream carries it (one login shared by all watchers). */
  readonly token: string;
  /** WatchSyncStatus streams this process opens. */
  readonly watchers: number;
  /** grpc channels (TCP connections) the streams are spread over, round robin. */
  readonly channels: number;
  /** Sent as max_events_per_response: 1 asks for one event per response. */
  readonly maxEventsPerResponse: number;
  /** Every watcher starts here (inclusive); the first event each one gets must have exactly this revision. */
  readonly startRevision: number;
  /** Width of the delivery-count buckets, to line deliveries up with the import window afterwards. */
  readonly bucketMs: number;
}

/** Deliveries per time bucket: counts[i] arrived in [baseEpochMs + i * bucketMs, baseEpochMs + (i + 1) * bucketMs). */
export interface DeliveryBuckets {
  readonly baseEpochMs: number;
  readonly bucketMs: number;
  readonly counts: number[];
}

export interface WatchReport {
  readonly watchers: number;
  /** Events received, over every watcher. */
  readonly deliveries: number;
  /** Watchers that received every revision from the start through the last one, each exactly once. */
  readonly complete: number;
  /** Revisions never delivered (a jump in a watcher's sequence, or a progress notice past a missing one). */
  readonly missing: number;
  /** Events received again or out of order. */
  readonly duplicates: number;
  /** Streams that ended before the bench finished them, by reason (e.g. WATCHER_TOO_SLOW). */
  readonly ended: Readonly<Record<string, number>>;
  /** The first problem any watcher saw, for the report. */
  readonly firstProblem: string | undefined;
  /** Progress notices received (not events). */
  readonly progressNotices: number;
  /** Receive time minus the event's `time`, over every delivery. */
  readonly lag: HistogramData;
  readonly buckets: DeliveryBuckets;
  /** From "start" until every watcher had its first event. */
  readonly connectMs: number;
  /** From "finish" until every watcher had the last revision (or the deadline passed). */
  readonly waitedForLastMs: number;
  /** Epoch ms at which the last watcher received the last revision; null if some watcher never did. */
  readonly lastArrivalEpochMs: number | null;
  /**
   * Revisions up to the last one that had not arrived at the deadline, summed over watchers. Each also
   * counts in `lag` as (deadline - the last event's time): a lower bound of its real lag.
   */
  readonly undelivered: number;
  /** When this process stopped waiting for the last revision, and its CPU (user + system, µs since it started) then. */
  readonly stoppedEpochMs: number;
  readonly cpuMicros: number;
}

export type WatchParentMessage =
  | { readonly type: "start"; readonly spec: WatchWorkerSpec }
  /**
   * Wait until every watcher has seen `lastRevision` (or `deadlineMs` passed), then end the streams and report.
   * `lastEventEpochMs` is the last event's time; no undelivered event is younger.
   */
  | { readonly type: "finish"; readonly lastRevision: number; readonly lastEventEpochMs: number; readonly deadlineMs: number };

export type WatchWorkerMessage =
  | { readonly type: "ready"; readonly connectMs: number; readonly failedToConnect: number }
  | { readonly type: "report"; readonly report: WatchReport }
  | { readonly type: "failed"; readonly error: string };
