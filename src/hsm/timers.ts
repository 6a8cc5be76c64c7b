// Timers as the domain sees them: injected so tests can run replication on a fake clock.

export interface TimerHandle {
  cancel(): void;
}

export interface Timers {
  /** Calls `fn` after `ms` milliseconds unless cancelled. */
  after(ms: number, fn: () => void): TimerHandle;
}

/** The longest delay setTimeout holds; a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2_147_483_647;

export const systemTimers: Timers = {
  after(ms, fn) {
    // Long waits are armed in steps Node can hold.
    let t: NodeJS.Timeout;
    const arm = (remaining: number): void => {
      t = remaining > MAX_TIMER_MS ? setTimeout(() => arm(remaining - MAX_TIMER_MS), MAX_TIMER_MS) : setTimeout(fn, Math.max(0, remaining));
    };
    arm(ms);
    return { cancel: () => clearTimeout(t) };
  },
};
