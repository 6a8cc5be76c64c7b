// `npm run bench`: starts the daemon, fills the store, measures each method and the crypto rows against the empty-call ceiling, checks durability, runs the watchers benchmark.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HsmClient } from "../clients";
import { startDaemon, RunningDaemon } from "./daemonProcess";
import { DEFAULTS } from "../src/server/config";
import { DurabilityReport, verifyDurability } from "./durability";
import { describeMachine, otherLoadCores } from "./machine";
import { Measurement } from "./measure";
import { populate } from "./populate";
import { leastDisturbed, leastDisturbedRound, NOISY_OTHER_CORES } from "./rounds";
import { cryptoTable, durabilityLine, resultsTable, SCENARIO_TITLES, verdictLines, watchLines } from "./report";
import { parseOptions } from "./options";
import { evaluateCryptoTargets, evaluateTargets, evaluateWatchTargets, TARGET_CONCURRENCY, Verdict } from "./targets";
import { runSchedule, scheduledScenarios } from "./schedule";
import { CRYPTO_OPS, CryptoMaterial, makeCryptoMaterial } from "./cryptoMaterial";
import { DaemonCryptoSetup, prepareDaemonCrypto } from "./cryptoSetup";
import { FloorMeasurement, measureFloorRow, runFloors } from "./cryptoFloor";
import { BenchToken, createBenchToken } from "./softhsmToken";
import { UnaryClient } from "./unaryClient";
import { ScenarioName } from "./workerProtocol";
import { runWatchBench, WatchBenchResult } from "./watchBench";
import { LoginFloodResult, loginFloodLines, runLoginFlood } from "./loginFlood";
import { evaluateLoginFloodTargets, LOGIN_FLOOD_TARGETS } from "./targets";
import { Options } from "./options";
import { evaluateStartupTargets, runStartupBench, STARTUP_TARGETS, StartupResult, startupLines } from "./startupBench";

