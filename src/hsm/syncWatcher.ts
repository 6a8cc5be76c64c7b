// A watcher's cursor over the revision log: delivers matching events in order, with progress notices, never blocking writers.
import { HsmError } from "./errors";
import { ClusterEvent, RevisionLog } from "./revisionLog";
import { MAX_TIMER_MS } from "./timers";

export type WatchItem = { readonly kind: "event"; readonly event: ClusterEvent } | { readonly kind: "progress"; readonly revision: number };

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
}

const BATCH = 256;

export class SyncWatcher {
  /** The next revision this watcher will look at. */
  private cursor: number;

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
    const { now, progressIntervalMs } = this.options;
    let lastSent = now();
    while (!signal.aborted) {
      this.checkNotOvertaken();
      const batch = this.log.readFrom(this.cursor, BATCH);
      for (const event of batch) {
        this.cursor = event.revision + 1;
        if (this.matches(event)) {
          yield { kind: "event", event };
          lastSent = now();
          if (signal.aborted) return;
        }
      }
      if (now() - lastSent >= progressIntervalMs) {
        yield { kind: "progress", revision: this.cursor - 1 };
        lastSent = now();
        continue;
      }
      // A long run of events this watcher may not see must not hold the event loop: let other calls in.
      if (batch.length === BATCH) await new Promise<void>((resolve) => setImmediate(resolve));
      if (batch.length > 0) continue;
      // The loop re-checks, so a long interval is waited for in steps setTimeout can hold.
      const waitMs = Math.min(MAX_TIMER_MS, Math.max(1, progressIntervalMs - (now() - lastSent)));
      // One promise per wait, its timer and abort listener removed after: nothing accumulates on long-lived promises.
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const woken = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
        onAbort = resolve;
        signal.addEventListener("abort", onAbort, { once: true });
        void this.log.nextAppend().then(resolve);
      });
      try {
        await woken;
      } finally {
        clearTimeout(timer);
        if (onAbort) signal.removeEventListener("abort", onAbort);
      }
    }
  }

  private matches(event: ClusterEvent): boolean {
    const { handles, nodes, canSee } = this.options;
    // Pausing and resuming replication concern every node, so every node filter passes them.
    const clusterWide = event.kind === "REPLICATION_PAUSED" || event.kind === "REPLICATION_RESUMED";
    if (nodes.size > 0 && !clusterWide && !nodes.has(event.nodeId)) return false;
    if (event.audience === undefined) return handles.size === 0;
    if (handles.size > 0 && !handles.has(event.handle)) return false;
    return canSee(event);
  }
}
