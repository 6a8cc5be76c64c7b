// Runs password hashing a few jobs at a time, fairly across connections, and refuses logins past per-connection and daemon-wide bounds.
import { HsmError } from "./errors";

/** How much password hashing may run and wait at once. */
export interface LoginLimits {
  /** Hash jobs running at once (each holds one libuv threadpool thread while scrypt runs). */
  readonly hashConcurrency: number;
  /** Logins one connection may have in progress (running or waiting); the next is refused with TOO_MANY_LOGINS. */
  readonly perConnection: number;
  /** Logins waiting for a hash slot daemon-wide; past it the next is refused with TOO_MANY_LOGINS. */
  readonly maxWaiting: number;
}

/** Jobs of the daemon itself (creating a user, resetting a password): not counted against any connection or the waiting bound. */
export const INTERNAL_ORIGIN = undefined;

/**
 * A semaphore with one waiting line per origin (a client connection), served round robin: a connection
 * sending one login waits behind at most one job of each other connection, however many a flooding
 * connection has queued. Without it a flood of logins fills libuv's first-come first-served queue and a
 * real login waits for all of them.
 */
export class HashQueue {
  private running = 0;
  private waiting = 0;
  /** Waiting jobs per origin; Map order is the round-robin order (a served origin moves to the end). */
  private readonly lines = new Map<string | undefined, (() => void)[]>();
  /** Logins in progress per origin, running or waiting. */
  private readonly perOrigin = new Map<string, number>();

  constructor(readonly limits: LoginLimits) {}

  /** Runs `job` when a slot is free; refuses at once (TOO_MANY_LOGINS) if `origin` or the daemon is over its bound. */
  async run<T>(origin: string | undefined, job: () => Promise<T>): Promise<T> {
    if (origin !== undefined) {
      const inProgress = this.perOrigin.get(origin) ?? 0;
      if (inProgress >= this.limits.perConnection) {
        throw new HsmError("TOO_MANY_LOGINS", "too many logins in progress on this connection; retry later", {
          limit: "connection",
          max_logins: this.limits.perConnection,
        });
      }
      if (this.running >= this.limits.hashConcurrency && this.waiting >= this.limits.maxWaiting) {
        throw new HsmError("TOO_MANY_LOGINS", "too many logins in progress; retry later", { limit: "daemon", max_logins: this.limits.maxWaiting });
      }
      this.perOrigin.set(origin, inProgress + 1);
    }
    try {
      await this.slot(origin);
      try {
        return await job();
      } finally {
        this.release();
      }
    } finally {
      if (origin !== undefined) {
        const left = (this.perOrigin.get(origin) ?? 1) - 1;
        if (left === 0) this.perOrigin.delete(origin);
        else this.perOrigin.set(origin, left);
      }
    }
  }

  /** Jobs running and waiting now (for tests and diagnostics). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting };
  }

  private slot(origin: string | undefined): Promise<void> {
    if (this.running < this.limits.hashConcurrency && this.waiting === 0) {
      this.running += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let line = this.lines.get(origin);
      if (!line) {
        line = [];
        this.lines.set(origin, line);
      }
      line.push(resolve);
      this.waiting += 1;
    });
  }

  private release(): void {
    this.running -= 1;
    const next = this.lines.entries().next();
    if (next.done) return;
    const [origin, line] = next.value;
    const wake = line.shift()!;
    // The served origin goes to the back of the rotation, or leaves it when it has nothing more waiting.
    this.lines.delete(origin);
    if (line.length > 0) this.lines.set(origin, line);
    this.waiting -= 1;
    this.running += 1;
    wake();
  }
}
