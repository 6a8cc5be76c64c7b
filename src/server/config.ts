// Daemon configuration from command-line flags and LOCALCLOUDHSM_* environment variables, validated at start.
import { isIP } from "node:net";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { HsmError } from "../hsm/errors";
import { parseMasterKey } from "../hsm/store/masterKey";
import { checkPasswordRules, normaliseUsername } from "../hsm/users";
import { DEFAULT_LOGIN_LIMITS, LoginLimits } from "../hsm/hashQueue";
import { Http2Limits } from "./http2Limits";

export type LogLevel = "error" | "warn" | "info" | "debug";
export type LogFormat = "json" | "text";

/** A crypto user created at start for local development (loopback only). */
export interface DevUser {
  readonly username: string;
  readonly password: string;
}

export interface DaemonConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly nodeCount: number;
  /** Largest accepted request message in bytes. */
  readonly maxMessageBytes: number;
  /** Admin service secret; undefined means "generate one into the data directory". */
  readonly adminSecret: string | undefined;
  /** Master key text (hex or base64); undefined means "use or create <dataDir>/master.key". */
  readonly masterKey: string | undefined;
  readonly devUsers: readonly DevUser[];
  /** scrypt N for new password hashes. */
  readonly scryptN: number;
  /** Seconds to let in-flight calls finish at shutdown before cancelling them. */
  readonly shutdownGraceSeconds: number;
  /** Default time a token key takes to reach each other node. */
  readonly replicationDelayMs: number;
  /** CloudHSM's create_object_minimum_nodes: the larger of it and -min_srv wins. */
  readonly createObjectMinimumNodes: number;
  /** Default interval of WatchSyncStatus progress messages. */
  readonly watchProgressMs: number;
  /** Revisions a watcher may lag behind before it is ended with WATCHER_TOO_SLOW. */
  readonly watchMaxLag: number;
  /** A batched watcher that is caught up sends at most once per this many ms. */
  readonly watchBatchMs: number;
  /** Events kept in memory for watchers before compaction. */
  readonly eventCapacity: number;
  readonly sessionIdleSeconds: number;
  readonly sessionMaxSeconds: number;
  readonly sessionsPerUser: number;
  /** Most keys in the cluster; 0 for no limit. */
  readonly maxKeys: number;
  /** TLS material (PEM text); undefined serves plaintext, allowed only on loopback or with allowInsecure. */
  readonly tls: TlsConfig | undefined;
  /** Start an empty store where store.sqlite is missing or empty although the data directory has history. */
  readonly newStore: boolean;
  /** Password checks at once, logins in progress per connection, and logins waiting daemon-wide. */
  readonly loginLimits: LoginLimits;
  /** Open watches one login session may hold. */
  readonly watchesPerSession: number;
  /** Streams per connection; idle, preface-less and unresponsive connections closed. */
  readonly http2: Http2Limits;
}

export interface TlsConfig {
  readonly certChain: Buffer;
  readonly privateKey: Buffer;
  /** CA that client certificates must chain to; set means mutual TLS. */
  readonly clientCa: Buffer | undefined;
}

/** A bad setting: names the flag and the environment variable. */
export class ConfigError extends Error {
  constructor(setting: { readonly flag: string; readonly env: string }, problem: string) {
    super(`invalid ${setting.flag} (${setting.env}): ${problem}`);
    this.name = "ConfigError";
  }
}

interface Setting {
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  readonly defaultText: string;
}

