// The daemon's entry point: reads configuration, opens the data directory, serves until SIGTERM or SIGINT.
import * as grpc from "@grpc/grpc-js";
import { hkdfSync, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { SqliteStore } from "../hsm/store/sqliteStore";
import { FileAuditLog } from "../hsm/auditLog";
import { loadOrCreateMasterKeyFile, parseMasterKey } from "../hsm/store/masterKey";
import { buildDaemon } from "./compositionRoot";
import { ConfigError, parseConfig, SETTINGS, usage } from "./config";
import { createLogger, routeGrpcLogs } from "./logger";

/** Reads the admin secret file, creating it (0600) with a random secret on first start. */
function loadOrCreateSecretFile(path: string): string {
  try {
    const fd = openSync(path, "wx", 0o600);
    try {
      writeSync(fd, randomBytes(24).toString("base64url") + "\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return readFileSync(path, "utf8").trim();
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
  // Installed before anything else so a signal at any moment of start-up shuts down gracefully.
  let stopSignal: NodeJS.Signals | undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      stopSignal ??= signal;
      resolve(signal);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  const logger = createLogger(config.logLevel, config.logFormat);
  routeGrpcLogs(logger, config.logLevel);

  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ConfigError(SETTINGS.dataDir, `cannot create ${config.dataDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const masterKey = config.masterKey !== undefined ? parseMasterKey(config.masterKey) : loadOrCreateMasterKeyFile(join(config.dataDir, "master.key"));
  const adminSecretPath = join(config.dataDir, "admin-secret");
  const adminSecret = config.adminSecret ?? loadOrCreateSecretFile(adminSecretPath);
  const store = SqliteStore.open(join(config.dataDir, "store.sqlite"), masterKey);
  let audit: FileAuditLog;
  try {
    audit = new FileAuditLog(join(config.dataDir, "audit.jsonl"));
  } catch (err) {
    store.close();
    throw err;
  }

  const daemon = await buildDaemon({
    store,
    logger,
    nodeCount: config.nodeCount,
    adminSecret,
    maxMessageBytes: config.maxMessageBytes,
    scryptN: config.scryptN,
    devUsers: config.devUsers,
    shutdownGraceSeconds: config.shutdownGraceSeconds,
    replicationDelayMs: config.replicationDelayMs,
    createObjectMinimumNodes: config.createObjectMinimumNodes,
    eventCapacity: config.eventCapacity,
    watch: { defaultProgressIntervalMs: config.watchProgressMs, maxLag: config.watchMaxLag, batchIntervalMs: config.watchBatchMs },
    sessionLimits: {
      idleMs: config.sessionIdleSeconds * 1000,
      maxLifetimeMs: config.sessionMaxSeconds * 1000,
      perUser: config.sessionsPerUser,
      watchesPerSession: config.watchesPerSession,
    },
    maxKeys: config.maxKeys,
    http2: config.http2,
    audit,
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
  let port: number;
  try {
    port = await daemon.listen(config.host, config.port);
  } catch (err) {
    logger.error("cannot listen", { host: config.host, port: config.port, error: (err as Error).message });
    await daemon.shutdown();
    return 1;
  }
  logger.info("local-cloudhsm serving", {
    address: `${config.host}:${port}`,
    port,
    transport: config.tls ? (config.tls.clientCa ? "mutual TLS" : "TLS") : "plaintext",
    data_dir: config.dataDir,
    nodes: config.nodeCount,
    keys: daemon.cluster.keyCount,
    admin_secret: config.adminSecret !== undefined ? "from configuration" : adminSecretPath,
  });

  const signal = stopSignal ?? (await stopped);
  logger.info("shutting down", { signal });
  await daemon.shutdown();
  logger.info("stopped");
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const expected = err instanceof ConfigError || (err instanceof Error && (err.name === "StoreOpenError" || err.name === "AuditChainError"));
    const message = expected ? (err as Error).message : String((err as Error)?.stack ?? err);
    process.stderr.write(`local-cloudhsm: ${message}\n`);
    process.exitCode = 1;
  },
);
