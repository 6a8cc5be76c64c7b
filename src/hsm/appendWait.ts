// The one way the domain waits for the revision log (or the watch ticker): until it wakes, a timeout on the injected Timers, or an abort.
import { RevisionLog } from "./revisionLog";
import { TimerHandle, Timers } from "./timers";

/** Why a wait ended. */
export type WaitEnd = "woken" | "timeout" | "aborted";

/**
 * Registers `wake` to be called once and returns how to withdraw it. RevisionLog.onNextAppend and
 * WatchTicker.onTickAfter have this shape.
 */
export type WakeSource = (wake: () => void) => () => void;

/**
 * The waits of one reader, one after another: a watch stream, a key creation waiting for -min_srv, a
 * blocked stream watching its lag. The abort listener is added once for the reader's life, not once
 * per wait (a batched watcher waits at every tick); each wait's timer and wake registration are
 * withdrawn however it ends, so an idle log or ticker accumulates nothing. Call `close` when done.
 */
export class Waiter {
  /** Ends the wait in progress, if any. */
  private ending: ((end: WaitEnd) => void) | undefined;
  private readonly onAbort = (): void => this.ending?.("aborted");
  private closed = false;

  constructor(
    private readonly timers: Timers,
    private readonly signal?: AbortSignal,
  ) {
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  /**
   * Until `source` wakes it, `timeoutMs` passes (absent: no timer), the signal aborts, or `interrupt`.
   * Ends at once when the signal has already aborted or `timeoutMs` is not positive.
   */
  until(source: WakeSource, timeoutMs?: number): Promise<WaitEnd> {
    if (this.closed || this.signal?.aborted) return Promise.resolve("aborted");
    if (timeoutMs !== undefined && timeoutMs <= 0) return Promise.resolve("timeout");
    // One wait at a time: a second one ends the first, as if interrupted.
    this.ending?.("woken");
    return new Promise<WaitEnd>((resolve) => {
      // Filled in as they are armed: a source may wake the wait while it is being registered.
      const armed: { timer?: TimerHandle; withdraw?: () => void; ended?: true } = {};
      const end = (how: WaitEnd): void => {
        if (armed.ended) return;
        armed.ended = true;
        if (this.ending === end) this.ending = undefined;
        armed.timer?.cancel();
        armed.withdraw?.();
        resolve(how);
      };
      this.ending = end;
      armed.withdraw = source(() => end("woken"));
      // A source that woke at once has nothing left to withdraw, but withdrawing twice is harmless.
      if (armed.ended) armed.withdraw();
      else if (timeoutMs !== undefined) armed.timer = this.timers.after(timeoutMs, () => end("timeout"));
    });
  }

  /** Until the log's next append (or timeout, abort, interrupt). */
  nextAppend(log: RevisionLog, timeoutMs?: number): Promise<WaitEnd> {
    return this.until((wake) => log.onNextAppend(wake), timeoutMs);
  }

  /** Ends the wait in progress as if its source had woken it (a watch whose session ended). */
  interrupt(): void {
    this.ending?.("woken");
  }

  /** Ends any wait in progress as aborted and withdraws the abort listener; later waits end at once. */
  close(): void {
    this.closed = true;
    this.signal?.removeEventListener("abort", this.onAbort);
    this.ending?.("aborted");
  }
}

/**
 * Waits append by append until `reached()` holds: true. False once `gone()` holds, `deadline` (on
 * `now`, absent: none) passes or `signal` aborts first; `reached` is checked before each of those, so
 * an append that lands with the deadline still counts.
 */
export async function untilAppendsReach(
  log: RevisionLog,
  timers: Timers,
  now: () => number,
  condition: { readonly reached: () => boolean; readonly gone?: () => boolean },
  limits: { readonly deadline?: number; readonly signal?: AbortSignal } = {},
): Promise<boolean> {
  const waiter = new Waiter(timers, limits.signal);
  try {
    while (!condition.reached()) {
      if (condition.gone?.()) return false;
      const remaining = limits.deadline === undefined ? undefined : limits.deadline - now();
      const end = await waiter.nextAppend(log, remaining);
      if (end !== "woken" && !condition.reached()) return false;
    }
    return true;
  } finally {
    waiter.close();
  }
}
