// A watcher's cursor over the revision log: delivers matching events in order, with progress notices, never blocking writers.
import { Waiter } from "./appendWait";
import { HsmError } from "./errors";
import { ClusterEvent, RevisionLog } from "./revisionLog";
import { nextTurn, Timers } from "./timers";
import { Scan, SharedScans } from "./sharedScans";
import { WatchTicker } from "./watchTicker";

/**
 * What a watcher sends. A batch covers the log from `scannedFrom` to `scannedTo` (inclusive); watchers
 * that shared a scan hold the very same `events` array, so its encoding can be shared too.
 */
export type WatchItem =
  | { readonly kind: "event"; readonly event: ClusterEvent }
  | { readonly kind: "batch"; readonly events: readonly ClusterEvent[]; readonly scannedFrom: number; readonly scannedTo: number }
  | { readonly kind: "progress"; readonly revision: number };

/** Batching: up to `maxEvents` per item, and a caught-up watcher sends at most once per tick of the shared ticker. */
export interface WatchBatching {
  readonly maxEvents: number;
  readonly ticker: WatchTicker;
  /** Shared by every batched watcher of the cluster. */
  readonly scans: SharedScans;
}

export interface WatchOptions {
  /** First revision to deliver (inclusive); 0 means "after the current revision". */
  readonly startRevision: number;
  /** Only key events of these handles (empty: all). */
  readonly handles: ReadonlySet<number>;
  /** Only events on these nodes (empty: all). */
  readonly nodes: ReadonlySet<number>;
  /** Whether the watcher may see a key event (owner, shared, session). */
  readonly canSee: (event: ClusterEvent) => boolean;
  readonly progressIntervalMs: number;
  /** A client that stops reading while writers append this many revisions is ended; it can resume from its cursor. */
  readonly maxLag: number;
  readonly now: () => number;
  /** What the watcher's waits (progress interval, ticks) run on. */
  readonly timers: Timers;
  /** Absent: one event per item. */
  readonly batching?: WatchBatching;
  /** Identifies who is watching (what `canSee` depends on), for the view key. */
  readonly viewer: string;
  /**
   * End (return) after the first event of the one watched key showing it on at least this many nodes,
   * or after its first tombstone or deletion; 0 or absent: never. Above the node count: every node.
   */
  readonly untilNodesHolding?: number;
}

const BATCH = 256;
/** Key events whose nodes_holding says where the key is now. */
const COVERAGE_EVENTS: ReadonlySet<ClusterEvent["kind"]> = new Set(["KEY_CREATED", "KEY_REPLICATED", "SHARING_CHANGED", "KEY_MADE_TOKEN"]);
/** A batched watcher scans at most this many revisions per item, so a long filtered-out run still yields the loop. */
const BATCH_SCAN_LIMIT = 4096;

export class SyncWatcher {
  /** The next revision this watcher will look at. */
  private cursor: number;
  /** Set by finishAt: deliver up to this revision, then end with this error. */
  private final: { readonly revision: number; readonly reason: HsmError } | undefined;
  /** The waits of the running items(); finishAt interrupts the one in progress. */
  private waiter: Waiter | undefined;

  constructor(
    private readonly log: RevisionLog,
    private readonly options: WatchOptions,
  ) {
    this.cursor = options.startRevision === 0 ? log.currentRevision + 1 : options.startRevision;
    if (this.cursor <= log.compactRevision) {
      throw new HsmError("WATCH_COMPACTED", "the start revision has been compacted", {
        compact_revision: log.compactRevision,
        start_revision: options.startRevision,
      });
    }
  }

  /** Watchers with equal view keys see the same events from the same log range. */
  get viewKey(): string {
    const { viewer, handles, nodes, batching } = this.options;
    const sorted = (set: ReadonlySet<number>): string => [...set].sort((a, b) => a - b).join(",");
    return `${viewer}|h${sorted(handles)}|n${sorted(nodes)}|m${batching?.maxEvents ?? 1}|u${this.options.untilNodesHolding ?? 0}`;
  }

  /** How far behind the head of the log this watcher is, in revisions. */
  lag(): number {
    return Math.max(0, this.log.currentRevision - (this.cursor - 1));
  }

