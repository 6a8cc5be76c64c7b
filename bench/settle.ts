// Waits for the daemon to go idle (background replication, checkpoints, GC) so one measurement's leftovers are not billed to the next.
import { cpuTicks } from "./procCpu";

export interface SettleOptions {
  /** Length of one idle check. */
  readonly sampleMs: number;
  /** The daemon counts as idle when it used at most this many clock ticks in a sample. */
  readonly maxTicks: number;
  /** Give up waiting after this long (the measurement then runs anyway). */
  readonly maxWaitMs: number;
}

export const DEFAULT_SETTLE: SettleOptions = { sampleMs: 250, maxTicks: 1, maxWaitMs: 15_000 };

/** Resolves with how long it waited, and whether the daemon went idle within maxWaitMs. */
export async function settle(pid: number, options: SettleOptions = DEFAULT_SETTLE): Promise<{ waitedMs: number; idle: boolean }> {
  const started = Date.now();
  for (;;) {
    const before = cpuTicks(pid);
    await new Promise((resolve) => setTimeout(resolve, options.sampleMs));
    const waitedMs = Date.now() - started;
    if (cpuTicks(pid) - before <= options.maxTicks) return { waitedMs, idle: true };
    if (waitedMs >= options.maxWaitMs) return { waitedMs, idle: false };
  }
}
