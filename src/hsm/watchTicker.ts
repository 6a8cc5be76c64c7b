// The batch clock batched watchers share: one timer per interval, armed only after the log grows, so caught-up watchers read together.
import { RevisionLog } from "./revisionLog";
import { Timers } from "./timers";

interface Waiter {
  /** Woken at the first tick at which the log's head is past this revision. */
  readonly after: number;
  readonly wake: () => void;
}

/**
 * Every batched watcher that has sent, or has nothing to send, waits here. One shared timer instead
 * of one per watcher keeps a tick's cost flat in the number of watchers, and watchers that read at
 * the same tick see the same log, so they share one scan and one encoded response. The timer runs
 * only while someone waits for revisions the log already has, or from the next append on: an idle
 * cluster has no timer running.
 */
export class WatchTicker {
  private waiting: Waiter[] = [];
  private armed = false;
  private awaitingAppend = false;

  constructor(
    private readonly log: RevisionLog,
    private readonly timers: Timers,
    readonly intervalMs: number,
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new RangeError("intervalMs must be a positive integer");
  }

  /** Calls `wake` at the first tick at which the log has revisions after `after`. A callback list, not a promise: a tick allocates nothing per watcher. */
  onTickAfter(after: number, wake: () => void): void {
    this.waiting.push({ after, wake });
    if (this.log.currentRevision > after) this.arm();
    else this.armOnAppend();
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    this.timers.after(this.intervalMs, () => this.tick());
  }

  /** Every waiter waits for a revision at or below the head, so the next append concerns them all. */
  private armOnAppend(): void {
    if (this.awaitingAppend) return;
    this.awaitingAppend = true;
    void this.log.nextAppend().then(() => {
      this.awaitingAppend = false;
      if (this.waiting.length > 0) this.arm();
    });
  }

  private tick(): void {
    this.armed = false;
    const head = this.log.currentRevision;
    const waiting = this.waiting;
    this.waiting = [];
    for (const waiter of waiting) {
      if (head > waiter.after) waiter.wake();
      else this.waiting.push(waiter);
    }
    if (this.waiting.length > 0) this.armOnAppend();
  }
}
