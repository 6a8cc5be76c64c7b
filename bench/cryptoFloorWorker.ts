// Floor/peer worker process: repeats one crypto operation (node:crypto or SoftHSM2 C_Sign) in a tight loop on one thread and reports calls and CPU over IPC.
import { performance } from "node:perf_hooks";
import { CryptoMaterial, CryptoOp } from "./cryptoMaterial";
import { CryptoImplementation, nodeImplementation } from "./nodeCryptoOps";
import { machineBusyMicros } from "./procCpu";
import { SoftHsmTokenRef, softhsmImplementation } from "./softhsmPeer";

/** Who does the operation: node:crypto in this process, or SoftHSM2's PKCS#11 module loaded into it. */
export type FloorImplementation = "node" | "softhsm2";

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
  if (spec.op === "aesGcmEncrypt") throw new Error("the SoftHSM2 peer rows sign only");
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

function run(spec: FloorSpec): FloorWindow {
  const impl = implementationFor(spec);
  try {
    const problem = impl.selfCheck();
    if (problem !== undefined) throw new Error(`${spec.implementation} ${spec.op}: ${problem}`);
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
    let report: FloorReport;
    try {
      report = { type: "window", window: run(message.spec) };
    } catch (err) {
      report = { type: "failed", error: String((err as Error)?.stack ?? err) };
    }
    void send(report).then(() => process.disconnect());
  });
}

main();