const USER = "bench";
const PASSWORD = "password1";
const BENCH_USER = { username: USER, password: PASSWORD };
/** Password checks stay cheap except in the login-flood part, where hashing cost is what is measured. */
const CHEAP_SCRYPT_N = 1024;
/** The whole run is abandoned (children killed) after this long. */
const WATCHDOG_MS = 5 * 60_000;

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const dataDir = mkdtempSync(join(tmpdir(), "local-cloudhsm-bench-"));
  const machine = describeMachine(dataDir);
  const daemonOptions = {
    settings: { dataDir, logLevel: options.logLevel, devUsers: [BENCH_USER], scryptN: CHEAP_SCRYPT_N },
    nodeArgs: options.cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", options.cpuProfDir] : [],
  };
  const running = new Set<RunningDaemon>();
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${WATCHDOG_MS / 1000} s; giving up\n`);
    for (const d of running) {
      try {
        process.kill(d.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    process.exit(3);
  }, WATCHDOG_MS);
  watchdog.unref();

  const log = (line: string) => process.stdout.write(line + "\n");
  log(`local-cloudhsm benchmark: ${machine.dateUtc}`);
  log(`source: ${machine.sourceRevision}`);
  log(`machine: ${machine.cpus} CPUs (${machine.cpuModel}), node ${machine.node}, CLK_TCK ${machine.clockTicks}`);
  if (options.only !== "logins" && options.only !== "startup") log(`daemon: --log-level ${options.logLevel} --scrypt-n ${CHEAP_SCRYPT_N} --nodes ${DEFAULTS.nodeCount} (default), data dir ${dataDir} (${machine.dataDirFilesystem})`);

  const idleLoad = await otherLoadCores(1000);
  log(`machine load before start: ${idleLoad.toFixed(2)} cores busy${idleLoad > 0.2 ? " (other processes are running: expect noisy figures, see the \"other cores\" column)" : ""}`);

  const started = Date.now();
  if (options.only === "logins") {
    // The main daemon's data directory is not used in this mode.
    rmSync(dataDir, { recursive: true, force: true });
    const logins = await loginFloodPart(options, log, running);
    log(`total bench time ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (options.json) writeFileSync(options.json, JSON.stringify({ machine, options, logins: logins.result, verdicts: logins.verdicts }, null, 2) + "\n");
    return options.strict && logins.verdicts.some((v) => !v.pass) ? 1 : 0;
  }
  if (options.only === "startup") {
    rmSync(dataDir, { recursive: true, force: true });
    const startup = await startupPart(options, log);
    log(`total bench time ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (options.json) writeFileSync(options.json, JSON.stringify({ machine, options, startup: startup.result, verdicts: startup.verdicts }, null, 2) + "\n");
    return options.strict && startup.verdicts.some((v) => !v.pass) ? 1 : 0;
  }
  let daemon = await startDaemon(daemonOptions);
  running.add(daemon);
  const allRounds: Measurement[] = [];
  let durability: DurabilityReport | undefined;
  let unansweredAtKill = 0;
  let restartSeconds = NaN;
  let watch: WatchBenchResult | undefined;
  // The symmetric-key method table (with its kill -9 check), the crypto rows, the watchers benchmark.
  const runMethods = options.only === "all" || options.only === "methods";
  const runCrypto = options.only === "all" || options.only === "crypto";
  const runWatch = options.only === "all" || options.only === "watch";
  let scenarios: ScenarioName[] | undefined;
  let cryptoSetup: DaemonCryptoSetup | undefined;
  let floors: FloorMeasurement[] = [];
  // node:crypto's floor, measured inside every round right after the daemon's row of the same operation.
  const roundFloors: FloorMeasurement[] = [];
  const floorConcurrency = options.concurrencies.includes(TARGET_CONCURRENCY) ? TARGET_CONCURRENCY : options.concurrencies[options.concurrencies.length - 1]!;
  let softhsmNote = "";
  const progress = (line: string) => process.stderr.write(`  [${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`);
  try {
    const hsm = new HsmClient(daemon.address);
    await hsm.login(USER, PASSWORD);
    const token = (hsm.metadata().get("authorization")[0] as string).replace(/^Bearer /, "");
    const findEvery = Math.max(1, Math.floor(options.keys / 16));
    const population = await populate(hsm, options.keys, 64, findEvery);
    hsm.close();
    log(
      `store: ${population.keys.toLocaleString("en-US")} AES-256 token keys by GenSymKey x64 in ${population.seconds.toFixed(1)} s ` +
        `(${Math.round(population.keysPerSecond).toLocaleString("en-US")} keys/s); FindKey label "${population.params.findLabel}" selects ` +
        `${population.params.findExpected}, the other keys share 3 labels`,
    );
    log(
      `each measurement: daemon idle first, its own load-worker process, ${options.warmupMs} ms warm-up, then ${options.durationMs} ms measured; ` +
        (runMethods || runCrypto ? `${options.rounds} round(s) of the method table` : "the watchers benchmark only (--only watch)"),
    );

    let material: CryptoMaterial | undefined;
    if (runCrypto) {
      material = makeCryptoMaterial();
      const client = new UnaryClient(daemon.address, token);
      try {
        await client.waitForReady(10_000);
        cryptoSetup = await prepareDaemonCrypto(client, population.params.wrappingKey, material);
      } finally {
        client.close();
      }
      log(
        "crypto rows: one AES-256, one RSA-2048 (e 65537) and one EC P-256 key made with node:crypto for this run; the daemon gets them by ImportSymKey / ImportPrivateKey (PEM) " +
          "under the bench's wrapping key, SoftHSM2 by C_CreateObject (session objects), node:crypto uses them directly; one daemon answer of each operation is checked with node:crypto first" +
          (Object.keys(cryptoSetup.unavailable).length > 0 ? ` (not measurable on this daemon: ${Object.keys(cryptoSetup.unavailable).join(", ")})` : ""),
      );
    }
    scenarios = scheduledScenarios({ keys: runMethods, crypto: runCrypto ? CRYPTO_OPS.filter((op) => cryptoSetup?.unavailable[op] === undefined) : [] });
    log("");

    if (runMethods || runCrypto) {
      const measured = await runSchedule({
        daemon,
        token,
        scenarios,
        params: { ...population.params, crypto: cryptoSetup?.handles },
        rounds: options.rounds,
        concurrencies: options.concurrencies,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        killAtEnd: runMethods && options.cpuProfDir === undefined,
        onMeasured: (m, round, waitedMs, retrying) =>
          progress(
            `round ${round}: ${SCENARIO_TITLES[m.scenario]} x${m.concurrency}: ` +
              `${Math.round(m.callsPerSecond)} calls/s, other load ${m.otherCores.toFixed(2)} cores (daemon idle after ${waitedMs} ms)` +
              `${retrying ? " - disturbed, measuring again" : ""}`,
          ),
        afterScenario: async (scenario, concurrency, round) => {
          const op = CRYPTO_OPS.find((o) => o === scenario);
          if (!material || op === undefined || concurrency !== floorConcurrency) return;
          const spec = {
            material,
            token: undefined,
            warmupMs: options.warmupMs,
            durationMs: options.durationMs,
            onMeasured: (f: FloorMeasurement, retrying: boolean) =>
              progress(
                `round ${round}: crypto floor: node ${f.op}: ${Math.round(f.callsPerSecond)} calls/s, ${Math.round(f.cpuPerCallUs)} us CPU/call, other load ${f.otherCores.toFixed(2)} cores` +
                  `${retrying ? " - disturbed, measuring again" : ""}`,
              ),
          };
          roundFloors.push(await measureFloorRow({ op, implementation: "node" }, spec, round));
        },
      });
      allRounds.push(...measured.all);
      unansweredAtKill = measured.unansweredAtKill;

      if (runMethods && options.cpuProfDir === undefined) {
        running.delete(daemon);
        const restartStarted = Date.now();
        daemon = await startDaemon(daemonOptions);
        running.add(daemon);
        restartSeconds = (Date.now() - restartStarted) / 1000;
        const verifier = new HsmClient(daemon.address);
        await verifier.login(USER, PASSWORD);
        durability = await verifyDurability(verifier, population.params.importLabel, measured.acknowledged);
        verifier.close();
      }
    }

    if (runCrypto && material) {
      const created = createBenchToken();
      if ("unavailable" in created) softhsmNote = `SoftHSM2 rows skipped: ${created.unavailable}`;
      else softhsmNote = `SoftHSM2 ${created.version} (${created.library}), a temporary token (SOFTHSM2_CONF in a temp dir), removed afterwards`;
      const benchToken: BenchToken | undefined = "unavailable" in created ? undefined : created;
      try {
        floors = await runFloors({
          material,
          token: benchToken,
          withNode: false,
          warmupMs: options.warmupMs,
          durationMs: options.durationMs,
          onMeasured: (f, retrying) =>
            progress(
              `crypto floor: ${f.implementation} ${f.op}: ${Math.round(f.callsPerSecond)} calls/s, ${Math.round(f.cpuPerCallUs)} us CPU/call, other load ${f.otherCores.toFixed(2)} cores` +
                `${retrying ? " - disturbed, measuring again" : ""}`,
            ),
        });
      } finally {
        benchToken?.remove();
      }
    }

    if (runWatch) {
      log(
        `watchers: ${options.watchers.toLocaleString("en-US")} unfiltered WatchSyncStatus streams in ${options.watchProcesses} process(es), ` +
          `${options.watchChannels} channel(s) each, one shared login, max_events_per_response ${options.watchBatch}; ImportSymKey x${TARGET_CONCURRENCY} without them, then with them ` +
          `(${options.warmupMs} ms warm-up, ${options.durationMs} ms measured each)`,
      );
      watch = await runWatchBench({
        daemon,
        user: USER,
        password: PASSWORD,
        params: population.params,
        concurrency: TARGET_CONCURRENCY,
        watchers: options.watchers,
        processes: options.watchProcesses,
        channelsPerProcess: options.watchChannels,
        maxEventsPerResponse: options.watchBatch,
        watcherNodeArgs: options.cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", options.cpuProfDir] : [],
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        onProgress: progress,
      });
      log("");
    }
  } finally {
    await daemon.stop();
    running.delete(daemon);
    if (!options.keepData) rmSync(dataDir, { recursive: true, force: true });
  }

  const perRound = (scenarios?.length ?? 1) * options.concurrencies.length;
  const results = leastDisturbed(allRounds, perRound);
  // The floor the crypto rows and targets use is the one measured in the round the table keeps at that concurrency.
  const floorRound = leastDisturbedRound(allRounds, perRound, floorConcurrency);
  floors = [...roundFloors.filter((f) => f.round === floorRound), ...floors];
  const verdicts: Verdict[] = [];
  if (runMethods || runCrypto) {
    verdicts.push(...evaluateTargets(results, durability, scenarios ?? []));
    log(
      `per concurrency: the least disturbed of ${options.rounds} round(s) (disturbed windows are measured again, up to 20 s in all); ` +
        `* = still more than ${NOISY_OTHER_CORES} cores of other load in that window: figures unreliable, rerun on a quiet machine`,
    );
    log(resultsTable(results));
    if (verdicts.length > 0) {
      log("");
      log(`targets at concurrency ${TARGET_CONCURRENCY} (ratios to the ceiling at the same concurrency):`);
      log(verdictLines(verdicts));
    }
    if (runMethods) log(durability ? durabilityLine(durability, unansweredAtKill, restartSeconds) : "durability: not checked (--cpu-prof-dir)");
  }
  if (runCrypto && cryptoSetup) {
    const cryptoVerdicts = evaluateCryptoTargets(results, floors, cryptoSetup.unavailable);
    verdicts.push(...cryptoVerdicts);
    log("");
    log(
      "crypto rows: each operation done back to back in a worker process of its own by node:crypto (on the main thread: the floor; and, for signatures, " +
        "through its callback form on libuv's pool, as the daemon signs) and by SoftHSM2 (CPU = that process's, all threads), " +
        "and by the daemon through gRPC (CPU = the daemon process's, all threads, from the table above); same keys, same inputs, same run; " +
        `node:crypto's floor was measured in every round right after the daemon's x${floorConcurrency} row of the same operation; shown and judged: round ${floorRound ?? "-"}, the round the table keeps at x${floorConcurrency}`,
    );
    if (softhsmNote) log(softhsmNote);
    log(cryptoTable(results, floors, cryptoSetup.unavailable));
    log("crypto targets (the throughput targets are in the list above):");
    log(verdictLines(cryptoVerdicts));
  }
  if (watch) {
    const watchVerdicts = evaluateWatchTargets(watch);
    verdicts.push(...watchVerdicts);
    if (runMethods || runCrypto) log("");
    log(`watchers: ${watch.watchers.toLocaleString("en-US")} watchers, ImportSymKey x${watch.concurrency} with and without them, back to back:`);
    log(watchLines(watch));
    log("watcher targets:");
    log(verdictLines(watchVerdicts));
  }
  let logins: LoginFloodResult | undefined;
  let startup: StartupResult | undefined;
  if (options.only === "all") {
    log("");
    const part = await loginFloodPart(options, log, running);
    logins = part.result;
    verdicts.push(...part.verdicts);
    log("");
    const startPart = await startupPart(options, log);
    startup = startPart.result;
    verdicts.push(...startPart.verdicts);
  }
  log(`total bench time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (options.json) writeFileSync(options.json, JSON.stringify({ machine, options, results, allRounds, durability, floors, cryptoUnavailable: cryptoSetup?.unavailable, watch, logins, startup, verdicts }, null, 2) + "\n");
  return options.strict && verdicts.some((v) => !v.pass && !v.skipped) ? 1 : 0;
}

/**
 * The login-flood benchmark on a daemon of its own at the default scrypt cost (the flood's harm is the password
 * hashing, which the other parts keep cheap with --scrypt-n 1024), with the daemon's default login limits.
 */
async function loginFloodPart(options: Options, log: (line: string) => void, running: Set<RunningDaemon>): Promise<{ result: LoginFloodResult; verdicts: Verdict[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), "local-cloudhsm-bench-logins-"));
  const scryptN = DEFAULTS.scryptN;
  const daemon = await startDaemon({ settings: { dataDir, logLevel: options.logLevel, devUsers: [BENCH_USER], scryptN } });
  running.add(daemon);
  try {
    const spec = { address: daemon.address, user: USER, password: PASSWORD, concurrent: options.loginFlood, logins: options.logins };
    log(
      `login flood: a daemon of its own (--scrypt-n ${scryptN}, the default; default login limits); ${spec.logins} real logins one at a time ` +
        `(each followed by a logout) without, then during waves of ${spec.concurrent} concurrent logins of unknown users from another process`,
    );
    const result = await runLoginFlood(spec);
    const verdicts = evaluateLoginFloodTargets(result);
    log(loginFloodLines(spec, result));
    log(`login flood target (issue 9: < ${LOGIN_FLOOD_TARGETS.maxRealLoginP99Ms} ms):`);
    log(verdictLines(verdicts));
    return { result, verdicts };
  } finally {
    await daemon.stop();
    running.delete(daemon);
    if (!options.keepData) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The start-up benchmark: its own store of --startup-keys keys (written directly, not by RPCs) and its own daemons. */
async function startupPart(options: Options, log: (line: string) => void): Promise<{ result: StartupResult; verdicts: Verdict[] }> {
  log(
    `start-up: a store of ${options.startupKeys.toLocaleString("en-US")} AES-256 token keys held by every node, written through SqliteStore (no RPCs); ` +
      `the daemon (--nodes ${DEFAULTS.nodeCount}, --log-level ${options.logLevel}) started 3 times on a store holding only its user, then 3 times on that one; ` +
      `time from spawn to the first SERVING answer; FindKey by label on the last start, one call at a time`,
  );
  const result = await runStartupBench({
    keys: options.startupKeys,
    username: USER,
    password: PASSWORD,
    scryptN: CHEAP_SCRYPT_N,
    nodeCount: DEFAULTS.nodeCount,
    logLevel: options.logLevel,
    keepData: options.keepData,
    onProgress: (line) => process.stderr.write(`  ${line}\n`),
  });
  const verdicts = evaluateStartupTargets(result);
  log(startupLines(result));
  log(`start-up targets (issue 12: < ${STARTUP_TARGETS.maxStartSeconds} s, < 300 MiB, FindKey p50 < ${STARTUP_TARGETS.maxFindP50Ms} ms):`);
  log(verdictLines(verdicts));
  return { result, verdicts };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 2;
  },
);
