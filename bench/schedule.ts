// The measurement schedule: every scenario at every concurrency, N interleaved rounds, the last import run ending in kill -9.
import { RunningDaemon } from "./daemonProcess";
import { measure, Measurement } from "./measure";
import { SCENARIO_TITLES } from "./report";
import { settle } from "./settle";
import { AcknowledgedKey, ScenarioName, ScenarioParams } from "./workerProtocol";

export const SCENARIOS: readonly ScenarioName[] = ["ceiling", "getAttribute", "findKey", "importSymKey"];

/** How long imports keep running after the last window before the daemon is killed under them. */
const KILL_DELAY_MS = 200;

export interface ScheduleSpec {
  readonly daemon: RunningDaemon;
  readonly token: string;
  readonly params: ScenarioParams;
  readonly rounds: number;
  readonly concurrencies: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  /** SIGKILL the daemon while the very last import run is still importing. */
  readonly killAtEnd: boolean;
  readonly onMeasured?: (m: Measurement, round: number, settledAfterMs: number) => void;
}

export interface ScheduleResult {
  /** Every measurement of every round, in order. */
  readonly all: Measurement[];
  /** Every key any import run had acknowledged, the killed one included. */
  readonly acknowledged: AcknowledgedKey[];
  /** Imports unanswered when the daemon was killed. */
  readonly unansweredAtKill: number;
}

export async function runSchedule(spec: ScheduleSpec): Promise<ScheduleResult> {
  const all: Measurement[] = [];
  const acknowledged: AcknowledgedKey[] = [];
  let unansweredAtKill = 0;
  const lastConcurrency = spec.concurrencies[spec.concurrencies.length - 1];
  for (let round = 1; round <= spec.rounds; round++) {
    for (const concurrency of spec.concurrencies) {
      for (const scenario of SCENARIOS) {
        const killAfter = spec.killAtEnd && round === spec.rounds && concurrency === lastConcurrency && scenario === "importSymKey";
        const quiet = await settle(spec.daemon.pid);
        if (!quiet.idle) process.stderr.write(`  daemon still busy after ${quiet.waitedMs} ms; measuring anyway\n`);
        const killDaemon = async (): Promise<void> => {
          await new Promise((resolve) => setTimeout(resolve, KILL_DELAY_MS));
          await spec.daemon.kill9();
        };
        const m = await measure(
          {
            address: spec.daemon.address,
            token: spec.token,
            daemonPid: spec.daemon.pid,
            scenario,
            params: spec.params,
            concurrency,
            warmupMs: spec.warmupMs,
            durationMs: spec.durationMs,
            maxCalls: 1_000_000,
            holdAfterWindow: killAfter,
          },
          killAfter ? { afterWindow: killDaemon } : {},
        );
        // After the kill, failures are expected; anywhere else one failed call spoils the measurement.
        const failed = m.window.errors + (killAfter ? 0 : m.done.errorsOutsideWindow);
        if (failed > 0) throw new Error(`${SCENARIO_TITLES[scenario]} x${concurrency}: ${failed} calls failed, first: ${m.window.firstError}`);
        if (killAfter) unansweredAtKill = m.done.errorsOutsideWindow + m.done.unanswered;
        acknowledged.push(...m.done.acknowledged);
        all.push(m);
        spec.onMeasured?.(m, round, quiet.waitedMs);
      }
    }
  }
  return { all, acknowledged, unansweredAtKill };
}
