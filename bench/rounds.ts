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

/** The 1-based round leastDisturbed keeps for `concurrency`, undefined when no measurement has it. */
export function leastDisturbedRound(all: readonly Measurement[], perRound: number, concurrency: number): number | undefined {
  let best: { round: number; other: number } | undefined;
  const rounds = Math.ceil(all.length / perRound);
  for (let r = 0; r < rounds; r++) {
    const group = all.slice(r * perRound, (r + 1) * perRound).filter((m) => m.concurrency === concurrency);
    if (group.length === 0) continue;
    const other = meanOther(group);
    if (!best || other < best.other) best = { round: r + 1, other };
  }
  return best?.round;
}
