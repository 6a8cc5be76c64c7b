// CPU time from /proc: one process (/proc/<pid>/stat utime + stime, all threads) or the whole machine, in microseconds; a process's resident memory.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let cachedTicks: number | undefined;

/** Kernel clock ticks per second (`getconf CLK_TCK`, almost always 100). */
export function clockTicksPerSecond(): number {
  if (cachedTicks === undefined) {
    const text = execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim();
    const ticks = Number(text);
    if (!Number.isInteger(ticks) || ticks <= 0) throw new Error(`getconf CLK_TCK printed "${text}"`);
    cachedTicks = ticks;
  }
  return cachedTicks;
}

/** utime + stime of a process in clock ticks. */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces or parentheses: count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot parse /proc/${pid}/stat`);
  return utime + stime;
}

/** utime + stime of a process in microseconds (resolution: one clock tick, usually 10 ms). */
export function cpuMicros(pid: number, ticksPerSecond: number = clockTicksPerSecond()): number {
  return (cpuTicks(pid) * 1e6) / ticksPerSecond;
}

/** CPU time all CPUs spent busy (not idle or waiting for I/O), from /proc/stat, in microseconds. */
export function machineBusyMicros(ticksPerSecond: number = clockTicksPerSecond()): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user).
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  return (busy * 1e6) / ticksPerSecond;
}

/** Resident set size of a process in bytes, now (/proc/<pid>/status VmRSS) or its peak so far (VmHWM). */
export function rssBytes(pid: number, which: "now" | "peak" = "now"): number {
  const field = which === "now" ? "VmRSS" : "VmHWM";
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}
