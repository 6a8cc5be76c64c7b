// The login-flood benchmark: a real login's latency alone, then while another process floods the daemon with logins of unknown users.
import { fork } from "node:child_process";
import { join } from "node:path";
import { HsmClient } from "../clients";
import { LatencyRecorder, LatencySummary } from "./latencyStats";
import { FloodCommand, FloodCounts, FloodReport } from "./loginFloodWorker";

export interface LoginFloodSpec {
  readonly address: string;
  readonly user: string;
  readonly password: string;
  /** Logins of unknown users in flight at once, per wave. */
  readonly concurrent: number;
  /** Real logins measured, without and then during the flood (one at a time, each followed by a logout). */
  readonly logins: number;
}

export interface LoginFloodResult {
  readonly alone: LatencySummary;
  readonly duringFlood: LatencySummary;
  readonly flood: FloodCounts;
}

const WORKER_PATH = join(__dirname, "loginFloodWorker.js");

/** `count` real logins one after the other on a connection of their own, each followed by a logout; the logins' latencies. */
async function timedLogins(spec: LoginFloodSpec, count: number): Promise<LatencySummary> {
  const recorder = new LatencyRecorder();
  const client = new HsmClient(spec.address, { ownConnection: true });
  try {
    for (let i = 0; i < count; i++) {
      const started = process.hrtime.bigint();
      await client.login(spec.user, spec.password);
      recorder.record(Number(process.hrtime.bigint() - started) / 1e6);
      // The user may hold only so many sessions.
      await client.logout();
    }
  } finally {
    client.close();
  }
  return recorder.summary();
}

export async function runLoginFlood(spec: LoginFloodSpec): Promise<LoginFloodResult> {
  const alone = await timedLogins(spec, spec.logins);
  const child = fork(WORKER_PATH, [], { execArgv: [], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    let flooding: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (flooding = resolve));
    const finished = new Promise<FloodCounts>((resolve, reject) => {
      child.once("exit", (code, signal) => reject(new Error(`flood worker exited early (${code ?? signal})`)));
      child.on("message", (message: FloodReport) => {
        if (message.type === "flooding") flooding();
        else if (message.type === "done") resolve(message.counts);
        else reject(new Error(`flood worker failed: ${message.error}`));
      });
    });
    // A failure before the first wave would otherwise leave `started` pending.
    finished.catch(() => flooding());
    child.send({ type: "start", address: spec.address, concurrent: spec.concurrent } satisfies FloodCommand);
    await started;
    const duringFlood = await timedLogins(spec, spec.logins);
    child.send({ type: "stop" } satisfies FloodCommand);
    return { alone, duringFlood, flood: await finished };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

export function loginFloodLines(spec: LoginFloodSpec, r: LoginFloodResult): string {
  const row = (name: string, s: LatencySummary) =>
    `${name.padEnd(40)} ${String(s.count).padStart(6)}  ${s.p50Ms.toFixed(1).padStart(7)}  ${s.p99Ms.toFixed(1).padStart(7)}  ${s.maxMs.toFixed(1).padStart(7)}`;
  const other = Object.entries(r.flood.other).map(([reason, n]) => `${n} ${reason}`);
  return [
    `${"run".padEnd(40)} logins   p50 ms   p99 ms   max ms`,
    `${"-".repeat(40)} ------  -------  -------  -------`,
    row("real login, no flood", r.alone),
    row(`real login, ${spec.concurrent}-login flood`, r.duringFlood),
    `flood: ${r.flood.waves} wave(s) of ${spec.concurrent} concurrent logins of unknown users from another process on its own connection, ` +
      `${r.flood.sent.toLocaleString("en-US")} sent: ${r.flood.checked.toLocaleString("en-US")} checked (LOGIN_FAILED), ` +
      `${r.flood.refused.toLocaleString("en-US")} refused (RESOURCE_EXHAUSTED TOO_MANY_LOGINS)${other.length > 0 ? `, other: ${other.join(", ")}` : ""}`,
  ].join("\n");
}
