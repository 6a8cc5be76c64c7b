// Messages between the benchmark (parent) and a load worker process (child), over the fork() IPC channel.
import { LatencySummary } from "./latencyStats";

export type ScenarioName = "ceiling" | "getAttribute" | "findKey" | "importSymKey" | "aesGcmEncrypt" | "ecdsaSign" | "rsaSign";

/** The daemon's handles of the crypto rows' keys (see cryptoSetup.ts); absent where the daemon could not take the key. */
export interface CryptoHandles {
  /** AES-256 secret key for AES-GCM Encrypt. */
  readonly aesKey?: number;
  /** EC P-256 private key for ECDSA Sign. */
  readonly ecPrivateKey?: number;
  /** RSA-2048 private key for PKCS#1 v1.5 Sign. */
  readonly rsaPrivateKey?: number;
}

/** What the scenarios need to know about the prepared store. */
export interface ScenarioParams {
  /** A key whose KCV GetAttribute reads. */
  readonly kcvHandle: number;
  /** The FindKey label filter and how many handles it must return. */
  readonly findLabel: string;
  readonly findExpected: number;
  /** The AES wrapping key ImportSymKey imports under, and the label of imported keys. */
  readonly wrappingKey: number;
  readonly importLabel: string;
  /** The crypto rows' keys, when they are measured. */
  readonly crypto?: CryptoHandles;
}

export interface WorkerSpec {
  readonly address: string;
  readonly token: string;
  readonly daemonPid: number;
  readonly scenario: ScenarioName;
  readonly params: ScenarioParams;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The window also ends after this many calls. */
  readonly maxCalls: number;
  /**
   * Keep calling after the window until calls fail (the parent kills the daemon) or "stop" arrives;
   * used to SIGKILL the daemon with imports in flight.
   */
  readonly holdAfterWindow: boolean;
  /** Other processes (e.g. watcher workers) whose CPU is read at the window's start and end, like the daemon's. */
  readonly alsoMeasurePids?: readonly number[];
}

/** One measurement window as the worker saw it. */
export interface WindowResult {
  readonly calls: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  readonly elapsedMs: number;
  /** The window's start and end as epoch milliseconds (performance.timeOrigin + performance.now()), to line up other processes' records. */
  readonly startEpochMs: number;
  readonly endEpochMs: number;
  readonly latency: LatencySummary;
  /** The worker's own CPU (user + system, all threads) during the window. */
  readonly workerCpuMicros: number;
  /** The daemon's CPU from /proc/<pid>/stat, read by the worker at the same instants. */
  readonly daemonCpuMicros: number;
  /** CPU of the processes in spec.alsoMeasurePids during the window, summed (0 when none). */
  readonly alsoMeasuredCpuMicros: number;
  /** Busy CPU time of the whole machine (every process, /proc/stat) during the window. */
  readonly machineBusyMicros: number;
}

/** A key ImportSymKey acknowledged, with the KCV its material must have. */
export interface AcknowledgedKey {
  readonly handle: number;
  readonly kcvHex: string;
}

export interface DoneReport {
  /** Calls that failed outside the window (during warm-up, or after the daemon was killed). */
  readonly errorsOutsideWindow: number;
  /** Calls still unanswered when the worker stopped calling. */
  readonly unanswered: number;
  /** Every key acknowledged during warm-up, window and hold (import scenario only). */
  readonly acknowledged: readonly AcknowledgedKey[];
}

export type ParentMessage = { readonly type: "run"; readonly spec: WorkerSpec } | { readonly type: "stop" };

export type WorkerMessage =
  | { readonly type: "window"; readonly result: WindowResult }
  | { readonly type: "done"; readonly report: DoneReport }
  | { readonly type: "failed"; readonly error: string };
