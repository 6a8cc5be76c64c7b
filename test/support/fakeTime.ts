// A clock that moves only when a test moves it, with the timers that go with it, for daemons built in-process.
import { Clock } from "../../src/hsm/clock";
import { TimerHandle, Timers } from "../../src/hsm/timers";

interface Pending {
  readonly due: number;
  readonly fn: () => void;
  live: boolean;
}

export class FakeTime implements Clock, Timers {
  private pending: Pending[] = [];

  constructor(private ms = Date.UTC(2025, 0, 1)) {}

  now(): number {
    return this.ms;
  }

  after(ms: number, fn: () => void): TimerHandle {
    const timer: Pending = { due: this.ms + Math.max(0, ms), fn, live: true };
    if (ms <= 0) setImmediate(() => timer.live && ((timer.live = false), fn()));
    else this.pending.push(timer);
    return { cancel: () => void (timer.live = false) };
  }

  /** Moves time forward, firing every timer that falls due, in due order. */
  advance(ms: number): void {
    const target = this.ms + ms;
    for (;;) {
      const next = this.pending.filter((t) => t.live && t.due <= target).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.ms = Math.max(this.ms, next.due);
      next.live = false;
      next.fn();
    }
    this.pending = this.pending.filter((t) => t.live);
    this.ms = target;
  }

  /** Moves time forward without firing any timer (as if the daemon's timers were late). */
  jump(ms: number): void {
    this.ms += ms;
  }
}
