// The in-process emulator for tests: a whole daemon (every setting by name) on 127.0.0.1:0, in memory unless a
// data directory is given, with its users created and clients ready; stop() closes all of it.
import { randomBytes } from "node:crypto";
import { AdminClient, ClusterControlClient, HsmClient, UserType } from "../../clients";
import type { ConnectOptions } from "../../clients";
import { checkSeed, SeedDocument, SeedError } from "../hsm/seed";
import { parseMasterKey } from "../hsm/store/masterKey";
import { SqliteStore } from "../hsm/store/sqliteStore";
import { UserRole } from "../hsm/users";
import { buildDaemon, Daemon } from "../server/compositionRoot";
import { configFrom, DaemonConfig, SettingsInput } from "../server/config";
import { dataDirLayout } from "../server/dataDirFiles";
import { announceServing, serverCredentials, startDaemon } from "../server/daemonStart";
import { createLogger, Logger } from "../server/logger";
import { readSeedFile } from "../server/seedFile";
import { hostPort } from "../server/settingKinds";

/** A user the emulator creates at start (kept if it already exists in a data directory). */
export interface EmulatorUser {
  readonly username: string;
  readonly password: string;
  /** Crypto user (the default) or crypto officer. */
  readonly role?: "CU" | "CO";
}

/**
 * Any daemon setting by its name in the settings table (README, "Running the daemon"), plus the emulator's own
 * options. Defaults that differ from the daemon's: listen 127.0.0.1:0, scryptN 1024 (cheap hashing for tests),
 * logLevel "warn", and, without dataDir, an in-memory store with a random master key and admin secret.
 */
export type EmulatorOptions = SettingsInput & {
  /** Number of HSMs in the cluster: nodeCount under a shorter name. */
  readonly nodes?: number;
  readonly users?: readonly EmulatorUser[];
  /** Where the log lines go (JSON, one a line); stderr when absent. */
  readonly logStream?: NodeJS.WritableStream;
  /** How the returned clients connect (credentials when the emulator serves TLS, deadlines). */
  readonly connect?: ConnectOptions;
  /**
   * A seed (README, "Seed files, reset and snapshots"): the path of a YAML or JSON seed file, as `--seed` takes, or
   * the same document as an object. Applied before the emulator serves; ResetState to_seed returns to it.
   */
  readonly seed?: string | SeedDocument;
};

export interface Emulator {
  /** host:port the emulator serves on. */
  readonly address: string;
  readonly port: number;
  readonly adminSecret: string;
  /** The data directory, or undefined for an in-memory store. */
  readonly dataDir: string | undefined;
  /** The admin service (create, list, unlock users) with the admin secret. */
  readonly admin: AdminClient;
  /** The cluster-control service (nodes down, replication delay, ...) with the admin secret. */
  readonly control: ClusterControlClient;
  /** A new client, not logged in; closed by stop(). */
  client(): HsmClient;
  /** A new client logged in as `username` (password and role from `users` when not given); closed by stop(). */
  login(username: string, password?: string): Promise<HsmClient>;
  /** Closes every client it made, shuts the daemon down and releases the data directory; safe to call again. */
  stop(): Promise<void>;
}