  /**
   * While the client is not reading: WATCHER_TOO_SLOW once writers have appended more than maxLag
   * revisions since `blockedAt` (the head when it stopped reading), or the ring overtook the cursor.
   * A watcher that reads, even one working through a long backlog, is never ended for lag.
   */
  checkKeepingUp(blockedAt: number): void {
    if (this.log.currentRevision - blockedAt > this.options.maxLag) throw this.tooSlow();
    this.checkNotOvertaken();
  }

  /**
   * Ends the watch once it has delivered what matches up to `revision`, with `reason`: its session
   * ended at that revision, so it still sees its own session keys go (KEY_DELETED) and nothing after.
   */
  finishAt(revision: number, reason: HsmError): void {
    this.final ??= { revision, reason };
    this.waiter?.interrupt();
  }

  /**
   * The lag policy, for while the client is not reading (a write waits for it to drain): fails with
   * WATCHER_TOO_SLOW once writers get more than maxLag revisions past where it stopped, or compaction
   * passes the cursor; looks again at every append, and settles once `signal` aborts (it drained, or
   * the stream ended).
   */
  async failWhenTooFarBehind(signal: AbortSignal): Promise<void> {
    const blockedAt = this.log.currentRevision;
    const waiter = new Waiter(this.options.timers, signal);
    try {
      while (!signal.aborted) {
        this.checkKeepingUp(blockedAt);
        await waiter.nextAppend(this.log);
      }
    } finally {
      waiter.close();
    }
  }

  /** WATCHER_TOO_SLOW when compaction passed the cursor: those events are gone. */
  checkNotOvertaken(): void {
    if (this.cursor <= this.log.compactRevision) throw this.tooSlow();
  }

  private tooSlow(): HsmError {
    return new HsmError("WATCHER_TOO_SLOW", "the watcher fell too far behind; resume from resume_revision", {
      resume_revision: this.cursor,
      current_revision: this.log.currentRevision,
      max_lag: this.options.maxLag,
    });
  }

  /** Matching events, and a progress notice whenever nothing was sent for the progress interval. */
  async *items(signal: AbortSignal): AsyncGenerator<WatchItem> {
    // One abort listener for the stream's life, not one per wait: a tick costs a watcher no listener churn.
    const waiter = new Waiter(this.options.timers, signal);
    this.waiter = waiter;
    try {
      if (this.options.batching) yield* this.batches(signal, waiter, this.options.batching);
      else yield* this.oneByOne(signal, waiter);
    } finally {
      waiter.close();
      if (this.waiter === waiter) this.waiter = undefined;
    }
  }

  /** One event per item: everything matching from the cursor, then a wait for the next append or the progress interval. */
  private async *oneByOne(signal: AbortSignal, waiter: Waiter): AsyncGenerator<WatchItem> {
    const { now, progressIntervalMs, timers } = this.options;
    let lastSent = now();
    while (!signal.aborted) {
      this.checkFinished();
      this.checkNotOvertaken();
      const batch = this.log.readFrom(this.cursor, this.readable(BATCH));
      for (const event of batch) {
        this.cursor = event.revision + 1;
        if (this.matches(event)) {
          yield { kind: "event", event };
          lastSent = now();
          if (signal.aborted || this.endsWith(event)) return;
        }
      }
      if (now() - lastSent >= progressIntervalMs) {
        yield { kind: "progress", revision: this.cursor - 1 };
        lastSent = now();
        continue;
      }
      // A long run of events this watcher may not see must not hold the event loop: let other calls in.
      if (batch.length === BATCH) await nextTurn(timers);
      if (batch.length > 0) continue;
      await waiter.nextAppend(this.log, progressIntervalMs - (now() - lastSent));
    }
  }

