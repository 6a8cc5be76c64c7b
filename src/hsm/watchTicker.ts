// The batch clock batched watchers share: one timer per interval, armed only while someone waits, so caught-up watchers send together.
import { Timers } from "./timers";

/**
 * Every batched watcher that has just sent, or has just been woken by an append, waits for the
 * same tick. One shared tick instead of a timer per watcher keeps the cost flat in the number of
 * watchers, and lets watchers with the same view share one encoded response.
 */
export class WatchTicker {
  private pending: Promise<void> | undefined;

  constructor(
    private readonly timers: Timers,
    readonly intervalMs: number,
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new RangeError("intervalMs must be a positive integer");
  }

  /** Resolves at the next tick: at most `intervalMs` from now. */
  next(): Promise<void> {
    this.pending ??= new Promise<void>((resolve) => {
      this.timers.after(this.intervalMs, () => {
        this.pending = undefined;
        resolve();
      });
    });
    return this.pending;
  }
}
