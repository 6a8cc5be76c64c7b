// Floor/peer worker process: repeats one crypto operation (node:crypto, sync or on libuv's pool, or SoftHSM2 C_Sign) back to back and reports calls and CPU over IPC.
import { performance } from "node:perf_hooks";
import { CryptoMaterial, CryptoOp } from "./cryptoMaterial";
import { ASYNC_IN_FLIGHT, CryptoImplementation, nodeAsyncImplementation, nodeImplementation } from "./nodeCryptoOps";
import { machineBusyMicros } from "./procCpu";
import { SoftHsmTokenRef, softhsmImplementation } from "./softhsmPeer";

/**
 * Who does the operation: node:crypto in this process on the main thread (the floor), node:crypto's callback form
 * on libuv's thread pool as the daemon calls it (signatures only), or SoftHSM2's PKCS#11 module loaded into it.
 */
export type FloorImplementation = "node" | "nodeAsync" | "softhsm2";

export interface FloorSpec {
  readonly implementation: FloorImplementation;
  readonly op: CryptoOp;
  readonly material: CryptoMaterial;
  /** Required for softhsm2; SOFTHSM2_CONF comes with the process's environment. */
  readonly token?: SoftHsmTokenRef;
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** One window of the loop as the worker saw it. */
export interface FloorWindow {
  readonly calls: number;
  readonly elapsedMs: number;
  /** This process's CPU (user + system, all threads) during the window. */
  readonly cpuMicros: number;
  /** Busy CPU time of the whole machine during the window (/proc/stat). */
  readonly machineBusyMicros: number;
}

export type FloorCommand = { readonly type: "run"; readonly spec: FloorSpec };
export type FloorReport = { readonly type: "window"; readonly window: FloorWindow } | { readonly type: "failed"; readonly error: string };

function implementationFor(spec: FloorSpec): CryptoImplementation {
  if (spec.implementation === "node") return nodeImplementation(spec.op, spec.material);
  if (spec.op === "aesGcmEncrypt") throw new Error(`the ${spec.implementation} rows sign only`);
  if (spec.implementation === "nodeAsync") return nodeAsyncImplementation(spec.op, spec.material);
  if (!spec.token) throw new Error("softhsm2 needs a token");
  return softhsmImplementation(spec.op, spec.material, spec.token);
}

/** Calls `call` back to back until `ms` have passed; returns how many calls completed. */
function loopFor(call: () => void, ms: number): { calls: number; elapsedMs: number } {
  const started = performance.now();
  const end = started + ms;
  let calls = 0;
  let now = started;
  while (now < end) {
    call();
    calls += 1;
    now = performance.now();
  }
  return { calls, elapsedMs: now - started };
}

/**
 * Keeps `inFlight` asynchronous calls going (each completion starts the next) through the warm-up and the window;
 * the window's calls are those completed in it.
 */
async function asyncWindow(callAsync: NonNullable<CryptoImplementation["callAsync"]>, inFlight: number, warmupMs: number, durationMs: number): Promise<FloorWindow> {
  let completed = 0;
  let running = 0;
  let stopping = false;
  let failure: Error | undefined;
  let drained: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (drained = resolve));
  const next = (): void => {
    running += 1;
    callAsync((err) => {
      running -= 1;
      if (err) failure ??= err;
      else completed += 1;
      if (!stopping && failure === undefined) next();
      else if (running === 0) drained();
    });
  };
  for (let i = 0; i < inFlight; i++) next();
  await sleep(warmupMs);
  const calls0 = completed;
  const cpu0 = process.cpuUsage();
  const machine0 = machineBusyMicros();
  const t0 = performance.now();
  await sleep(durationMs);
  const calls = completed - calls0;
  const elapsedMs = performance.now() - t0;
  const machine1 = machineBusyMicros();
  const cpu = process.cpuUsage(cpu0);
  stopping = true;
  await allDone;
  if (failure) throw failure;
  return { calls, elapsedMs, cpuMicros: cpu.user + cpu.system, machineBusyMicros: machine1 - machine0 };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function run(spec: FloorSpec): Promise<FloorWindow> {
  const impl = implementationFor(spec);
  try {
    const problem = impl.selfCheck();
    if (problem !== undefined) throw new Error(`${spec.implementation} ${spec.op}: ${problem}`);
    if (impl.callAsync) return await asyncWindow(impl.callAsync, ASYNC_IN_FLIGHT, spec.warmupMs, spec.durationMs);
    loopFor(impl.call, spec.warmupMs);
    const cpu0 = process.cpuUsage();
    const machine0 = machineBusyMicros();
    const { calls, elapsedMs } = loopFor(impl.call, spec.durationMs);
    const machine1 = machineBusyMicros();
    const cpu = process.cpuUsage(cpu0);
    return { calls, elapsedMs, cpuMicros: cpu.user + cpu.system, machineBusyMicros: machine1 - machine0 };
  } finally {
    impl.close();
  }
}

function send(message: FloorReport): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

function main(): void {
  if (!process.send) {
    process.stderr.write("cryptoFloorWorker is started by the benchmark with an IPC channel\n");
    process.exit(2);
  }
  process.once("message", (message: FloorCommand) => {
    run(message.spec)
      .then(
        (window): FloorReport => ({ type: "window", window }),
        (err: unknown): FloorReport => ({ type: "failed", error: String((err as Error)?.stack ?? err) }),
      )
      .then(send)
      .then(() => process.disconnect(), () => process.disconnect());
  });
}

main();
