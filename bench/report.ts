// Formats the results as plain-text tables with the target verdicts next to the figures they judge; the crypto rows' table; the watchers benchmark's lines.
import { FloorMeasurement } from "./cryptoFloor";
import { CRYPTO_OP_TITLES, CRYPTO_OPS, CryptoOp } from "./cryptoMaterial";
import { DurabilityReport } from "./durability";
import { Measurement } from "./measure";
import { NOISY_OTHER_CORES } from "./rounds";
import { cpuRatio, cpuRatioToFloor, CRYPTO_CPU_TARGETS, TARGET_CONCURRENCY, TARGET_RULES, throughputRatio, Verdict } from "./targets";
import type { WatchBenchResult } from "./watchBench";
import { ScenarioName } from "./workerProtocol";

export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  ceiling: "ceiling (Health/Check)",
  getAttribute: "GetAttribute (KCV)",
  findKey: "FindKey (label)",
  importSymKey: "ImportSymKey (token)",
  aesGcmEncrypt: "Encrypt (AES-GCM 4 KiB)",
  ecdsaSign: "Sign (ECDSA P-256)",
  rsaSign: "Sign (RSA-2048 PKCS#1)",
};

const FLOOR_TITLES: Record<FloorMeasurement["implementation"], string> = {
  node: "node:crypto, 1 thread in-process",
  nodeAsync: "node:crypto async (libuv pool), 4 in flight",
  softhsm2: "SoftHSM2 C_Sign, 1 thread in-process",
};

const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");
const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : "-");

export function resultsTable(results: readonly Measurement[]): string {
  const header = ["method", "conc", "calls/s", "p50 ms", "p99 ms", "daemon us/call", "loadgen us/call", "daemon cores", "loadgen cores", "other cores", "calls/s vs ceiling", "daemon CPU/call vs ceiling"];
  const rows: string[][] = [];
  for (const m of results) {
    const ceiling = results.find((c) => c.scenario === "ceiling" && c.concurrency === m.concurrency);
    const rule = m.concurrency === TARGET_CONCURRENCY ? TARGET_RULES.find((r) => r.scenario === m.scenario) : undefined;
    const tput = ceiling ? throughputRatio(m, ceiling) : NaN;
    const cpu = ceiling ? cpuRatio(m, ceiling) : NaN;
    const tputCell = fixed(tput, 2) + (rule ? ` (>=${rule.minThroughputRatio.toFixed(2)} ${tput >= rule.minThroughputRatio ? "PASS" : "FAIL"})` : "");
    const cpuCell = fixed(cpu, 2) + (rule?.maxCpuRatio !== undefined ? ` (<=${rule.maxCpuRatio.toFixed(1)} ${cpu <= rule.maxCpuRatio ? "PASS" : "FAIL"})` : "");
    rows.push([
      SCENARIO_TITLES[m.scenario],
      String(m.concurrency),
      int(m.callsPerSecond),
      fixed(m.window.latency.p50Ms, 2),
      fixed(m.window.latency.p99Ms, 2),
      int(m.daemonCpuPerCallUs),
      int(m.workerCpuPerCallUs),
      fixed(m.daemonCores, 2),
      fixed(m.workerCores, 2),
      fixed(m.otherCores, 2) + (m.otherCores > NOISY_OTHER_CORES ? "*" : " "),
      tputCell,
      cpuCell,
    ]);
  }
  return alignColumns([header, ...rows], new Set([0]));
}

/**
 * Per operation: node:crypto's floor, SoftHSM2's C_Sign (signatures) and the daemon at each concurrency, with
 * everyone's CPU per call and its ratio to node:crypto's; for the daemon also calls/s against the ceiling.
 */
