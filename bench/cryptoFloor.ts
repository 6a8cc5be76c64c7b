// Runs the crypto floor (node:crypto) and peer (SoftHSM2 C_Sign) rows, each in a fresh worker process, and turns their windows into calls/s and CPU per call.
import { fork } from "node:child_process";
import { join } from "node:path";
import { CRYPTO_OPS, CryptoMaterial, CryptoOp } from "./cryptoMaterial";
import { FloorCommand, FloorImplementation, FloorReport, FloorSpec, FloorWindow } from "./cryptoFloorWorker";
import { QUIET_WAIT_MS, waitForQuietMachine } from "./machine";
import { NOISY_OTHER_CORES } from "./rounds";
import type { BenchToken } from "./softhsmToken";

export interface FloorMeasurement {
  readonly op: CryptoOp;
  readonly implementation: FloorImplementation;
  readonly callsPerSecond: number;
  /** The worker's CPU microseconds per call: what one call costs this implementation on one thread. */
  readonly cpuPerCallUs: number;
  /** Cores the worker used (about 1 for a synchronous loop, which never waits; up to the pool's threads for nodeAsync). */
  readonly cores: number;
  /** Cores busy with anything but the worker during the window: noise. */
  readonly otherCores: number;
  /** The round of the daemon rows this window was measured in, next to its daemon row; undefined for the rows after the rounds. */
  readonly round?: number;
}

/** Calls/s, CPU per call and noise of one window. */
export function floorMeasurement(op: CryptoOp, implementation: FloorImplementation, w: FloorWindow): FloorMeasurement {
  const seconds = w.elapsedMs / 1000;
  return {
    op,
    implementation,
    callsPerSecond: w.calls / seconds,
    cpuPerCallUs: w.cpuMicros / w.calls,
    cores: w.cpuMicros / 1e6 / seconds,
    otherCores: Math.max(0, w.machineBusyMicros - w.cpuMicros) / 1e6 / seconds,
  };
}

/**
 * The rows: node:crypto for every operation; for the two signatures also node:crypto on its thread pool and SoftHSM2
 * (when a token could be made).
 */
export function floorRows(withSoftHsm: boolean, withNode = true): { op: CryptoOp; implementation: FloorImplementation }[] {
  const rows: { op: CryptoOp; implementation: FloorImplementation }[] = [];
  for (const op of CRYPTO_OPS) {
    if (withNode) rows.push({ op, implementation: "node" });
    if (op !== "aesGcmEncrypt") rows.push({ op, implementation: "nodeAsync" });
    if (withSoftHsm && op !== "aesGcmEncrypt") rows.push({ op, implementation: "softhsm2" });
  }
  return rows;
}

const WORKER_PATH = join(__dirname, "cryptoFloorWorker.js");
/** A window disturbed by other processes is measured once more; the less disturbed counts. */
const MAX_ATTEMPTS = 2;

export interface FloorRunSpec {
  readonly material: CryptoMaterial;
  readonly token: BenchToken | undefined;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly onMeasured?: (m: FloorMeasurement, retrying: boolean) => void;
  /** False when the node:crypto rows were measured inside the rounds (measureFloorRow) and are not repeated here. */
  readonly withNode?: boolean;
}

/** The rows after the rounds: node:crypto on its pool and SoftHSM2 (and node:crypto's floor unless withNode is false). */
export async function runFloors(spec: FloorRunSpec): Promise<FloorMeasurement[]> {
  const results: FloorMeasurement[] = [];
  for (const row of floorRows(spec.token !== undefined, spec.withNode ?? true)) results.push(await measureFloorRow(row, spec, undefined));
  return results;
}

/**
 * One row with the daemon rows' disturbance rule: a window with more than NOISY_OTHER_CORES of other load is measured
 * once more after the machine quietens, and the less disturbed window is kept. `round` tags a row measured inside a round.
 */
export async function measureFloorRow(
  row: { op: CryptoOp; implementation: FloorImplementation },
  spec: FloorRunSpec,
  round: number | undefined,
): Promise<FloorMeasurement> {
  let kept: FloorMeasurement | undefined;
  for (let attempt = 1; ; attempt++) {
    const window = await measureFloorWindow(
      { ...row, material: spec.material, token: row.implementation === "softhsm2" ? spec.token : undefined, warmupMs: spec.warmupMs, durationMs: spec.durationMs },
      row.implementation === "softhsm2" ? spec.token?.env : undefined,
    );
    const m: FloorMeasurement = { ...floorMeasurement(row.op, row.implementation, window), ...(round !== undefined ? { round } : {}) };
    const retry = m.otherCores > NOISY_OTHER_CORES && attempt < MAX_ATTEMPTS;
    spec.onMeasured?.(m, retry);
    if (!kept || m.otherCores < kept.otherCores) kept = m;
    if (!retry) return kept;
    await waitForQuietMachine(NOISY_OTHER_CORES, QUIET_WAIT_MS);
  }
}

/** One window in a fresh worker; `env` is added to this process's environment (SOFTHSM2_CONF for the token). */
function measureFloorWindow(spec: FloorSpec, env: NodeJS.ProcessEnv | undefined): Promise<FloorWindow> {
  const child = fork(WORKER_PATH, [], { execArgv: [], env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const limitMs = spec.warmupMs + spec.durationMs + 30_000;
  const what = `${spec.implementation} ${spec.op}`;
  return new Promise<FloorWindow>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what}: worker gave no result within ${limitMs} ms`));
    }, limitMs);
    let report: FloorReport | undefined;
    child.on("message", (message: FloorReport) => (report = message));
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // "close" comes after the exit and after the IPC channel has delivered everything, so no worker outlives its row.
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (report?.type === "window") resolve(report.window);
      else if (report?.type === "failed") reject(new Error(`${what}: ${report.error}`));
      else reject(new Error(`${what}: worker exited without a result (${code ?? signal})`));
    });
    child.send({ type: "run", spec } satisfies FloorCommand);
  });
}
