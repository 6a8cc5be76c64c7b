// Describes the machine and run for the report: date, CPUs, CPU model, node, clock ticks, filesystem, source commit, background load.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { clockTicksPerSecond, machineBusyMicros } from "./procCpu";

/** The package root (this file runs as dist/bench/machine.js). */
const PACKAGE_ROOT = resolve(__dirname, "..", "..");

export interface MachineInfo {
  readonly dateUtc: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly clockTicks: number;
  readonly dataDirFilesystem: string;
  /** The commit the daemon was built from, "+local changes" when src/ or clients/ differ from it. */
  readonly sourceRevision: string;
}

export function describeMachine(dataDir: string): MachineInfo {
  return {
    dateUtc: run("date", ["-u"]) ?? new Date().toUTCString(),
    cpus: Number(run("nproc", [])) || availableParallelism(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown",
    node: process.version,
    clockTicks: clockTicksPerSecond(),
    dataDirFilesystem: run("stat", ["-f", "-c", "%T", dataDir]) ?? "unknown",
    sourceRevision: sourceRevision(),
  };
}

function sourceRevision(): string {
  const commit = run("git", ["rev-parse", "--short", "HEAD"]);
  if (commit === undefined) return "unknown (not a git checkout)";
  const dirty = run("git", ["status", "--porcelain", "--", "src", "clients", "proto"]);
  return dirty ? `${commit} +local changes in src/clients/proto` : commit;
}

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: "utf8", cwd: PACKAGE_ROOT, stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/** Cores the machine keeps busy over `ms` while the benchmark does nothing: other processes, i.e. noise. */
export async function otherLoadCores(ms: number): Promise<number> {
  const before = machineBusyMicros();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (machineBusyMicros() - before) / 1000 / ms;
}

/** How long the bench waits at most, before a run or a retry, for other processes to quiet down. */
export const QUIET_WAIT_MS = 3_000;

/** Waits (at most maxWaitMs) until the machine's load over a 500 ms sample is below `cores`; resolves with the last sample. */
export async function waitForQuietMachine(cores: number, maxWaitMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const load = await otherLoadCores(500);
    if (load < cores || Date.now() - started >= maxWaitMs) return load;
  }
}
