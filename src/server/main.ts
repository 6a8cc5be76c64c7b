// The daemon's entry point: reads configuration, opens the data directory, serves until SIGTERM or SIGINT.
import * as grpc from "@grpc/grpc-js";
import { hkdfSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { SqliteStore } from "../hsm/store/sqliteStore";
import { FileAuditLog } from "../hsm/auditLog";
import { AuditChain } from "../hsm/auditChain";
import { createMasterKeyFile, parseMasterKey, readMasterKeyFile } from "../hsm/store/masterKey";
import { buildDaemon, Daemon } from "./compositionRoot";
import { ConfigError, DaemonConfig, parseConfig, SETTINGS, usage } from "./config";
import {
  checkSecretFileMode,
  createDataDir,
  dataDirLayout,
  DataDirLayout,
  describeModeFix,
  fileSize,
  createAdminSecretFile,
  readAdminSecretFile,
  narrowDataDirModes,
  setAsideEarlierStore,
  syncDir,
} from "./dataDirFiles";
import { DataDirLock } from "./dataDirLock";
import { createLogger, Logger, routeGrpcLogs } from "./logger";
import { startupFailureLine, StartupError } from "./startupError";
import { planStoreStart } from "./storeStartPlan";

/** A daemon built on a locked data directory, not yet listening. */
interface Started {
  readonly daemon: Daemon;
  readonly lock: DataDirLock;
}

/**
 * Everything between configuration and listening: lock the data directory, check its files, open the store
 * and the audit log, build the daemon. Refusals come before anything is written. On failure whatever was
 * opened is closed again and the error propagates (printed by main as one line).
 */
async function startDaemon(config: DaemonConfig, layout: DataDirLayout, logger: Logger): Promise<Started> {
  try {
    createDataDir(layout.dir);
  } catch (err) {
    throw new ConfigError(SETTINGS.dataDir, `cannot create ${layout.dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lock = DataDirLock.acquire(layout.dir);
  const opened: { close(): void }[] = [{ close: () => lock.release() }];
  try {
    // Refusals first, while nothing has been written.
    if (config.masterKey === undefined) checkSecretFileMode(layout.masterKey);
    if (config.adminSecret === undefined) checkSecretFileMode(layout.adminSecret);
    const plan = planStoreStart(
      {
        storeBytes: fileSize(layout.store),
        walBytes: fileSize(layout.storeWal),
        auditBytes: fileSize(layout.audit),
        masterKeyFileExists: fileSize(layout.masterKey) !== undefined,
        masterKeyConfigured: config.masterKey !== undefined,
        newStoreAllowed: config.newStore,
      },
      layout,
    );
    if (plan.kind === "refuse") throw new StartupError(plan.message);
    const existingMasterKey =
      config.masterKey !== undefined ? parseMasterKey(config.masterKey) : plan.masterKey === "read-file" ? readMasterKeyFile(layout.masterKey) : undefined;
    const existingAdminSecret =
      config.adminSecret ?? (fileSize(layout.adminSecret) !== undefined ? readAdminSecretFile(layout.adminSecret) : undefined);

    // Writes from here on.
    for (const fix of narrowDataDirModes(layout)) logger.warn("file mode was wider than the owner's; narrowed", describeModeFix(fix));
    // Only a first start (no store) has no key yet: the plan refused an existing store without one.
    const masterKey = existingMasterKey ?? createMasterKeyFile(layout.masterKey);
    const adminSecret = existingAdminSecret ?? createAdminSecretFile(layout.adminSecret);
    syncDir(layout.dir);
    if (plan.kind === "replace") {
      const moved = setAsideEarlierStore(layout, new Date());
      logger.warn("starting a new, empty store (--new-store); the earlier store's files were set aside", { store: layout.store, set_aside: moved });
    }

    const store = SqliteStore.open(layout.store, masterKey);
    opened.push(store);
    // Checked against the head the store holds (truncation, emptying, rechaining); records a crash kept out of the file are restored.
    const audit = new FileAuditLog(layout.audit, new AuditChain(masterKey), store.auditState());
    opened.push(audit);
    if (audit.restored > 0) logger.warn("audit records restored from the store after a crash", { records: audit.restored });

    let daemon: Daemon;
    try {
      daemon = await buildDaemon({
        store,
        logger,
        settings: config,
        adminSecret,
        audit,
        ...(config.metricsListen ? { metrics: config.tls ? { tls: config.tls } : {} } : {}),
        ...(config.tls
          ? {
              serverCredentials: grpc.ServerCredentials.createSsl(
                config.tls.clientCa ?? null,
                [{ cert_chain: config.tls.certChain, private_key: config.tls.privateKey }],
                config.tls.clientCa !== undefined,
              ),
            }
          : {}),
        // Derived, so the nodes' attestation keys stay the same across restarts and can be pinned.
        attestationSeed: Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), "local-cloudhsm attestation seed", 32)),
      });
    } catch (err) {
      // SQLite errors and unparsable rows while loading the store: say which file they come from.
      const code = (err as { code?: unknown }).code;
      if (err instanceof SyntaxError || (typeof code === "string" && code.startsWith("SQLITE_"))) {
        throw new StartupError(`cannot load store ${layout.store}: ${(err as Error).message}`);
      }
      throw err;
    }
    return { daemon, lock };
  } catch (err) {
    for (const item of opened.reverse()) {
      try {
        item.close();
      } catch {
        // Already closed by what failed; the start-up error is the one to report.
      }
    }
    throw err;
  }
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env, (path) => readFileSync(path, "utf8"));
  } catch (err) {
    process.stderr.write(`local-cloudhsm: ${(err as Error).message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(usage() + "\n");
    return 0;
  }
  const config = parsed.config;
  // Whatever the daemon creates (directories, store, WAL, audit log, secrets, lock) is its user's alone.
  process.umask(0o077);
  // Installed before anything else so a signal at any moment of start-up shuts down gracefully. The handlers
  // stay installed: Ctrl-C under `npm start` delivers SIGINT twice (from the terminal and forwarded by npm),
  // and the second must not kill a shutdown in progress (which --shutdown-grace-seconds bounds anyway).
  let stopSignal: NodeJS.Signals | undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      stopSignal ??= signal;
      resolve(signal);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  const logger = createLogger(config.logLevel, config.logFormat);
  routeGrpcLogs(logger, config.logLevel);

  const layout = dataDirLayout(config.dataDir);
  let started: Started;
  try {
    started = await startDaemon(config, layout, logger);
  } catch (err) {
    process.stderr.write(startupFailureLine(err, config.logLevel === "debug") + "\n");
    return 1;
  }
  const { daemon, lock } = started;
  let port: number;
  try {
    port = await daemon.listen(config.listen.host, config.listen.port);
  } catch (err) {
    logger.error("cannot listen", { host: config.listen.host, port: config.listen.port, error: (err as Error).message });
    await daemon.shutdown();
    lock.release();
    return 1;
  }
  if (config.metricsListen) {
    const { host } = config.metricsListen;
    try {
      const metricsPort = await daemon.listenMetrics(host, config.metricsListen.port);
      const hostText = host.includes(":") ? `[${host}]` : host;
      // Logged before the ready line, so a script that waited for that one finds the metrics port already written.
      logger.info("metrics serving", { url: `${config.tls ? "https" : "http"}://${hostText}:${metricsPort}/metrics`, port: metricsPort });
    } catch (err) {
      logger.error("cannot listen for metrics", { host, port: config.metricsListen.port, error: (err as Error).message });
      await daemon.shutdown();
      lock.release();
      return 1;
    }
  }
  // The ready line: scripts wait for it (README, "Running the daemon").
  logger.info("local-cloudhsm serving", {
    address: `${config.listen.host}:${port}`,
    port,
    transport: config.tls ? (config.tls.clientCa ? "mutual TLS" : "TLS") : "plaintext",
    data_dir: config.dataDir,
    nodes: config.nodeCount,
    keys: daemon.cluster.keyCount,
    admin_secret: config.adminSecret !== undefined ? "from configuration" : layout.adminSecret,
    pid: process.pid,
  });

  const signal = stopSignal ?? (await stopped);
  logger.info("shutting down", { signal });
  await daemon.shutdown();
  lock.release();
  logger.info("stopped");
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Start-up failures are handled in main; this is a failure while serving or stopping: a bug, so the stack.
    process.stderr.write(startupFailureLine(err, true) + "\n");
    process.exitCode = 1;
  },
);
