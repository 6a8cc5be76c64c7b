// The batch clock batched watchers share: one timer per interval, armed only when the log has something for a waiter, so caught-up watchers read together.
import { RevisionLog } from "./revisionLog";
import { Timers } from "./timers";

/** Watchers woken at one tick, in the order they asked. */
interface Waiter {
  /** Woken at the first tick at which the log's head is past this revision. */
  readonly after: number;
  readonly wake: () => void;
}

/**
 * Every batched watcher that has sent, or has nothing to send, waits here. One shared timer instead
 * of one per watcher keeps a tick's cost flat in the number of watchers, and watchers that read at
 * the same tick see the same log, so they share one scan and one encoded response. The timer is
 * armed only while some waiter has revisions to read, or at the next append: an idle cluster runs
 * no timer. A waiter that stops waiting (its progress timer, abort, its session's end) withdraws.
 */
export class WatchTicker {
  private waiting = new Set<Waiter>();
  private armed = false;
  private stopListening: (() => void) | undefined;

  constructor(
    private readonly log: RevisionLog,
    private readonly timers: Timers,
    readonly intervalMs: number,
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new RangeError("intervalMs must be a positive integer");
  }

  /**
   * Calls `wake` at the first tick at which the log has revisions after `after`; the returned function
   * withdraws the waiter. Callbacks, not promises: a tick allocates nothing per watcher.
   */
  onTickAfter(after: number, wake: () => void): () => void {
    const waiter: Waiter = { after, wake };
    this.waiting.add(waiter);
    if (this.log.currentRevision > after) this.arm();
    else this.armOnAppend();
    return () => void this.waiting.delete(waiter);
  }

  /** Waiters not yet woken or withdrawn (diagnostics and tests: it must not grow with time). */
  get waiterCount(): number {
    return this.waiting.size;
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    this.timers.after(this.intervalMs, () => this.tick());
  }

  /** Waits for the log to grow, then arms the timer if anyone still waits. */
  private armOnAppend(): void {
    if (this.stopListening) return;
    this.stopListening = this.log.onNextAppend(() => {
      this.stopListening = undefined;
      if (this.waiting.size > 0) this.arm();
    });
  }

  private tick(): void {
    this.armed = false;
    const head = this.log.currentRevision;
    const due: Waiter[] = [];
    for (const waiter of this.waiting) if (head > waiter.after) due.push(waiter);
    for (const waiter of due) this.waiting.delete(waiter);
    // Those left wait for revisions the log does not have yet (a watch that starts in the future).
    if (this.waiting.size > 0) this.armOnAppend();
    for (const waiter of due) waiter.wake();
  }
}
