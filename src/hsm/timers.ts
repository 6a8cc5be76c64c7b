// Timers as the domain sees them: injected so tests can run replication on a fake clock.

export interface TimerHandle {
  cancel(): void;
}

export interface Timers {
  /** Calls `fn` after `ms` milliseconds unless cancelled. */
  after(ms: number, fn: () => void): TimerHandle;
}

export const systemTimers: Timers = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};
