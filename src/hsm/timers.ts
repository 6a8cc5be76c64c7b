// Timers as the domain sees them: injected so tests can run replication, expiry and watch waits on a fake clock.

export interface TimerHandle {
  cancel(): void;
}

export interface Timers {
  /** Calls `fn` after `ms` milliseconds unless cancelled; 0 or less means the next turn of the event loop. */
  after(ms: number, fn: () => void): TimerHandle;
}

/** The longest delay setTimeout holds; a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2_147_483_647;

export const systemTimers: Timers = {
  after(ms, fn) {
    // No delay: after the I/O already waiting (setImmediate), as the fake timers do, not 1 ms later.
    if (ms <= 0) {
      const immediate = setImmediate(fn);
      return { cancel: () => clearImmediate(immediate) };
    }
    // Long waits are armed in steps Node can hold.
    let t: NodeJS.Timeout;
    const arm = (remaining: number): void => {
      t = remaining > MAX_TIMER_MS ? setTimeout(() => arm(remaining - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fn, Math.max(0, remaining));
    };
    arm(ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** Lets other work in (pending I/O, other calls) before going on: a long loop yields with this. */
export function nextTurn(timers: Timers): Promise<void> {
  return new Promise<void>((resolve) => timers.after(0, resolve));
}
