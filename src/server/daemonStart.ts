// Opens a daemon on its data directory (lock, secrets, store, audit log) and announces it: shared by the daemon's
// entry point (main.ts) and the in-process emulator (src/testing), so both start a data directory the same way.
import * as grpc from "@grpc/grpc-js";
import { hkdfSync } from "node:crypto";
import { SqliteStore } from "../hsm/store/sqliteStore";
import { FileAuditLog } from "../hsm/auditLog";
import { AuditChain } from "../hsm/auditChain";
import { createMasterKeyFile, parseMasterKey, readMasterKeyFile } from "../hsm/store/masterKey";
import { buildDaemon, Daemon } from "./compositionRoot";
import { ConfigError, DaemonConfig, SETTINGS, TlsConfig } from "./config";
import {
  checkSecretFileMode,
  createDataDir,
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
import { Logger } from "./logger";
import { StartupError } from "./startupError";
import { planStoreStart } from "./storeStartPlan";
import { SeedDocument, SeedError } from "../hsm/seed";
import { FileSnapshotShelf } from "../hsm/store/snapshotShelf";
import { ParsedSeed, readSeedFile } from "./seedFile";
import { join } from "node:path";

/** A daemon built on a locked data directory, not yet listening. */
export interface Started {
  readonly daemon: Daemon;
  readonly lock: DataDirLock;
  /** The admin secret the daemon checks (from configuration, read from the data directory, or created there). */
  readonly adminSecret: string;
}

/**
 * Everything between configuration and listening: lock the data directory, check its files, open the store
 * and the audit log, build the daemon. Refusals come before anything is written. On failure whatever was
 * opened is closed again and the error propagates (printed by main as one line).
 */
export async function startDaemon(config: DaemonConfig, layout: DataDirLayout, logger: Logger, seedDocument?: SeedDocument): Promise<Started> {
  try {
    createDataDir(layout.dir);
  } catch (err) {
    throw new ConfigError(SETTINGS.dataDir, `cannot create ${layout.dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lock = DataDirLock.acquire(layout.dir);
  const opened: { close(): void }[] = [{ close: () => lock.release() }];
  let seed: ParsedSeed | undefined;
  try {
    // Refusals first, while nothing has been written. A broken seed file is one of them.
    seed = config.seedFile !== undefined ? readSeedFile(config.seedFile) : undefined;
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
        // An in-process seed (startEmulator) takes the place of a seed file.
        ...(seedDocument ? { seed: seedDocument } : seed ? { seed: seed.document } : {}),
        // Under the data directory: the same master key seals them, the same backups hold them.
        snapshots: new FileSnapshotShelf(join(layout.dir, "snapshots"), masterKey),
        ...(config.metricsListen ? { metrics: config.tls ? { tls: config.tls } : {} } : {}),
        ...(config.tls ? { serverCredentials: serverCredentials(config.tls) } : {}),
        // Derived, so the nodes' attestation keys stay the same across restarts and can be pinned.
        attestationSeed: Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), "local-cloudhsm attestation seed", 32)),
      });
    } catch (err) {
      // A seed that does not fit this store (a user's role, a key id of another owner): its file and line.
      if (err instanceof SeedError && seed) throw seed.locate(err);
      // SQLite errors and unparsable rows while loading the store: say which file they come from.
      const code = (err as { code?: unknown }).code;
      if (err instanceof SyntaxError || (typeof code === "string" && code.startsWith("SQLITE_"))) {
        throw new StartupError(`cannot load store ${layout.store}: ${(err as Error).message}`);
      }
      throw err;
    }
    return { daemon, lock, adminSecret };
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


/** The server side of the configured TLS: mutual when a client CA is given. */
export function serverCredentials(tls: TlsConfig): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(tls.clientCa ?? null, [{ cert_chain: tls.certChain, private_key: tls.privateKey }], tls.clientCa !== undefined);
}

/** What the ready line says besides the address. */
export interface ServingFacts {
  readonly host: string;
  readonly port: number;
  readonly config: DaemonConfig;
  readonly daemon: Daemon;
  /** Where the admin secret came from: "from configuration", a file path, or "generated in memory". */
  readonly adminSecret: string;
  /** The data directory, or "memory" for an in-memory store. */
  readonly dataDir: string;
}

/** The ready line: scripts wait for its message (README, "Running the daemon"); the emulator writes it too. */
export function announceServing(logger: Logger, facts: ServingFacts): void {
  const { host, port, config } = facts;
  logger.info("local-cloudhsm serving", {
    address: `${host}:${port}`,
    port,
    transport: config.tls ? (config.tls.clientCa ? "mutual TLS" : "TLS") : "plaintext",
    data_dir: facts.dataDir,
    // The seed may set the node count.
    nodes: facts.daemon.cluster.nodeCount,
    keys: facts.daemon.cluster.keyCount,
    admin_secret: facts.adminSecret,
    pid: process.pid,
  });
}
