// Formats the results as a plain-text table with the target verdicts next to the ratios they judge.
import { DurabilityReport } from "./durability";
import { Measurement } from "./measure";
import { NOISY_OTHER_CORES } from "./rounds";
import { cpuRatio, TARGET_CONCURRENCY, TARGET_RULES, throughputRatio, Verdict } from "./targets";
import { ScenarioName } from "./workerProtocol";

export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  ceiling: "ceiling (Health/Check)",
  getAttribute: "GetAttribute (KCV)",
  findKey: "FindKey (label)",
  importSymKey: "ImportSymKey (token)",
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

export function verdictLines(verdicts: readonly Verdict[]): string {
  return verdicts.map((v) => `  ${v.pass ? "PASS" : v.skipped ? "SKIP" : "FAIL"}  ${SCENARIO_TITLES[v.scenario]}: ${v.what}: ${v.actual}`).join("\n");
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

/** Pads columns; columns in `leftAligned` are left-aligned, the rest right-aligned. */
function alignColumns(table: readonly string[][], leftAligned: ReadonlySet<number>): string {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) => row.map((cell, i) => (leftAligned.has(i) ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(table[0]!), rule, ...table.slice(1).map(line)].join("\n");
}