/** Cheap but real scrypt: the emulator is for tests, where the daemon's login cost only slows the suite. */
const EMULATOR_SCRYPT_N = 1024;

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const { nodes, users = [], logStream, connect = {}, seed, ...settingsInput } = options;
  if (nodes !== undefined && settingsInput.nodeCount !== undefined && nodes !== settingsInput.nodeCount) {
    throw new Error(`startEmulator: nodes (${nodes}) and nodeCount (${settingsInput.nodeCount}) disagree; give one`);
  }
  const config = configFrom({
    scryptN: EMULATOR_SCRYPT_N,
    logLevel: "warn",
    ...settingsInput,
    listen: settingsInput.listen ?? { host: "127.0.0.1", port: 0 },
    ...(nodes !== undefined ? { nodeCount: nodes } : {}),
  });
  const logger = createLogger(config.logLevel, config.logFormat, logStream ?? process.stderr);
  const seedDocument = seed === undefined ? undefined : loadSeed(seed);
  const opened = settingsInput.dataDir !== undefined ? await openDataDir(config, logger, seedDocument) : await openInMemory(config, logger, seedDocument);
  const { daemon } = opened;

  let port: number;
  try {
    for (const user of users) {
      if (daemon.cluster.findUserByName(user.username)) continue;
      await daemon.cluster.createUser(user.role === "CO" ? UserRole.CO : UserRole.CU, user.username, user.password);
    }
    port = await daemon.listen(config.listen.host, config.listen.port);
  } catch (err) {
    await opened.close();
    throw err;
  }
  announceServing(logger, {
    host: config.listen.host,
    port,
    config,
    daemon,
    adminSecret: opened.adminSecretSource,
    dataDir: opened.dataDir ?? "memory",
  });

  const address = hostPort.show({ host: config.listen.host, port });
  const admin = new AdminClient(address, opened.adminSecret, connect);
  const control = new ClusterControlClient(address, opened.adminSecret, ...(connect.credentials ? [connect.credentials] : []));
  const clients: HsmClient[] = [];
  const client = (): HsmClient => {
    const made = new HsmClient(address, connect);
    clients.push(made);
    return made;
  };
  let stopping: Promise<void> | undefined;
  return {
    address,
    port,
    adminSecret: opened.adminSecret,
    dataDir: opened.dataDir,
    admin,
    control,
    client,
    async login(username, password) {
      const seeded = seedDocument?.users?.find((u) => u.name.toLowerCase() === username.toLowerCase());
      const known = users.find((u) => u.username === username) ?? (seeded ? { username, password: seeded.password, role: seeded.role } : undefined);
      const secret = password ?? known?.password;
      if (secret === undefined) throw new Error(`startEmulator: no password for ${username}; give one or list the user in users`);
      const made = client();
      await made.login(username, secret, known?.role === "CO" ? UserType.USER_TYPE_CO : UserType.USER_TYPE_CU);
      return made;
    },
    stop() {
      stopping ??= (async () => {
        // Clients first: the server's graceful shutdown waits for their connections to close.
        for (const made of clients) made.close();
        admin.close();
        control.close();
        await opened.close();
      })();
      return stopping;
    },
  };
}

/** A built daemon, not yet listening, and how to close it with whatever it holds. */
interface Opened {
  readonly daemon: Daemon;
  readonly adminSecret: string;
  readonly adminSecretSource: string;
  readonly dataDir: string | undefined;
  close(): Promise<void>;
}

/** The daemon's own start on a data directory (lock, master key, admin secret, audit log), as main.ts does it. */
async function openDataDir(config: DaemonConfig, logger: Logger, seed: SeedDocument | undefined): Promise<Opened> {
  const layout = dataDirLayout(config.dataDir);
  const { daemon, lock, adminSecret } = await startDaemon(config, layout, logger, seed);
  return {
    daemon,
    adminSecret,
    adminSecretSource: config.adminSecret !== undefined ? "from configuration" : layout.adminSecret,
    dataDir: config.dataDir,
    close: async () => {
      await daemon.shutdown();
      lock.release();
    },
  };
}

/** A private in-memory store: nothing on disk, gone at stop(). */
async function openInMemory(config: DaemonConfig, logger: Logger, seed: SeedDocument | undefined): Promise<Opened> {
  const masterKey = config.masterKey !== undefined ? parseMasterKey(config.masterKey) : randomBytes(32);
  const adminSecret = config.adminSecret ?? randomBytes(24).toString("hex");
  const store = SqliteStore.open(":memory:", masterKey);
  let daemon: Daemon;
  try {
    daemon = await buildDaemon({
      store,
      logger,
      settings: config,
      adminSecret,
      ...(seed ? { seed } : {}),
      ...(config.tls ? { serverCredentials: serverCredentials(config.tls) } : {}),
    });
  } catch (err) {
    store.close();
    throw err;
  }
  return {
    daemon,
    adminSecret,
    adminSecretSource: config.adminSecret !== undefined ? "from configuration" : "generated in memory",
    dataDir: undefined,
    close: () => daemon.shutdown(),
  };
}

/** A seed file's checked document (errors name the file and line), or an in-process object checked the same way. */
function loadSeed(seed: string | SeedDocument): SeedDocument {
  if (typeof seed === "string") return readSeedFile(seed).document;
  try {
    return checkSeed(seed);
  } catch (err) {
    if (err instanceof SeedError) throw new Error(`startEmulator: seed: ${err.message}`, { cause: err });
    throw err;
  }
}
