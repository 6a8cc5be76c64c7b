// Runs one measurement in a fresh load-worker process and turns its window into calls/s, latency and CPU per call.
import { fork } from "node:child_process";
import { join } from "node:path";
import { RunningDaemon } from "./daemonProcess";
import { DoneReport, ParentMessage, ScenarioName, ScenarioParams, WindowResult, WorkerMessage, WorkerSpec } from "./workerProtocol";

export interface Measurement {
  readonly scenario: ScenarioName;
  readonly concurrency: number;
  readonly window: WindowResult;
  readonly done: DoneReport;
  readonly callsPerSecond: number;
  /** CPU microseconds per successful call. */
  readonly daemonCpuPerCallUs: number;
  readonly workerCpuPerCallUs: number;
  /** Share of one core used during the window. */
  readonly daemonCores: number;
  readonly workerCores: number;
  /** Cores used by the processes named in spec.alsoMeasurePids (watcher workers), 0 when none. */
  readonly alsoMeasuredCores: number;
  /** Cores busy with anything else (other processes, the kernel's own work) during the window: noise. */
  readonly otherCores: number;
}

/** What every measured bench run is given: the daemon under test, the scenario's parameters and the window lengths. */
export interface MeasuredRunSpec {
  readonly daemon: RunningDaemon;
  readonly params: ScenarioParams;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface MeasureOptions {
  /** Called once the window is over, while the worker may still be calling (holdAfterWindow). */
  readonly afterWindow?: (window: WindowResult) => Promise<void>;
}

const WORKER_PATH = join(__dirname, "loadWorker.js");

export async function measure(spec: WorkerSpec, options: MeasureOptions = {}): Promise<Measurement> {
  const child = fork(WORKER_PATH, [], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const limitMs = spec.warmupMs + spec.durationMs + 40_000;
  let window: WindowResult | undefined;
  try {
    const done = await new Promise<DoneReport>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${spec.scenario} x${spec.concurrency}: worker gave no result within ${limitMs} ms`)), limitMs);
      child.once("error", reject);
      child.once("exit", (code, signal) => reject(new Error(`${spec.scenario} x${spec.concurrency}: worker exited early (${code ?? signal})`)));
      child.on("message", (message: WorkerMessage) => {
        if (message.type === "window") {
          window = message.result;
          const after = options.afterWindow ? options.afterWindow(message.result) : Promise.resolve();
          after.then(
            () => child.connected && child.send({ type: "stop" } satisfies ParentMessage),
            reject,
          );
        } else if (message.type === "done") {
          clearTimeout(timer);
          resolve(message.report);
        } else {
          clearTimeout(timer);
          reject(new Error(`${spec.scenario} x${spec.concurrency}: worker failed: ${message.error}`));
        }
      });
      child.send({ type: "run", spec } satisfies ParentMessage);
    });
    const w = window!;
    const seconds = w.elapsedMs / 1000;
    return {
      scenario: spec.scenario,
      concurrency: spec.concurrency,
      window: w,
      done,
      callsPerSecond: w.calls / seconds,
      daemonCpuPerCallUs: w.daemonCpuMicros / w.calls,
      workerCpuPerCallUs: w.workerCpuMicros / w.calls,
      daemonCores: w.daemonCpuMicros / 1e6 / seconds,
      workerCores: w.workerCpuMicros / 1e6 / seconds,
      alsoMeasuredCores: w.alsoMeasuredCpuMicros / 1e6 / seconds,
      otherCores: Math.max(0, w.machineBusyMicros - w.daemonCpuMicros - w.workerCpuMicros - w.alsoMeasuredCpuMicros) / 1e6 / seconds,
    };
  } finally {
    await exitOf(child, 5_000);
  }
}

/** Waits for the worker to exit on its own, then kills it (by its pid) if it lingers. */
function exitOf(child: ReturnType<typeof fork>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
