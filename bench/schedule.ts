// The measurement schedule: every scheduled scenario at every concurrency, N rounds, disturbed windows retried, the last import run killed.
import { measure, MeasuredRunSpec, Measurement } from "./measure";
import { SCENARIO_TITLES } from "./report";
import { QUIET_WAIT_MS, waitForQuietMachine } from "./machine";
import { NOISY_OTHER_CORES } from "./rounds";
import { settle } from "./settle";
import { AcknowledgedKey, ScenarioName } from "./workerProtocol";

/** The symmetric-key table of issues 1-10 and the crypto rows of issue 11. */
const KEY_SCENARIOS: readonly ScenarioName[] = ["getAttribute", "findKey"];
export const CRYPTO_SCENARIOS: readonly ScenarioName[] = ["aesGcmEncrypt", "ecdsaSign", "rsaSign"];

/**
 * What one round measures, in order: always the ceiling first (every ratio is to it), the parts asked for, and
 * ImportSymKey last, because the last import run ends with kill -9 of the daemon.
 */
export function scheduledScenarios(parts: { readonly keys: boolean; readonly crypto: readonly ScenarioName[] }): ScenarioName[] {
  return ["ceiling", ...(parts.keys ? KEY_SCENARIOS : []), ...parts.crypto.filter((s) => CRYPTO_SCENARIOS.includes(s)), ...(parts.keys ? (["importSymKey"] as const) : [])];
}

/** How long imports keep running after the last window before the daemon is killed under them. */
const KILL_DELAY_MS = 200;
/** A disturbed measurement is tried at most this often, and all retries together get this much time. */
const MAX_ATTEMPTS = 3;
const RETRY_BUDGET_MS = 20_000;

export interface ScheduleSpec extends MeasuredRunSpec {
  readonly token: string;
  /** Measured in this order every round (scheduledScenarios). */
  readonly scenarios: readonly ScenarioName[];
  readonly rounds: number;
  readonly concurrencies: readonly number[];
  /** SIGKILL the daemon while the very last import run is still importing. */
  readonly killAtEnd: boolean;
  /** Progress: every measurement, including disturbed ones that are about to be retried. */
  readonly onMeasured?: (m: Measurement, round: number, settledAfterMs: number, retrying: boolean) => void;
  /**
   * Run right after a scenario's kept window, before the next scenario of the round: lets a reference measurement
   * (the node:crypto floor of the same operation) share the round's conditions instead of a quiet minute later.
   */
  readonly afterScenario?: (scenario: ScenarioName, concurrency: number, round: number) => Promise<void>;
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
  let retryBudgetMs = RETRY_BUDGET_MS;
  const lastConcurrency = spec.concurrencies[spec.concurrencies.length - 1];
  for (let round = 1; round <= spec.rounds; round++) {
    for (const concurrency of spec.concurrencies) {
      for (const scenario of spec.scenarios) {
        const killAfter = spec.killAtEnd && round === spec.rounds && concurrency === lastConcurrency && scenario === "importSymKey";
        let kept: Measurement | undefined;
        for (let attempt = 1; ; attempt++) {
          const quiet = await settle(spec.daemon.pid);
          if (!quiet.idle) process.stderr.write(`  daemon still busy after ${quiet.waitedMs} ms; measuring anyway\n`);
          const attemptStarted = Date.now();
          const m = await measureOnce(spec, scenario, concurrency, killAfter);
          acknowledged.push(...m.done.acknowledged);
          if (killAfter) unansweredAtKill = m.done.errorsOutsideWindow + m.done.unanswered;
          // A window disturbed by other processes is measured again, within a bounded time budget.
          const retry = !killAfter && m.otherCores > NOISY_OTHER_CORES && attempt < MAX_ATTEMPTS && retryBudgetMs > 0;
          spec.onMeasured?.(m, round, quiet.waitedMs, retry);
          // Of all attempts, the least disturbed one counts.
          if (!kept || m.otherCores < kept.otherCores) kept = m;
          if (!retry) {
            all.push(kept);
            break;
          }
          await waitForQuietMachine(NOISY_OTHER_CORES, QUIET_WAIT_MS);
          retryBudgetMs -= Date.now() - attemptStarted;
        }
        if (spec.afterScenario && !killAfter) await spec.afterScenario(scenario, concurrency, round);
      }
    }
  }
  return { all, acknowledged, unansweredAtKill };
}

async function measureOnce(spec: ScheduleSpec, scenario: ScenarioName, concurrency: number, killAfter: boolean): Promise<Measurement> {
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
  return m;
}
