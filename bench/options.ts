// Command-line options of `npm run bench`, with their defaults and bounds.
import { parseArgs } from "node:util";
import { TARGET_CONCURRENCY } from "./targets";
import type { LogLevel } from "../src/server/settings";

const USAGE = `usage: npm run bench -- [options]
  --duration-ms N       measured window per measurement (default 2500)
  --warmup-ms N         warm-up before each window (default 500)
  --rounds N            measure everything N times; the table keeps, per concurrency, the round least
                        disturbed by other processes (default 2)
  --keys N              keys in the store before measuring (default 10000)
  --concurrency A,B     concurrencies to measure (default 1,64; targets are judged at 64)
  --only PART           methods (the table and kill -9 check), crypto (the ceiling, AES-GCM Encrypt, ECDSA and
                        RSA Sign through the daemon, node:crypto's floor and SoftHSM2's C_Sign), watch (the watchers
                        benchmark), logins (the login-flood benchmark, on a daemon of its own with the default
                        scrypt cost), startup (start-up at scale: a store of --startup-keys keys, time to SERVING,
                        memory, FindKey by label) or all (default)
  --startup-keys N      keys in the store of the start-up benchmark (default 100000)
  --login-flood N       concurrent logins of unknown users per wave in the login-flood benchmark (default 500)
  --logins N            real logins measured without and during the flood (default 40)
  --watchers N          WatchSyncStatus streams in the watchers benchmark (default 1000)
  --watch-processes N   watcher worker processes the streams are spread over (default 1)
  --watch-channels N    grpc channels (TCP connections) per watcher process (default 4)
  --watch-batch N       the watchers' max_events_per_response: 1 = one event per response, up to 4096
                        (default 1000)
  --log-level L         daemon log level: warn (default) or info (adds one log line per call)
  --cpu-prof-dir DIR    run the daemon and the watcher processes under --cpu-prof into DIR (stopped by SIGTERM; skips the kill -9 check)
  --json FILE           also write the raw results as JSON
  --keep-data           keep the daemon's data directory
  --strict              exit 1 when a target fails`;

export interface Options {
  durationMs: number;
  warmupMs: number;
  keys: number;
  rounds: number;
  concurrencies: number[];
  only: "all" | "methods" | "crypto" | "watch" | "logins" | "startup";
  startupKeys: number;
  loginFlood: number;
  logins: number;
  watchers: number;
  watchProcesses: number;
  watchChannels: number;
  watchBatch: number;
  /** Forwarded to the daemon as its --log-level; the bench reads warnings only, so it allows the two levels that keep them. */
  logLevel: Extract<LogLevel, "warn" | "info">;
  cpuProfDir: string | undefined;
  json: string | undefined;
  keepData: boolean;
  strict: boolean;
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      "duration-ms": { type: "string" },
      "warmup-ms": { type: "string" },
      keys: { type: "string" },
      rounds: { type: "string" },
      concurrency: { type: "string" },
      only: { type: "string" },
      "startup-keys": { type: "string" },
      "login-flood": { type: "string" },
      logins: { type: "string" },
      watchers: { type: "string" },
      "watch-processes": { type: "string" },
      "watch-channels": { type: "string" },
      "watch-batch": { type: "string" },
      "log-level": { type: "string" },
      "cpu-prof-dir": { type: "string" },
      json: { type: "string" },
      "keep-data": { type: "boolean" },
      strict: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + "\n");
    process.exit(0);
  }
  const bounded = (name: string, text: string | undefined, fallback: number, min: number, max: number): number => {
    const n = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be a whole number in ${min}..${max}`);
    return n;
  };
  const logLevel = values["log-level"] ?? "warn";
  if (logLevel !== "warn" && logLevel !== "info") throw new Error("--log-level must be warn or info");
  const only = values.only ?? "all";
  if (only !== "all" && only !== "methods" && only !== "crypto" && only !== "watch" && only !== "logins" && only !== "startup") {
    throw new Error("--only must be methods, crypto, watch, logins, startup or all");
  }
  const concurrencies = (values.concurrency ?? `1,${TARGET_CONCURRENCY}`).split(",").map((c) => bounded("concurrency", c, 1, 1, 1024));
  return {
    durationMs: bounded("duration-ms", values["duration-ms"], 2500, 200, 30_000),
    warmupMs: bounded("warmup-ms", values["warmup-ms"], 500, 0, 10_000),
    keys: bounded("keys", values.keys, 10_000, 16, 100_000),
    rounds: bounded("rounds", values.rounds, 2, 1, 10),
    concurrencies,
    only,
    startupKeys: bounded("startup-keys", values["startup-keys"], 100_000, 1000, 1_000_000),
    loginFlood: bounded("login-flood", values["login-flood"], 500, 1, 10_000),
    logins: bounded("logins", values.logins, 40, 1, 10_000),
    watchers: bounded("watchers", values.watchers, 1000, 1, 10_000),
    watchProcesses: bounded("watch-processes", values["watch-processes"], 1, 1, 16),
    watchChannels: bounded("watch-channels", values["watch-channels"], 4, 1, 256),
    watchBatch: bounded("watch-batch", values["watch-batch"], 1000, 1, 4096),
    logLevel,
    cpuProfDir: values["cpu-prof-dir"],
    json: values.json,
    keepData: values["keep-data"] === true,
    strict: values.strict === true,
  };
}

