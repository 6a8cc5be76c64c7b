// Startup at scale: a store of N keys written directly, the daemon started on it several times (time to SERVING, memory), then FindKey by label.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FindKeyRequest, FindKeyResponse } from "../clients/generated/localcloudhsm/v1/hsm_service";
import { HsmClient } from "../clients";
import { startDaemon } from "./daemonProcess";
import { LatencyRecorder, LatencySummary } from "./latencyStats";
import { FIND_KEY } from "./methods";
import { cpuMicros, rssBytes } from "./procCpu";
import { fillStore } from "./storeFill";
import { Verdict } from "./targets";
import { UnaryClient } from "./unaryClient";
import type { LogLevel } from "../src/server/settings";

/** Issue 12's targets at 100,000 keys. */
export const STARTUP_TARGETS = { maxStartSeconds: 2, maxRssBytes: 300 * 1024 * 1024, maxFindP50Ms: 2 } as const;

const FIND_LABEL = "startup-find-target";
const BULK_LABELS = ["startup-bulk-a", "startup-bulk-b", "startup-bulk-c"];
/** Keys carrying FIND_LABEL, spread over the whole handle range (as in the method table's store). */
const FIND_MATCHES = 16;
const STARTS = 3;
const FIND_CALLS = 2000;
const BULK_CALLS = 200;

export interface StartupSpec {
  readonly keys: number;
  readonly username: string;
  readonly password: string;
  readonly scryptN: number;
  readonly nodeCount: number;
  readonly logLevel: Extract<LogLevel, "warn" | "info">;
  readonly keepData: boolean;
  readonly onProgress: (line: string) => void;
}

export interface StartRun {
  /** From spawning the process to the first Health/Check answering SERVING. */
  readonly seconds: number;
  /** The daemon's own CPU (all threads) over that time. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  readonly peakRssBytes: number;
}

export interface StartupResult {
  /** The same daemon started on a store holding only the user: what any start costs on this machine now. */
  readonly empty: readonly StartRun[];
  readonly emptyMedian: StartRun;
  readonly keys: number;
  readonly fillSeconds: number;
  readonly storeBytes: number;
  readonly starts: readonly StartRun[];
  /** The run with the median start time. */
  readonly median: StartRun;
  readonly findMatches: number;
  readonly find: LatencySummary;
  /** FindKey of a label a third of the keys carry: the first page (1,000 handles) and the total count. */
  readonly bulkMatches: number;
  readonly bulk: LatencySummary;
}

export async function runStartupBench(spec: StartupSpec): Promise<StartupResult> {
  const emptyDir = mkdtempSync(join(tmpdir(), "local-cloudhsm-bench-startup-empty-"));
  const dataDir = mkdtempSync(join(tmpdir(), "local-cloudhsm-bench-startup-"));
  try {
    const fill = (dir: string, keys: number) =>
      fillStore({
        dataDir: dir,
        username: spec.username,
        password: spec.password,
        scryptN: spec.scryptN,
        keys,
        nodeCount: spec.nodeCount,
        findLabel: FIND_LABEL,
        findEvery: Math.max(1, Math.floor(keys / FIND_MATCHES)),
        bulkLabels: BULK_LABELS,
      });
    await fill(emptyDir, 0);
    const empty = await startRepeatedly(spec, emptyDir, "empty store");
    const filled = await fill(dataDir, spec.keys);
    spec.onProgress(`store of ${spec.keys} keys written in ${filled.seconds.toFixed(1)} s (${(filled.storeBytes / 1e6).toFixed(0)} MB)`);
    let measured: Awaited<ReturnType<typeof measureFindKey>> | undefined;
    const starts = await startRepeatedly(spec, dataDir, `${spec.keys} keys`, async (address) => {
      measured = await measureFindKey(address, spec, filled.findHandles.length);
    });
    return {
      empty,
      emptyMedian: median(empty),
      keys: spec.keys,
      fillSeconds: filled.seconds,
      storeBytes: filled.storeBytes,
      starts,
      median: median(starts),
      findMatches: filled.findHandles.length,
      ...measured!,
    };
  } finally {
    if (!spec.keepData) {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(emptyDir, { recursive: true, force: true });
    }
  }
}

/** Starts the daemon on `dataDir` STARTS times, one after the other; `onLast` runs against the last before it stops. */
async function startRepeatedly(spec: StartupSpec, dataDir: string, what: string, onLast?: (address: string) => Promise<void>): Promise<StartRun[]> {
  const settings = { dataDir, logLevel: spec.logLevel, scryptN: spec.scryptN, nodeCount: spec.nodeCount };
  const starts: StartRun[] = [];
  for (let run = 1; run <= STARTS; run++) {
    const spawned = process.hrtime.bigint();
    const daemon = await startDaemon({ settings });
    try {
      const seconds = Number(process.hrtime.bigint() - spawned) / 1e9;
      starts.push({ seconds, cpuSeconds: cpuMicros(daemon.pid) / 1e6, rssBytes: rssBytes(daemon.pid), peakRssBytes: rssBytes(daemon.pid, "peak") });
      spec.onProgress(`${what}: start ${run} of ${STARTS} serving after ${seconds.toFixed(2)} s`);
      if (run === STARTS && onLast) await onLast(daemon.address);
    } finally {
      await daemon.stop();
    }
  }
  return starts;
}