export function cryptoTable(results: readonly Measurement[], floors: readonly FloorMeasurement[], unavailable: Partial<Record<CryptoOp, string>>): string {
  const header = ["operation", "done by", "calls/s", "CPU us/call", "CPU/call vs node:crypto", "calls/s vs ceiling", "other cores"];
  const rows: string[][] = [];
  for (const op of CRYPTO_OPS) {
    const node = floors.find((f) => f.op === op && f.implementation === "node");
    for (const f of floors.filter((x) => x.op === op)) {
      rows.push([CRYPTO_OP_TITLES[op], FLOOR_TITLES[f.implementation], int(f.callsPerSecond), int(f.cpuPerCallUs), node ? fixed(f.cpuPerCallUs / node.cpuPerCallUs, 2) : "-", "", noise(f.otherCores)]);
    }
    if (unavailable[op] !== undefined) rows.push([CRYPTO_OP_TITLES[op], "daemon: not measured (see the verdicts)", "-", "-", "-", "-", "-"]);
    for (const m of results.filter((r) => r.scenario === op)) {
      const ceiling = results.find((c) => c.scenario === "ceiling" && c.concurrency === m.concurrency);
      const atTarget = m.concurrency === TARGET_CONCURRENCY;
      const tputRule = atTarget ? TARGET_RULES.find((r) => r.scenario === op) : undefined;
      const cpuRule = atTarget ? CRYPTO_CPU_TARGETS.find((r) => r.scenario === op) : undefined;
      const tput = ceiling ? throughputRatio(m, ceiling) : NaN;
      const cpu = node ? cpuRatioToFloor(m, node) : NaN;
      rows.push([
        CRYPTO_OP_TITLES[op],
        `daemon x${m.concurrency} (gRPC; daemon process CPU)`,
        int(m.callsPerSecond),
        int(m.daemonCpuPerCallUs),
        fixed(cpu, 2) + (cpuRule ? ` (<=${cpuRule.maxCpuRatioToNode.toFixed(1)} ${cpu <= cpuRule.maxCpuRatioToNode ? "PASS" : "FAIL"})` : ""),
        fixed(tput, 2) + (tputRule ? ` (>=${tputRule.minThroughputRatio.toFixed(2)} ${tput >= tputRule.minThroughputRatio ? "PASS" : "FAIL"})` : ""),
        noise(m.otherCores),
      ]);
    }
  }
  return alignColumns([header, ...rows], new Set([0, 1]));
}

const noise = (otherCores: number): string => fixed(otherCores, 2) + (otherCores > NOISY_OTHER_CORES ? "*" : " ");

export function verdictLines(verdicts: readonly Verdict[]): string {
  return verdicts
    .map((v) => `  ${v.pass ? "PASS" : v.skipped ? "SKIP" : "FAIL"}  ${v.scenario === "watchers" || v.scenario === "logins" || v.scenario === "startup" ? v.scenario : SCENARIO_TITLES[v.scenario]}: ${v.what}: ${v.actual}`)
    .join("\n");
}

export function durabilityLine(d: DurabilityReport, unansweredAtKill: number, restartSeconds: number): string {
  const missing = d.acknowledged - d.present;
  return (
    `durability: ${d.acknowledged} ImportSymKey calls acknowledged (all import runs), ${d.present} present after kill -9 and restart, ` +
    `${missing} missing${missing > 0 ? ` (e.g. ${d.missingSample.join(", ")})` : ""}, ${d.kcvMismatches} KCV mismatches; ` +
    `restart to SERVING took ${restartSeconds.toFixed(1)} s; ` +
    `${unansweredAtKill} imports were in flight at the kill, ${d.presentUnacknowledged} unacknowledged imports were committed anyway`
  );
}