export const SETTINGS = {
  listen: { flag: "--listen", env: "LOCALCLOUDHSM_LISTEN", help: "host:port to serve gRPC on", defaultText: "127.0.0.1:2225" },
  dataDir: { flag: "--data-dir", env: "LOCALCLOUDHSM_DATA_DIR", help: "directory for the store and master key", defaultText: "./.local-cloudhsm" },
  logLevel: { flag: "--log-level", env: "LOCALCLOUDHSM_LOG_LEVEL", help: "error, warn, info or debug", defaultText: "info" },
  logFormat: { flag: "--log-format", env: "LOCALCLOUDHSM_LOG_FORMAT", help: "json or text", defaultText: "json" },
  nodes: { flag: "--nodes", env: "LOCALCLOUDHSM_NODES", help: "number of emulated HSMs (1-28)", defaultText: "3" },
  maxMessageBytes: {
    flag: "--max-message-bytes",
    env: "LOCALCLOUDHSM_MAX_MESSAGE_BYTES",
    help: "largest request accepted, in bytes",
    defaultText: "1048576",
  },
  adminSecret: {
    flag: "--admin-secret-file",
    env: "LOCALCLOUDHSM_ADMIN_SECRET",
    help: "admin service secret (env: the secret; flag: a file holding it)",
    defaultText: "generated into <data-dir>/admin-secret",
  },
  masterKey: {
    flag: "--master-key-file",
    env: "LOCALCLOUDHSM_MASTER_KEY",
    help: "master key, 64 hex digits or base64 (env: the key; flag: a file holding it)",
    defaultText: "generated into <data-dir>/master.key",
  },
  devCu: {
    flag: "--dev-cu",
    env: "LOCALCLOUDHSM_DEV_CU",
    help: "create crypto user name:password at start (loopback only; repeatable, comma-separated in env)",
    defaultText: "none",
  },
  scryptN: { flag: "--scrypt-n", env: "LOCALCLOUDHSM_SCRYPT_N", help: "scrypt cost N for password hashes", defaultText: "16384" },
  shutdownGrace: {
    flag: "--shutdown-grace-seconds",
    env: "LOCALCLOUDHSM_SHUTDOWN_GRACE_SECONDS",
    help: "seconds in-flight calls get at shutdown",
    defaultText: "10",
  },
  replicationDelay: {
    flag: "--replication-delay-ms",
    env: "LOCALCLOUDHSM_REPLICATION_DELAY_MS",
    help: "time a token key takes to reach each other node",
    defaultText: "20",
  },
  minNodes: {
    flag: "--create-object-minimum-nodes",
    env: "LOCALCLOUDHSM_CREATE_OBJECT_MINIMUM_NODES",
    help: "cluster-wide minimum nodes for a new token key (the larger of it and -min_srv wins)",
    defaultText: "1",
  },
  watchProgress: {
    flag: "--watch-progress-ms",
    env: "LOCALCLOUDHSM_WATCH_PROGRESS_MS",
    help: "default interval of watch progress messages",
    defaultText: "5000",
  },
  watchMaxLag: {
    flag: "--watch-max-lag",
    env: "LOCALCLOUDHSM_WATCH_MAX_LAG",
    help: "revisions a watcher may fall behind before it is ended",
    defaultText: "10000",
  },
  watchBatch: {
    flag: "--watch-batch-ms",
    env: "LOCALCLOUDHSM_WATCH_BATCH_MS",
    help: "batched watchers (max_events_per_response > 1) that are caught up send at most once per this interval",
    defaultText: "20",
  },
  eventCapacity: {
    flag: "--event-capacity",
    env: "LOCALCLOUDHSM_EVENT_CAPACITY",
    help: "events kept for watchers before compaction",
    defaultText: "100000",
  },
  sessionIdle: {
    flag: "--session-idle-seconds",
    env: "LOCALCLOUDHSM_SESSION_IDLE_SECONDS",
    help: "a login session unused this long expires (its session keys vanish)",
    defaultText: "900",
  },
  sessionMax: {
    flag: "--session-max-seconds",
    env: "LOCALCLOUDHSM_SESSION_MAX_SECONDS",
    help: "a login session expires this long after login",
    defaultText: "86400",
  },
  sessionsPerUser: {
    flag: "--sessions-per-user",
    env: "LOCALCLOUDHSM_SESSIONS_PER_USER",
    help: "open login sessions a user may hold",
    defaultText: "64",
  },
  maxKeys: {
    flag: "--max-keys",
    env: "LOCALCLOUDHSM_MAX_KEYS",
    help: "keys the cluster may hold (hsm2m.medium quota); 0 for no limit",
    defaultText: "16666",
  },
  tlsCert: { flag: "--tls-cert-file", env: "LOCALCLOUDHSM_TLS_CERT_FILE", help: "server certificate chain (PEM); enables TLS", defaultText: "none" },
  tlsKey: { flag: "--tls-key-file", env: "LOCALCLOUDHSM_TLS_KEY_FILE", help: "server private key (PEM)", defaultText: "none" },
  tlsClientCa: {
    flag: "--tls-client-ca-file",
    env: "LOCALCLOUDHSM_TLS_CLIENT_CA_FILE",
    help: "CA for client certificates (PEM); enables mutual TLS",
    defaultText: "none",
  },
  allowInsecure: {
    flag: "--allow-insecure",
    env: "LOCALCLOUDHSM_ALLOW_INSECURE",
    help: "serve plaintext on a non-loopback address (\"true\" in env)",
    defaultText: "false",
  },
  newStore: {
    flag: "--new-store",
    env: "LOCALCLOUDHSM_NEW_STORE",
    help: "begin an empty store when store.sqlite is missing or empty but the audit log has records (\"true\" in env)",
    defaultText: "false",
  },
  loginHashConcurrency: {
    flag: "--login-hash-concurrency",
    env: "LOCALCLOUDHSM_LOGIN_HASH_CONCURRENCY",
    help: "password checks (scrypt, on libuv's threadpool) running at once",
    defaultText: "the smaller of UV_THREADPOOL_SIZE (4) and the CPU count",
  },
  loginsPerConnection: {
    flag: "--logins-per-connection",
    env: "LOCALCLOUDHSM_LOGINS_PER_CONNECTION",
    help: "logins one client connection may have in progress; the next gets TOO_MANY_LOGINS",
    defaultText: String(DEFAULT_LOGIN_LIMITS.perConnection),
  },
  loginQueue: {
    flag: "--login-queue",
    env: "LOCALCLOUDHSM_LOGIN_QUEUE",
    help: "logins waiting for a password check daemon-wide; the next gets TOO_MANY_LOGINS",
    defaultText: String(DEFAULT_LOGIN_LIMITS.maxWaiting),
  },
  watchesPerSession: {
    flag: "--watches-per-session",
    env: "LOCALCLOUDHSM_WATCHES_PER_SESSION",
    help: "open WatchSyncStatus streams one login session may hold (RESOURCE_EXHAUSTED past it)",
    defaultText: "64",
  },
  maxConcurrentStreams: {
    flag: "--max-concurrent-streams",
    env: "LOCALCLOUDHSM_MAX_CONCURRENT_STREAMS",
    help: "HTTP/2 streams one connection may have open at once",
    defaultText: "1000",
  },
  connectionIdle: {
    flag: "--connection-idle-ms",
    env: "LOCALCLOUDHSM_CONNECTION_IDLE_MS",
    help: "a connection with no open call this long is closed (also one that never sends the HTTP/2 preface)",
    defaultText: "120000",
  },
  keepalive: {
    flag: "--keepalive-ms",
    env: "LOCALCLOUDHSM_KEEPALIVE_MS",
    help: "interval of the HTTP/2 pings the daemon sends on every connection",
    defaultText: "60000",
  },
  keepaliveTimeout: {
    flag: "--keepalive-timeout-ms",
    env: "LOCALCLOUDHSM_KEEPALIVE_TIMEOUT_MS",
    help: "a connection whose ping is not answered this long is closed, with its calls",
    defaultText: "20000",
  },
} as const satisfies Record<string, Setting>;
const S = SETTINGS;

