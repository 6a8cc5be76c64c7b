// The targets at concurrency 64, relative to the ceiling (empty call) at the same concurrency, and their verdicts.
import { DurabilityReport } from "./durability";
import { Measurement } from "./measure";
import type { WatchBenchResult } from "./watchBench";
import type { LoginFloodResult } from "./loginFlood";
import { ScenarioName } from "./workerProtocol";
import type { FloorMeasurement } from "./cryptoFloor";
import type { CryptoOp } from "./cryptoMaterial";

export const TARGET_CONCURRENCY = 64;

interface TargetRule {
  readonly scenario: ScenarioName;
  /** Lowest allowed calls/s as a fraction of the ceiling's. */
  readonly minThroughputRatio: number;
  /** Highest allowed daemon CPU per call as a multiple of the ceiling's, if any. */
  readonly maxCpuRatio?: number;
  /** Every acknowledged key must survive kill -9. */
  readonly durable?: boolean;
}

export const TARGET_RULES: readonly TargetRule[] = [
  { scenario: "getAttribute", minThroughputRatio: 0.7, maxCpuRatio: 2 },
  { scenario: "findKey", minThroughputRatio: 0.5, maxCpuRatio: 4 },
  { scenario: "importSymKey", minThroughputRatio: 0.25, durable: true },
  // Issue 11: the crypto rows.
  { scenario: "aesGcmEncrypt", minThroughputRatio: 0.6 },
  { scenario: "ecdsaSign", minThroughputRatio: 0.4 },
];

/**
 * Issue 11: what RSA-2048 signing costs the daemon per call (all its CPU at concurrency 64: gRPC, auth, key
 * lookup, the signature) may be at most this multiple of what node:crypto's own sign costs on one thread in the
 * same run (the floor row), i.e. the HSM layer adds at most 30%.
 */
export const CRYPTO_CPU_TARGETS: readonly { readonly scenario: CryptoOp; readonly maxCpuRatioToNode: number }[] = [{ scenario: "rsaSign", maxCpuRatioToNode: 1.3 }];

/** The watchers benchmark's targets (issue: N watchers while imports run at concurrency 64). */
export const WATCH_TARGETS = {
  watchers: 1000,
  /** Event lag p99 (receive time minus the event's time), over every delivery. */
  maxLagP99Ms: 100,
  /** Import calls/s with the watchers connected, as a fraction of without. */
  minImportRatio: 0.7,
} as const;

/** The login-flood benchmark's target (issue 9: a real login during a flood of 500 logins of unknown users). */
export const LOGIN_FLOOD_TARGETS = {
  floodConcurrency: 500,
  maxRealLoginP99Ms: 500,
} as const;

export interface Verdict {
  /** What is judged: a load-worker scenario, the watchers, login-flood or startup benchmark. */
  readonly scenario: ScenarioName | "watchers" | "logins" | "startup";
  readonly what: string;
  readonly actual: string;
  readonly pass: boolean;
  /** Not checked in this run (e.g. --cpu-prof-dir skips kill -9); not a pass. */
  readonly skipped?: boolean;
}

export function throughputRatio(m: Measurement, ceiling: Measurement): number {
  return m.callsPerSecond / ceiling.callsPerSecond;
}

export function cpuRatio(m: Measurement, ceiling: Measurement): number {
  return m.daemonCpuPerCallUs / ceiling.daemonCpuPerCallUs;
}

/** The daemon's CPU per call relative to the floor implementation's CPU per call of the same operation. */
export function cpuRatioToFloor(m: Measurement, floor: FloorMeasurement): number {
  return m.daemonCpuPerCallUs / floor.cpuPerCallUs;
}

/**
 * Verdicts for the rules of the scenarios this run scheduled (`scheduled`; e.g. --only crypto leaves out the
 * symmetric-key rows); a missing measurement or durability check fails its rule.
 */
export function evaluateTargets(results: readonly Measurement[], durability: DurabilityReport | undefined, scheduled: readonly ScenarioName[]): Verdict[] {
  const at = (scenario: ScenarioName) => results.find((m) => m.scenario === scenario && m.concurrency === TARGET_CONCURRENCY);
  const ceiling = at("ceiling");
  const verdicts: Verdict[] = [];
  for (const rule of TARGET_RULES.filter((r) => scheduled.includes(r.scenario))) {
    const m = at(rule.scenario);
    const tput = m && ceiling ? throughputRatio(m, ceiling) : NaN;
    verdicts.push({
      scenario: rule.scenario,
      what: `throughput >= ${rule.minThroughputRatio.toFixed(2)} x ceiling`,
      actual: `${tput.toFixed(2)} x`,
      pass: tput >= rule.minThroughputRatio,
    });
    if (rule.maxCpuRatio !== undefined) {
      const cpu = m && ceiling ? cpuRatio(m, ceiling) : NaN;
      verdicts.push({
        scenario: rule.scenario,
        what: `daemon CPU/call <= ${rule.maxCpuRatio.toFixed(1)} x ceiling`,
        actual: `${cpu.toFixed(2)} x`,
        pass: cpu <= rule.maxCpuRatio,
      });
    }
    if (rule.durable) {
      verdicts.push({
        scenario: rule.scenario,
        what: "every acknowledged key survives kill -9",
        actual: durability ? `${durability.present}/${durability.acknowledged} present, ${durability.kcvMismatches} KCV mismatches` : "not checked",
        pass: durability?.ok === true,
        skipped: durability === undefined,
      });
    }
  }
  return verdicts;
}