/** The watchers benchmark: the two import runs side by side, then deliveries, lag, loss and CPU. */
export function watchLines(w: WatchBenchResult): string {
  const header = ["run", "imports/s", "p50 ms", "p99 ms", "daemon us/import", "daemon cores", "loadgen cores", "watcher cores", "other cores"];
  const row = (title: string, m: WatchBenchResult["without"]): string[] => [
    title,
    int(m.callsPerSecond),
    fixed(m.window.latency.p50Ms, 2),
    fixed(m.window.latency.p99Ms, 2),
    int(m.daemonCpuPerCallUs),
    fixed(m.daemonCores, 2),
    fixed(m.workerCores, 2),
    fixed(m.alsoMeasuredCores, 2),
    fixed(m.otherCores, 2) + (m.otherCores > NOISY_OTHER_CORES ? "*" : " "),
  ];
  const table = alignColumns(
    [header, row(`${SCENARIO_TITLES.importSymKey} x${w.concurrency}, no watchers`, w.without), row(`${SCENARIO_TITLES.importSymKey} x${w.concurrency}, ${int(w.watchers)} watchers`, w.with)],
    new Set([0]),
  );
  const ended = Object.entries(w.report.ended);
  const tooSlow = w.report.ended["WATCHER_TOO_SLOW"] ?? 0;
  const bound = w.report.undelivered > 0 ? ">= " : "";
  return [
    table,
    `delivered: ${int(w.windowDeliveriesPerSecond)} events/s to the watchers during the with-watchers import window ` +
      `(${int(w.windowPerWatcherPerSecond)} per watcher, while the imports produced ~${int(w.producedEventsPerSecond)} events/s); ` +
      `${int(w.report.deliveries)} deliveries in all (${int(w.revisions)} revisions x ${int(w.watchers)} = ${int(w.revisions * w.watchers)} expected)`,
    `event lag (receive time - event time over all ${int(w.lag.count)} deliveries, +0..1 ms from the daemon's ms stamps): ` +
      `p50 ${bound}${fixed(w.lag.p50Ms, 1)} ms, p99 ${bound}${fixed(w.lag.p99Ms, 1)} ms, max ${bound}${fixed(w.lag.maxMs, 1)} ms` +
      (w.report.undelivered > 0
        ? ` (${int(w.report.undelivered)} deliveries had not happened ${fixed(w.lastRevisionDeadlineMs / 1000, 0)} s after the last event; ` +
          `they count with the lag they had reached then, a lower bound)`
        : `, mean ${fixed(w.lag.meanMs, 1)} ms; the last event reached the last watcher ${fixed(w.lastArrivalAfterMs, 0)} ms after it was stamped`),
    `loss: ${w.report.complete}/${int(w.watchers)} watchers received every revision ${w.startRevision}..${w.lastRevision} exactly once; ` +
      `${int(w.report.missing)} skipped, ${int(w.report.duplicates)} duplicates, ${int(w.report.undelivered)} not delivered within ` +
      `${fixed(w.lastRevisionDeadlineMs / 1000, 0)} s, ${tooSlow} ended WATCHER_TOO_SLOW` +
      (ended.length > 0 ? ` (streams ended early: ${ended.map(([reason, n]) => `${n} ${reason}`).join(", ")})` : ", no stream ended early") +
      (w.report.firstProblem ? `; first problem: ${w.report.firstProblem}` : ""),
    `CPU per delivered event, import window: daemon ${fixed(w.daemonUsPerDelivery, 1)} us (all its CPU / deliveries), ` +
      `${fixed(w.daemonMarginalUsPerDelivery, 1)} us marginal (minus the imports at their cost without watchers); ` +
      `watcher process(es) ${fixed(w.watcherCores, 2)} cores, ${fixed(w.watcherUsPerDelivery, 1)} us per delivery`,
    `after the imports stopped (backlog drain, ${fixed(w.drain.seconds, 1)} s): ${int(w.drain.deliveriesPerSecond)} deliveries/s; ` +
      `daemon ${fixed(w.drain.daemonCores, 2)} cores, ${fixed(w.drain.daemonUsPerDelivery, 1)} us per delivery; ` +
      `watcher process(es) ${fixed(w.drain.watcherCores, 2)} cores, ${fixed(w.drain.watcherUsPerDelivery, 1)} us per delivery`,
    `daemon resident memory: ${int(w.daemonRssMb.beforeWatchers)} MB before the watchers, ${int(w.daemonRssMb.afterImports)} MB after the import run, ` +
      `${int(w.daemonRssMb.peak)} MB at its peak (VmHWM at the end)`,
  ].join("\n");
}

/** Pads columns; columns in `leftAligned` are left-aligned, the rest right-aligned. */
function alignColumns(table: readonly string[][], leftAligned: ReadonlySet<number>): string {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) => row.map((cell, i) => (leftAligned.has(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(table[0]!), rule, ...table.slice(1).map(line)].join("\n");
}