/** Usage text listing every setting. */
export function usage(): string {
  const lines = Object.values(S).map((s) => `  ${s.flag.padEnd(26)} ${s.env.padEnd(38)} ${s.help} [default: ${s.defaultText}]`);
  return ["usage: local-cloudhsm [options]", "", "  flag                       environment variable", ...lines, "  --help"].join("\n");
}

export interface ParsedCommandLine {
  readonly help: boolean;
  readonly config: DaemonConfig;
}

/** Parses flags over environment variables over defaults; throws ConfigError naming the bad setting. */
export function parseConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  readSecretFile: (path: string) => string,
): ParsedCommandLine {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: "string" },
        "data-dir": { type: "string" },
        "log-level": { type: "string" },
        "log-format": { type: "string" },
        nodes: { type: "string" },
        "max-message-bytes": { type: "string" },
        "admin-secret-file": { type: "string" },
        "master-key-file": { type: "string" },
        "dev-cu": { type: "string", multiple: true },
        "scrypt-n": { type: "string" },
        "shutdown-grace-seconds": { type: "string" },
        "replication-delay-ms": { type: "string" },
        "create-object-minimum-nodes": { type: "string" },
        "watch-progress-ms": { type: "string" },
        "watch-max-lag": { type: "string" },
        "watch-batch-ms": { type: "string" },
        "event-capacity": { type: "string" },
        "session-idle-seconds": { type: "string" },
        "session-max-seconds": { type: "string" },
        "sessions-per-user": { type: "string" },
        "max-keys": { type: "string" },
        "tls-cert-file": { type: "string" },
        "tls-key-file": { type: "string" },
        "tls-client-ca-file": { type: "string" },
        "allow-insecure": { type: "boolean" },
        "new-store": { type: "boolean" },
        "login-hash-concurrency": { type: "string" },
        "logins-per-connection": { type: "string" },
        "login-queue": { type: "string" },
        "watches-per-session": { type: "string" },
        "max-concurrent-streams": { type: "string" },
        "connection-idle-ms": { type: "string" },
        "keepalive-ms": { type: "string" },
        "keepalive-timeout-ms": { type: "string" },
        help: { type: "boolean" },
      },
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\n${usage()}`, { cause: err });
  }
  const v = parsed.values;
  const pick = (setting: Setting, flagValue: string | undefined): string | undefined =>
    flagValue ?? (env[setting.env] !== undefined && env[setting.env] !== "" ? env[setting.env] : undefined);

  const { host, port } = parseListen(pick(S.listen, v.listen) ?? "127.0.0.1:2225");
  const logLevel = oneOf(S.logLevel, pick(S.logLevel, v["log-level"]) ?? "info", ["error", "warn", "info", "debug"] as const);
  const logFormat = oneOf(S.logFormat, pick(S.logFormat, v["log-format"]) ?? "json", ["json", "text"] as const);
  const nodeCount = integer(S.nodes, pick(S.nodes, v.nodes) ?? "3", 1, 28);
  const maxMessageBytes = integer(S.maxMessageBytes, pick(S.maxMessageBytes, v["max-message-bytes"]) ?? "1048576", 1024, 64 * 1024 * 1024);
  const scryptN = integer(S.scryptN, pick(S.scryptN, v["scrypt-n"]) ?? "16384", 1024, 1 << 20);
  if ((scryptN & (scryptN - 1)) !== 0) throw new ConfigError(S.scryptN, "must be a power of two");
  const shutdownGraceSeconds = integer(S.shutdownGrace, pick(S.shutdownGrace, v["shutdown-grace-seconds"]) ?? "10", 0, 3600);

  const replicationDelayMs = integer(S.replicationDelay, pick(S.replicationDelay, v["replication-delay-ms"]) ?? "20", 0, 600_000);
  const createObjectMinimumNodes = integer(S.minNodes, pick(S.minNodes, v["create-object-minimum-nodes"]) ?? "1", 1, 28);
  if (createObjectMinimumNodes > nodeCount) {
    throw new ConfigError(S.minNodes, `${createObjectMinimumNodes} is more than the ${nodeCount} nodes of the cluster`);
  }
  const watchProgressMs = integer(S.watchProgress, pick(S.watchProgress, v["watch-progress-ms"]) ?? "5000", 10, 3_600_000);
  const eventCapacity = integer(S.eventCapacity, pick(S.eventCapacity, v["event-capacity"]) ?? "100000", 100, 10_000_000);
  const watchMaxLag = integer(S.watchMaxLag, pick(S.watchMaxLag, v["watch-max-lag"]) ?? "10000", 1, 10_000_000);
  const watchBatchMs = integer(S.watchBatch, pick(S.watchBatch, v["watch-batch-ms"]) ?? "20", 1, 10_000);
  if (watchMaxLag >= eventCapacity) throw new ConfigError(S.watchMaxLag, `must be below --event-capacity (${eventCapacity}) so a slow watcher can resume`);

  const sessionIdleSeconds = integer(S.sessionIdle, pick(S.sessionIdle, v["session-idle-seconds"]) ?? "900", 1, 31_536_000);
  const sessionMaxSeconds = integer(S.sessionMax, pick(S.sessionMax, v["session-max-seconds"]) ?? "86400", 1, 31_536_000);
  const sessionsPerUser = integer(S.sessionsPerUser, pick(S.sessionsPerUser, v["sessions-per-user"]) ?? "64", 1, 1024);
  const maxKeys = integer(S.maxKeys, pick(S.maxKeys, v["max-keys"]) ?? "16666", 0, 100_000_000);

  const tls = parseTls(
    pick(S.tlsCert, v["tls-cert-file"]),
    pick(S.tlsKey, v["tls-key-file"]),
    pick(S.tlsClientCa, v["tls-client-ca-file"]),
    readSecretFile,
  );

  const adminSecret = v["admin-secret-file"] !== undefined ? readSetting(S.adminSecret, v["admin-secret-file"], readSecretFile) : env[S.adminSecret.env];
  if (adminSecret !== undefined && adminSecret.trim().length < 16) {
    throw new ConfigError(S.adminSecret, "must be at least 16 characters");
  }
  const masterKey = v["master-key-file"] !== undefined ? readSetting(S.masterKey, v["master-key-file"], readSecretFile) : env[S.masterKey.env];
  if (masterKey !== undefined) {
    try {
      parseMasterKey(masterKey);
    } catch (err) {
      throw new ConfigError(S.masterKey, (err as Error).message);
    }
  }

  const devSpecs = v["dev-cu"] ?? (env[S.devCu.env] ? env[S.devCu.env]!.split(",") : []);
  const devUsers = devSpecs.map((spec) => parseDevUser(spec));
  if (devUsers.length > 0 && !isLoopback(host)) {
    throw new ConfigError(S.devCu, `development users are refused on non-loopback address ${host}; create users through the admin service`);
  }

  const allowInsecure = v["allow-insecure"] === true || env[S.allowInsecure.env] === "true";
  if (!tls && !isLoopback(host) && !allowInsecure) {
    throw new ConfigError(S.listen, `plaintext is refused on non-loopback address ${host}; give --tls-cert-file and --tls-key-file, or --allow-insecure`);
  }

  const newStore = v["new-store"] === true || env[S.newStore.env] === "true";
  const loginLimits: LoginLimits = {
    hashConcurrency: integer(S.loginHashConcurrency, pick(S.loginHashConcurrency, v["login-hash-concurrency"]) ?? String(DEFAULT_LOGIN_LIMITS.hashConcurrency), 1, 64),
    perConnection: integer(S.loginsPerConnection, pick(S.loginsPerConnection, v["logins-per-connection"]) ?? String(DEFAULT_LOGIN_LIMITS.perConnection), 1, 100_000),
    maxWaiting: integer(S.loginQueue, pick(S.loginQueue, v["login-queue"]) ?? String(DEFAULT_LOGIN_LIMITS.maxWaiting), 0, 1_000_000),
  };
  const watchesPerSession = integer(S.watchesPerSession, pick(S.watchesPerSession, v["watches-per-session"]) ?? "64", 1, 100_000);
  const http2: Http2Limits = {
    maxConcurrentStreams: integer(S.maxConcurrentStreams, pick(S.maxConcurrentStreams, v["max-concurrent-streams"]) ?? "1000", 1, 100_000),
    connectionIdleMs: integer(S.connectionIdle, pick(S.connectionIdle, v["connection-idle-ms"]) ?? "120000", 100, 86_400_000),
    keepaliveMs: integer(S.keepalive, pick(S.keepalive, v["keepalive-ms"]) ?? "60000", 100, 86_400_000),
    keepaliveTimeoutMs: integer(S.keepaliveTimeout, pick(S.keepaliveTimeout, v["keepalive-timeout-ms"]) ?? "20000", 100, 600_000),
  };

  const dataDir = resolve(pick(S.dataDir, v["data-dir"]) ?? ".local-cloudhsm");
  return {
    help: v.help === true,
    config: {
      host,
      port,
      dataDir,
      logLevel,
      logFormat,
      nodeCount,
      maxMessageBytes,
      adminSecret: adminSecret?.trim(),
      masterKey: masterKey?.trim(),
      devUsers,
      scryptN,
      shutdownGraceSeconds,
      replicationDelayMs,
      createObjectMinimumNodes,
      watchProgressMs,
      watchMaxLag,
      watchBatchMs,
      eventCapacity,
      sessionIdleSeconds,
      sessionMaxSeconds,
      sessionsPerUser,
      maxKeys,
      tls,
      newStore,
      loginLimits,
      watchesPerSession,
      http2,
    },
  };
}

/** Loopback hosts: 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  if (!match) throw new ConfigError(S.listen, `"${text}" is not host:port`);
  const host = (match[1] ?? match[2])!;
  if (host !== "localhost" && isIP(host) === 0) throw new ConfigError(S.listen, `"${host}" is not an IP address or localhost`);
  const port = Number(match[3]);
  if (port > 65535) throw new ConfigError(S.listen, `port ${port} is out of range`);
  return { host, port };
}

function oneOf<T extends string>(setting: Setting, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(setting, `"${value}" is not one of ${allowed.join(", ")}`);
  return value as T;
}

function integer(setting: Setting, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(setting, `"${value}" is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(setting, `${n} is outside ${min}..${max}`);
  return n;
}

