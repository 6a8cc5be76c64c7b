// Load generator process: runs one measurement (closed loop, N concurrent callers) and reports over IPC.
import { performance } from "node:perf_hooks";
import { LatencyRecorder } from "./latencyStats";
import { cpuMicros, machineBusyMicros } from "./procCpu";
import { makeScenario } from "./scenarios";
import { UnaryClient } from "./unaryClient";
import { ParentMessage, WindowResult, WorkerMessage, WorkerSpec } from "./workerProtocol";

type Phase = "warmup" | "window" | "hold" | "stopping";

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

async function run(spec: WorkerSpec, stopRequested: Promise<void>): Promise<void> {
  const client = new UnaryClient(spec.address, spec.token);
  await client.waitForReady(10_000);
  const scenario = makeScenario(spec.scenario, spec.params);
  const latencies = new LatencyRecorder();

  let phase: Phase = "warmup";
  let inFlight = 0;
  let windowCalls = 0;
  let windowErrors = 0;
  let firstError: string | undefined;
  let errorsOutside = 0;
  let endWindow: (() => void) | undefined;
  let drained: (() => void) | undefined;

  const loop = (): void => {
    inFlight += 1;
    const started = performance.now();
    scenario.issue(client, (error) => {
      inFlight -= 1;
      const current = phase;
      if (current === "window") {
        if (error === undefined) {
          windowCalls += 1;
          latencies.record(performance.now() - started);
        } else {
          windowErrors += 1;
          firstError ??= error;
        }
        if (windowCalls + windowErrors >= spec.maxCalls) endWindow?.();
      } else if (error !== undefined) {
        errorsOutside += 1;
        if (current === "warmup") firstError ??= `during warm-up: ${error}`;
      }
      // After the window a caller stops at its first failure (the daemon was killed) or when asked to.
      const keepGoing = phase === "warmup" || phase === "window" || (phase === "hold" && error === undefined);
      if (keepGoing) loop();
      else if (inFlight === 0) drained?.();
    });
  };
  for (let i = 0; i < spec.concurrency; i++) loop();

  await sleep(spec.warmupMs);
  const cpu0 = process.cpuUsage();
  const daemon0 = cpuMicros(spec.daemonPid);
  const also0 = sumCpuMicros(spec.alsoMeasurePids);
  const machine0 = machineBusyMicros();
  const t0 = performance.now();
  latencies.reset();
  phase = "window";
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, spec.durationMs);
    endWindow = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  const t1 = performance.now();
  const daemon1 = cpuMicros(spec.daemonPid);
  const also1 = sumCpuMicros(spec.alsoMeasurePids);
  const machine1 = machineBusyMicros();
  const cpu1 = process.cpuUsage(cpu0);
  phase = spec.holdAfterWindow ? "hold" : "stopping";
  const result: WindowResult = {
    calls: windowCalls,
    errors: windowErrors,
    firstError,
    elapsedMs: t1 - t0,
    startEpochMs: performance.timeOrigin + t0,
    endEpochMs: performance.timeOrigin + t1,
    latency: latencies.summary(),
    workerCpuMicros: cpu1.user + cpu1.system,
    daemonCpuMicros: daemon1 - daemon0,
    alsoMeasuredCpuMicros: also1 - also0,
    machineBusyMicros: machine1 - machine0,
  };
  await send({ type: "window", result });

  const allStopped = new Promise<void>((resolve) => {
    drained = resolve;
    if (inFlight === 0) resolve();
  });
  // Bounded: a stop request or 15 s, whichever comes first, ends the hold.
  await Promise.race([allStopped, stopRequested.then(() => void (phase = "stopping")), sleep(15_000, false)]);
  phase = "stopping";
  await Promise.race([allStopped, sleep(5_000, false)]);
  const unanswered = inFlight;
  await send({ type: "done", report: { errorsOutsideWindow: errorsOutside, unanswered, acknowledged: scenario.acknowledged() } });
  client.close();
}

function sumCpuMicros(pids: readonly number[] | undefined): number {
  return (pids ?? []).reduce((sum, pid) => sum + cpuMicros(pid), 0);
}

/** A timer; an unreferenced one does not keep the worker alive once its work is done. */
function sleep(ms: number, keepAlive = true): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (!keepAlive) timer.unref();
  });
}

function main(): void {
  if (!process.send) {
    process.stderr.write("loadWorker is started by the benchmark with an IPC channel\n");
    process.exit(2);
  }
  let requestStop: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  process.on("message", (message: ParentMessage) => {
    if (message.type === "stop") requestStop();
    else if (message.type === "run") {
      run(message.spec, stopRequested).then(
        () => process.disconnect(),
        async (err: unknown) => {
          await send({ type: "failed", error: String((err as Error)?.stack ?? err) });
          process.disconnect();
        },
      );
    }
  });
}

main();
