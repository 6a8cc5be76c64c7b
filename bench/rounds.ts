// Repeated rounds of measurements: per concurrency, keeps the round least disturbed by other processes.
import { Measurement } from "./measure";

/** Above this many cores of other work during a window, its figures are flagged as noisy. */
export const NOISY_OTHER_CORES = 0.25;

/**
 * For each concurrency, the measurements of the one round whose windows had, on average, the least CPU
 * used by anything but the daemon and the load worker. A method and its ceiling always come from the
 * same round, so their ratio compares windows taken seconds apart, not a minute apart.
 */
export function leastDisturbed(all: readonly Measurement[], perRound: number): Measurement[] {
  const groups = new Map<string, Measurement[]>();
  all.forEach((m, i) => {
    const key = `${Math.floor(i / perRound)}@${m.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  });
  const best = new Map<number, Measurement[]>();
  for (const group of groups.values()) {
    const concurrency = group[0]!.concurrency;
    const kept = best.get(concurrency);
    if (!kept || meanOther(group) < meanOther(kept)) best.set(concurrency, group);
  }
  return [...best.values()].flat();
}

function meanOther(group: readonly Measurement[]): number {
  return group.reduce((sum, m) => sum + m.otherCores, 0) / group.length;
}