function readSetting(setting: Setting, path: string, read: (path: string) => string): string {
  try {
    return read(path);
  } catch (err) {
    throw new ConfigError(setting, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

function parseTls(
  certPath: string | undefined,
  keyPath: string | undefined,
  clientCaPath: string | undefined,
  read: (path: string) => string,
): TlsConfig | undefined {
  if (certPath === undefined && keyPath === undefined) {
    if (clientCaPath !== undefined) throw new ConfigError(S.tlsClientCa, "mutual TLS needs --tls-cert-file and --tls-key-file too");
    return undefined;
  }
  if (certPath === undefined) throw new ConfigError(S.tlsCert, "--tls-key-file needs --tls-cert-file");
  if (keyPath === undefined) throw new ConfigError(S.tlsKey, "--tls-cert-file needs --tls-key-file");
  const pem = (setting: Setting, path: string, marker: RegExp): Buffer => {
    const text = readSetting(setting, path, read);
    if (!marker.test(text)) throw new ConfigError(setting, `${path} is not a PEM file of the expected kind`);
    return Buffer.from(text);
  };
  return {
    certChain: pem(S.tlsCert, certPath, /-----BEGIN CERTIFICATE-----/),
    privateKey: pem(S.tlsKey, keyPath, /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/),
    clientCa: clientCaPath === undefined ? undefined : pem(S.tlsClientCa, clientCaPath, /-----BEGIN CERTIFICATE-----/),
  };
}

function parseDevUser(spec: string): DevUser {
  const at = spec.indexOf(":");
  if (at <= 0 || at === spec.length - 1) throw new ConfigError(S.devCu, "expected name:password");
  const user = { username: spec.slice(0, at), password: spec.slice(at + 1) };
  try {
    normaliseUsername(user.username);
    checkPasswordRules(user.password);
  } catch (err) {
    if (err instanceof HsmError) throw new ConfigError(S.devCu, err.message);
    throw err;
  }
  return user;
}