function median(starts: readonly StartRun[]): StartRun {
  return [...starts].sort((a, b) => a.seconds - b.seconds)[Math.floor(starts.length / 2)]!;
}

/** One caller, one call at a time: the latency of FindKey itself, not of a queue. */
async function measureFindKey(
  address: string,
  spec: StartupSpec,
  expected: number,
): Promise<{ find: LatencySummary; bulk: LatencySummary; bulkMatches: number }> {
  const hsm = new HsmClient(address);
  await hsm.login(spec.username, spec.password);
  const token = (hsm.metadata().get("authorization")[0] as string).replace(/^Bearer /, "");
  const client = new UnaryClient(address, token);
  try {
    await client.waitForReady(10_000);
    const rare = await timedCalls(client, FindKeyRequest.fromPartial({ label: FIND_LABEL }), FIND_CALLS, (res) => res.keyHandles.length === expected, `${expected} handles`);
    const bulkRequest = FindKeyRequest.fromPartial({ label: BULK_LABELS[0] });
    let bulkMatches = 0;
    const bulk = await timedCalls(client, bulkRequest, BULK_CALLS, (res) => ((bulkMatches = res.totalSize), res.keyHandles.length > 0), "a first page");
    return { find: rare, bulk, bulkMatches };
  } finally {
    client.close();
    hsm.close();
  }
}

async function timedCalls(client: UnaryClient, request: FindKeyRequest, calls: number, ok: (res: FindKeyResponse) => boolean, what: string): Promise<LatencySummary> {
  const latencies = new LatencyRecorder();
  for (let i = 0; i < calls; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) =>
      client.call(FIND_KEY, request, (err, res) => {
        if (err) return reject(err);
        if (!res || !ok(res)) return reject(new Error(`FindKey did not return ${what}`));
        latencies.record(Number(process.hrtime.bigint() - started) / 1e6);
        resolve();
      }),
    );
  }
  return latencies.summary();
}

export function evaluateStartupTargets(r: StartupResult): Verdict[] {
  const t = STARTUP_TARGETS;
  const at = r.keys.toLocaleString("en-US");
  return [
    {
      scenario: "startup",
      what: `SERVING with ${at} keys in < ${t.maxStartSeconds} s (median of ${r.starts.length} starts)`,
      actual: `${r.median.seconds.toFixed(2)} s`,
      pass: r.median.seconds < t.maxStartSeconds,
    },
    {
      scenario: "startup",
      what: `RSS at SERVING < ${mib(t.maxRssBytes)} MiB (largest of ${r.starts.length} starts)`,
      actual: `${mib(Math.max(...r.starts.map((s) => s.rssBytes)))} MiB`,
      pass: Math.max(...r.starts.map((s) => s.rssBytes)) < t.maxRssBytes,
    },
    { scenario: "startup", what: `FindKey by label p50 < ${t.maxFindP50Ms} ms at ${at} keys`, actual: `${r.find.p50Ms.toFixed(2)} ms`, pass: r.find.p50Ms < t.maxFindP50Ms },
  ];
}

export function startupLines(r: StartupResult): string {
  const lat = (s: LatencySummary): string => `p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms, mean ${s.meanMs.toFixed(2)} ms over ${s.count} calls`;
  const line = (what: string, s: StartRun): string =>
    `  ${what.padEnd(24)} SERVING after ${s.seconds.toFixed(2)} s, daemon CPU ${s.cpuSeconds.toFixed(2)} s, RSS ${mib(s.rssBytes)} MiB (peak ${mib(s.peakRssBytes)} MiB)`;
  const keys = r.keys.toLocaleString("en-US");
  return [
    ...r.empty.map((s, i) => line(`empty store, start ${i + 1}:`, s)),
    ...r.starts.map((s, i) => line(`${keys} keys, start ${i + 1}:`, s)),
    `  ${keys} keys vs empty store (medians): ${(r.median.seconds / r.emptyMedian.seconds).toFixed(2)}x the time to SERVING, ` +
      `+${(r.median.cpuSeconds - r.emptyMedian.cpuSeconds).toFixed(2)} s daemon CPU, +${mib(r.median.rssBytes - r.emptyMedian.rssBytes)} MiB RSS`,
    `  FindKey label selecting ${r.findMatches} of ${r.keys.toLocaleString("en-US")} keys, one caller: ${lat(r.find)}`,
    `  FindKey label selecting ${r.bulkMatches.toLocaleString("en-US")} keys (first page of 1,000 and the total), one caller: ${lat(r.bulk)}`,
  ].join("\n");
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(0);
}
