// Opens watches: a cursor over the event log showing what one session may see, sharing the batch ticker and scans of the cluster.
import { Clock } from "./clock";
import { RevisionLog } from "./revisionLog";
import { LoginSession, SessionEndListener } from "./sessions";
import { SharedScans } from "./sharedScans";
import { SyncWatcher, WatchOptions } from "./syncWatcher";
import { Timers } from "./timers";
import { WatchTicker } from "./watchTicker";

/** What a caller asks of a watch; the cluster adds who is watching, the time and the batching. */
export type WatchRequest = Omit<WatchOptions, "canSee" | "now" | "timers" | "viewer" | "batching"> & { readonly maxEventsPerResponse?: number };

export class ClusterWatches {
  private readonly ticker: WatchTicker;
  private readonly scans = new SharedScans();

  constructor(
    private readonly log: RevisionLog,
    private readonly clock: Clock,
    private readonly timers: Timers,
    batchIntervalMs: number,
    private readonly sessions: { useSession(session: LoginSession, onEnd: SessionEndListener): () => void },
  ) {
    this.ticker = new WatchTicker(log, timers, batchIntervalMs);
  }

  /** A cursor over the event log showing what this session may see. */
  watch(session: LoginSession, request: WatchRequest): SyncWatcher {
    const { maxEventsPerResponse = 1, ...options } = request;
    return new SyncWatcher(this.log, {
      ...options,
      ...(maxEventsPerResponse > 1 ? { batching: { maxEvents: maxEventsPerResponse, ticker: this.ticker, scans: this.scans } } : {}),
      // What canSee below depends on: the session (its session keys) and its user.
      viewer: `${session.sessionId}/${session.userId}`,
      now: () => this.clock.now(),
      timers: this.timers,
      canSee: (event) => {
        const a = event.audience;
        if (!a) return true;
        if (a.sessionId !== undefined && a.sessionId !== session.sessionId) return false;
        return a.ownerId === session.userId || a.sharedWith.includes(session.userId);
      },
    });
  }

  /**
   * A watch for a stream that lasts until `signal` aborts: it keeps its session in use (TOO_MANY_WATCHES
   * past the session's cap), and ends, after what happened up to then, when the session is logged out or expires.
   */
  openWatch(session: LoginSession, request: WatchRequest, signal: AbortSignal): SyncWatcher {
    const watcher = this.watch(session, request);
    const release = this.sessions.useSession(session, (reason) => watcher.finishAt(this.log.currentRevision, reason));
    if (signal.aborted) release();
    else signal.addEventListener("abort", release, { once: true });
    return watcher;
  }
}
