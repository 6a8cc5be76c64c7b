// Starts the watcher worker processes, waits until every stream is open, and collects their reports at the end.
import { fork, ChildProcess } from "node:child_process";
import { join } from "node:path";
import { HistogramData, LatencyHistogram } from "./latencyStats";
import { DeliveryBuckets, WatchParentMessage, WatchReport, WatchWorkerMessage, WatchWorkerSpec } from "./watchProtocol";

const WORKER_PATH = join(__dirname, "watchWorker.js");
/** The worker itself gives up connecting after 30 s; this is the parent's bound on top. */
const READY_LIMIT_MS = 40_000;

export interface FleetSpec {
  readonly address: string;
  readonly token: string;
  readonly watchers: number;
  readonly processes: number;
  readonly channelsPerProcess: number;
  readonly maxEventsPerResponse: number;
  readonly startRevision: number;
  /** Node flags of the worker processes (e.g. --cpu-prof). */
  readonly nodeArgs: readonly string[];
}

/** The reports of every worker, merged. */
export interface FleetReport extends Omit<WatchReport, "lag" | "buckets"> {
  readonly lag: LatencyHistogram;
  readonly bucketsPerProcess: readonly DeliveryBuckets[];
}

export interface RunningFleet {
  readonly pids: readonly number[];
  /** Slowest process's time from "start" to every stream having its first event. */
  readonly connectMs: number;
  /** Streams that got no event before the worker stopped waiting. */
  readonly failedToConnect: number;
  /** Waits for every watcher to have `lastRevision` (bounded by deadlineMs), ends the streams, returns the merged report. */
  finish(lastRevision: number, lastEventEpochMs: number, deadlineMs: number): Promise<FleetReport>;
  /** Kills whatever is still running (after a failure). */
  kill(): Promise<void>;
}

export const BUCKET_MS = 10;

export async function startFleet(spec: FleetSpec): Promise<RunningFleet> {
  const workers: Worker[] = [];
  try {
    for (let p = 0; p < spec.processes; p++) {
      const watchers = Math.floor(spec.watchers / spec.processes) + (p < spec.watchers % spec.processes ? 1 : 0);
      workers.push(new Worker(spec.nodeArgs, { address: spec.address, token: spec.token, watchers, channels: spec.channelsPerProcess, maxEventsPerResponse: spec.maxEventsPerResponse, startRevision: spec.startRevision, bucketMs: BUCKET_MS }));
    }
    const ready = await Promise.all(workers.map((w) => w.ready));
    return {
      pids: workers.map((w) => w.pid),
      connectMs: Math.max(...ready.map((r) => r.connectMs)),
      failedToConnect: ready.reduce((sum, r) => sum + r.failedToConnect, 0),
      finish: async (lastRevision, lastEventEpochMs, deadlineMs) => {
        try {
          return merge(await Promise.all(workers.map((w) => w.finish(lastRevision, lastEventEpochMs, deadlineMs))));
        } finally {
          await Promise.all(workers.map((w) => w.exit(5_000)));
        }
      },
      kill: async () => void (await Promise.all(workers.map((w) => w.exit(0)))),
    };
  } catch (err) {
    await Promise.all(workers.map((w) => w.exit(0)));
    throw err;
  }
}

class Worker {
  private readonly child: ChildProcess;
  readonly pid: number;
  readonly ready: Promise<{ connectMs: number; failedToConnect: number }>;
  private onReport: ((report: WatchReport) => void) | undefined;
  private onFailure: (err: Error) => void = () => {};

  constructor(nodeArgs: readonly string[], spec: WatchWorkerSpec) {
    this.child = fork(WORKER_PATH, [], { execArgv: [...nodeArgs], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    if (this.child.pid === undefined) throw new Error("could not start a watcher worker");
    this.pid = this.child.pid;
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`watcher worker: streams not open within ${READY_LIMIT_MS} ms`)), READY_LIMIT_MS);
      this.onFailure = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      this.child.on("message", (message: WatchWorkerMessage) => {
        if (message.type === "ready") {
          clearTimeout(timer);
          resolve(message);
        } else if (message.type === "report") this.onReport?.(message.report);
        else this.onFailure(new Error(`watcher worker failed: ${message.error}`));
      });
    });
    this.ready.catch(() => {});
    this.child.once("exit", (code, signal) => this.onFailure(new Error(`watcher worker exited early (${code ?? signal})`)));
    this.child.send({ type: "start", spec } satisfies WatchParentMessage);
  }

  finish(lastRevision: number, lastEventEpochMs: number, deadlineMs: number): Promise<WatchReport> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("watcher worker gave no report")), deadlineMs + 20_000);
      this.onReport = (report) => {
        clearTimeout(timer);
        resolve(report);
      };
      this.onFailure = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      this.child.send({ type: "finish", lastRevision, lastEventEpochMs, deadlineMs } satisfies WatchParentMessage);
    });
  }

  /** Waits up to graceMs for the worker to exit on its own, then kills it by its pid. */
  exit(graceMs: number): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    this.onFailure = () => {};
    return new Promise((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function merge(reports: readonly WatchReport[]): FleetReport {
  const sum = (f: (r: WatchReport) => number) => reports.reduce((s, r) => s + f(r), 0);
  const ended: Record<string, number> = {};
  for (const r of reports) for (const [reason, n] of Object.entries(r.ended)) ended[reason] = (ended[reason] ?? 0) + n;
  return {
    watchers: sum((r) => r.watchers),
    deliveries: sum((r) => r.deliveries),
    complete: sum((r) => r.complete),
    missing: sum((r) => r.missing),
    duplicates: sum((r) => r.duplicates),
    ended,
    firstProblem: reports.find((r) => r.firstProblem !== undefined)?.firstProblem,
    progressNotices: sum((r) => r.progressNotices),
    lag: LatencyHistogram.merge(reports.map((r): HistogramData => r.lag)),
    bucketsPerProcess: reports.map((r) => r.buckets),
    connectMs: Math.max(...reports.map((r) => r.connectMs)),
    waitedForLastMs: Math.max(...reports.map((r) => r.waitedForLastMs)),
    lastArrivalEpochMs: reports.some((r) => r.lastArrivalEpochMs === null) ? null : Math.max(...reports.map((r) => r.lastArrivalEpochMs!)),
    undelivered: sum((r) => r.undelivered),
    stoppedEpochMs: Math.max(...reports.map((r) => r.stoppedEpochMs)),
    cpuMicros: sum((r) => r.cpuMicros),
  };
}

/** Deliveries whose receive time falls in [fromEpochMs, toEpochMs), to bucket precision (partial buckets prorated). */
export function deliveriesBetween(buckets: readonly DeliveryBuckets[], fromEpochMs: number, toEpochMs: number): number {
  let total = 0;
  for (const b of buckets) {
    b.counts.forEach((count, i) => {
      const start = b.baseEpochMs + i * b.bucketMs;
      const overlap = Math.min(toEpochMs, start + b.bucketMs) - Math.max(fromEpochMs, start);
      if (overlap > 0) total += (count * overlap) / b.bucketMs;
    });
  }
  return total;
}