  /**
   * Batched delivery: everything matching from the cursor (up to maxEvents) in one item. A watcher
   * that is caught up waits for the shared tick before it sends again, so under steady writes it
   * sends once per tick, not once per append; one with a backlog (full batches, or a scan that
   * stopped at BATCH_SCAN_LIMIT before the head) goes on at once.
   */
  private async *batches(signal: AbortSignal, waiter: Waiter, { maxEvents, ticker, scans }: WatchBatching): AsyncGenerator<WatchItem> {
    const { now, progressIntervalMs, timers } = this.options;
    const viewKey = this.viewKey;
    /** Until a tick brings revisions past the cursor, `timeoutMs` passes (for progress; none: no timer), abort, or finishAt. */
    const nextTick = (timeoutMs: number | undefined): Promise<unknown> => waiter.until((wake) => ticker.onTickAfter(this.cursor - 1, wake), timeoutMs);
    const stoppedBeforeHead = (scan: Scan): boolean => scan.scannedCount === BATCH_SCAN_LIMIT && scan.scannedTo < this.readLimit();
    let lastSent = now();
    const untilProgress = (): number => progressIntervalMs - (now() - lastSent);
    while (!signal.aborted) {
      this.checkFinished();
      this.checkNotOvertaken();
      const scan = scans.scan(viewKey, this.cursor, this.readLimit(), () => this.scan(maxEvents));
      this.cursor = scan.scannedTo + 1;
      if (scan.events.length > 0) {
        yield { kind: "batch", events: scan.events, scannedFrom: scan.scannedFrom, scannedTo: scan.scannedTo };
        lastSent = now();
        if (scan.final) return;
        if (scan.events.length === maxEvents || signal.aborted || this.final) continue;
        if (stoppedBeforeHead(scan)) {
          await nextTurn(timers);
          continue;
        }
        // More is already in the log: the tick is certain, no progress timer needed (the common case under load).
        const moreWaiting = this.readLimit() >= this.cursor;
        await nextTick(moreWaiting ? undefined : untilProgress());
        continue;
      }
      if (untilProgress() <= 0) {
        yield { kind: "progress", revision: this.cursor - 1 };
        lastSent = now();
        continue;
      }
      if (stoppedBeforeHead(scan)) {
        await nextTurn(timers);
        continue;
      }
      // Past the revision its session ended at: the loop's first check ends the watch.
      if (this.final) continue;
      if (!signal.aborted) await nextTick(untilProgress());
    }
  }

  /** Up to maxEvents matching events from the cursor, looking at no more than BATCH_SCAN_LIMIT revisions. Does not move the cursor. */
  private scan(maxEvents: number): Scan {
    const scannedFrom = this.cursor;
    const read = this.log.readFrom(scannedFrom, this.readable(BATCH_SCAN_LIMIT));
    const events: ClusterEvent[] = [];
    let scannedTo = scannedFrom - 1;
    let final = false;
    for (const event of read) {
      scannedTo = event.revision;
      if (!this.matches(event)) continue;
      events.push(event);
      final = this.endsWith(event);
      if (final || events.length === maxEvents) break;
    }
    return { events, scannedFrom, scannedTo, scannedCount: scannedTo - scannedFrom + 1, final };
  }

  /** The newest revision this watcher may read: the head, or where its session ended. */
  private readLimit(): number {
    return this.final ? Math.min(this.log.currentRevision, this.final.revision) : this.log.currentRevision;
  }

  /** How many revisions from the cursor a read may take, at most `max`. */
  private readable(max: number): number {
    return Math.max(0, Math.min(max, this.readLimit() - this.cursor + 1));
  }

  /** Throws the finishing reason once everything up to the final revision was delivered. */
  private checkFinished(): void {
    if (this.final && this.cursor > this.final.revision) throw this.final.reason;
  }

  /** Whether the watch ends with this (matching) event: see untilNodesHolding. */
  private endsWith(event: ClusterEvent): boolean {
    const until = this.options.untilNodesHolding ?? 0;
    if (until === 0 || event.audience === undefined) return false;
    if (event.kind === "KEY_TOMBSTONED" || event.kind === "KEY_DELETED") return true;
    // Sharing and token events carry the key's coverage too: a user the key was shared with after it
    // synced sees no placement events, only SHARING_CHANGED.
    return COVERAGE_EVENTS.has(event.kind) && event.nodesHolding >= Math.min(until, event.nodeCount);
  }

  private matches(event: ClusterEvent): boolean {
    const { handles, nodes, canSee } = this.options;
    // The whole state was replaced (reset, restore): every watcher must resynchronise, whatever it filters on.
    if (event.kind === "STATE_REPLACED") return true;
    // Pausing and resuming replication concern every node, so every node filter passes them.
    const clusterWide = event.kind === "REPLICATION_PAUSED" || event.kind === "REPLICATION_RESUMED";
    if (nodes.size > 0 && !clusterWide && !nodes.has(event.nodeId)) return false;
    if (event.audience === undefined) return handles.size === 0;
    if (handles.size > 0 && !handles.has(event.handle)) return false;
    return canSee(event);
  }
}