/**
 * The crypto rows' own verdicts: an operation the daemon could not be measured on fails (with why), and the
 * daemon's CPU per call against node:crypto's floor row of the same run; a missing row fails its rule.
 */
export function evaluateCryptoTargets(results: readonly Measurement[], floors: readonly FloorMeasurement[], unavailable: Partial<Record<CryptoOp, string>>): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const [op, reason] of Object.entries(unavailable) as [CryptoOp, string][]) {
    verdicts.push({ scenario: op, what: "the daemon serves it (set-up and one checked answer)", actual: reason, pass: false });
  }
  for (const rule of CRYPTO_CPU_TARGETS) {
    if (unavailable[rule.scenario] !== undefined) continue;
    const m = results.find((r) => r.scenario === rule.scenario && r.concurrency === TARGET_CONCURRENCY);
    const floor = floors.find((f) => f.op === rule.scenario && f.implementation === "node");
    const ratio = m && floor ? cpuRatioToFloor(m, floor) : NaN;
    verdicts.push({
      scenario: rule.scenario,
      what: `daemon CPU/call <= ${rule.maxCpuRatioToNode.toFixed(1)} x node:crypto's sign on one thread`,
      actual: `${ratio.toFixed(2)} x (${m ? Math.round(m.daemonCpuPerCallUs) : "-"} vs ${floor ? Math.round(floor.cpuPerCallUs) : "-"} us)`,
      pass: ratio <= rule.maxCpuRatioToNode,
    });
  }
  return verdicts;
}

/** The three watcher targets: no event lost, lag p99, import throughput with vs without the watchers. */
export function evaluateWatchTargets(w: WatchBenchResult): Verdict[] {
  const ended = Object.entries(w.report.ended).map(([reason, n]) => `${n} ${reason}`);
  const lossDetail =
    `${w.report.complete}/${w.watchers} watchers got every revision ${w.startRevision}..${w.lastRevision} once; ` +
    `${w.report.missing} skipped, ${w.report.duplicates} duplicate, ${w.report.undelivered} not delivered within ${w.lastRevisionDeadlineMs / 1000} s, ` +
    `${ended.length > 0 ? ended.join(", ") : "0"} streams ended early` +
    (w.failedToConnect > 0 ? `, ${w.failedToConnect} never connected` : "");
  return [
    { scenario: "watchers", what: "no event lost", actual: lossDetail, pass: w.noLoss },
    {
      scenario: "watchers",
      what: `event lag p99 < ${WATCH_TARGETS.maxLagP99Ms} ms`,
      actual: `${w.report.undelivered > 0 ? ">= " : ""}${w.lag.p99Ms.toFixed(1)} ms`,
      pass: w.lag.p99Ms < WATCH_TARGETS.maxLagP99Ms,
    },
    {
      scenario: "watchers",
      what: `import throughput with ${w.watchers} watchers >= ${WATCH_TARGETS.minImportRatio.toFixed(2)} x without`,
      actual: `${w.importRatio.toFixed(2)} x (${Math.round(w.with.callsPerSecond)} vs ${Math.round(w.without.callsPerSecond)} calls/s)`,
      pass: w.importRatio >= WATCH_TARGETS.minImportRatio,
    },
  ];
}

/** A real login's p99 while the flood runs. */
export function evaluateLoginFloodTargets(r: LoginFloodResult): Verdict[] {
  return [
    {
      scenario: "logins",
      what: `real login p99 during a ${LOGIN_FLOOD_TARGETS.floodConcurrency}-login flood < ${LOGIN_FLOOD_TARGETS.maxRealLoginP99Ms} ms`,
      actual: `${r.duringFlood.p99Ms.toFixed(1)} ms (${r.alone.p99Ms.toFixed(1)} ms without the flood)`,
      pass: r.duringFlood.p99Ms < LOGIN_FLOOD_TARGETS.maxRealLoginP99Ms,
    },
  ];
}
