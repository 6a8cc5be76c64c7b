// The daemon's settings, each written once: flag, environment variable, typed default, parser and help line.
// The command line, the usage text, the config type, in-process configuration and the bench all derive from it.
import { availableParallelism } from "node:os";
import { HsmError } from "../hsm/errors";
import { parseMasterKey } from "../hsm/store/masterKey";
import { checkPasswordRules, normaliseUsername } from "../hsm/users";
import { MIN_PROGRESS_INTERVAL_MS } from "./requestValidation";
import { ConfigError, directory, HostPort, hostPort, integer, Kind, list, onOff, oneOf, optionalHostPort, optionalPath, secret, Setting } from "./settingKinds";

export type LogLevel = "error" | "warn" | "info" | "debug";
export type LogFormat = "json" | "text";

/** A crypto user created at start for local development (loopback only). */
export interface DevUser {
  readonly username: string;
  readonly password: string;
}

function setting<T>(flag: string, env: string, kind: Kind<T>, defaultValue: T, help: string, defaultText?: string): Setting<T> {
  return { flag, env, kind, default: defaultValue, help, ...(defaultText !== undefined ? { defaultText } : {}) };
}

/**
 * libuv's threadpool runs async scrypt; more hash jobs than threads would only queue inside libuv where no
 * one can order them. More than the CPUs would take the event loop's core too.
 */
function defaultHashConcurrency(): number {
  const threadpool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(threadpool, availableParallelism()));
}

const devUser = list<DevUser>(
  (spec, names) => {
    const at = spec.indexOf(":");
    if (at <= 0 || at === spec.length - 1) throw new ConfigError(names, "expected name:password");
    return { username: spec.slice(0, at), password: spec.slice(at + 1) };
  },
  (user, names) => {
    try {
      normaliseUsername(user.username);
      checkPasswordRules(user.password);
    } catch (err) {
      if (err instanceof HsmError) throw new ConfigError(names, err.message);
      throw err;
    }
    return user;
  },
  (user) => `${user.username}:${user.password}`,
);

const MAX_NODES = 28;
const YEAR_SECONDS = 31_536_000;
const DAY_MS = 86_400_000;

/**
 * Top-level keys are what the daemon's config holds; a nested object is an option bag handed whole to the
 * module that uses it (its keys are that module's option names). Order is the order of the usage text.
 */
export const SETTINGS = {
  listen: setting<HostPort>("--listen", "LOCALCLOUDHSM_LISTEN", hostPort, { host: "127.0.0.1", port: 2225 }, "host:port to serve gRPC on"),
  dataDir: setting("--data-dir", "LOCALCLOUDHSM_DATA_DIR", directory, "./.local-cloudhsm", "directory for the store and master key"),
  logLevel: setting<LogLevel>("--log-level", "LOCALCLOUDHSM_LOG_LEVEL", oneOf(["error", "warn", "info", "debug"]), "info", "error, warn, info or debug"),
  logFormat: setting<LogFormat>("--log-format", "LOCALCLOUDHSM_LOG_FORMAT", oneOf(["json", "text"]), "json", "json or text"),
  nodeCount: setting("--nodes", "LOCALCLOUDHSM_NODES", integer(1, MAX_NODES), 3, `number of emulated HSMs (1-${MAX_NODES})`),
  maxMessageBytes: setting("--max-message-bytes", "LOCALCLOUDHSM_MAX_MESSAGE_BYTES", integer(1024, 64 * 1024 * 1024), 1_048_576, "largest request accepted, in bytes"),
  /** Admin service secret; undefined means "generate one into the data directory". */
  adminSecret: setting(
    "--admin-secret-file",
    "LOCALCLOUDHSM_ADMIN_SECRET",
    secret((text) => (text.trim().length < 16 ? "must be at least 16 characters" : undefined)),
    undefined,
    "admin service secret (env: the secret; flag: a file holding it)",
    "generated into <data-dir>/admin-secret",
  ),
  /** Master key text (hex or base64); undefined means "use or create <dataDir>/master.key". */
  masterKey: setting(
    "--master-key-file",
    "LOCALCLOUDHSM_MASTER_KEY",
    secret((text) => {
      try {
        parseMasterKey(text);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    }),
    undefined,
    "master key, 64 hex digits or base64 (env: the key; flag: a file holding it)",
    "generated into <data-dir>/master.key",
  ),
  devUsers: setting<readonly DevUser[]>(
    "--dev-cu",
    "LOCALCLOUDHSM_DEV_CU",
    devUser,
    [],
    "create crypto user name:password at start (loopback only; repeatable, comma-separated in env)",
    "none",
  ),
  /** scrypt N for new password hashes. */
  scryptN: setting(
    "--scrypt-n",
    "LOCALCLOUDHSM_SCRYPT_N",
    integer(1024, 1 << 20, { rule: (n) => ((n & (n - 1)) !== 0 ? "must be a power of two" : undefined) }),
    16_384,
    "scrypt cost N for password hashes",
  ),
  shutdownGraceSeconds: setting("--shutdown-grace-seconds", "LOCALCLOUDHSM_SHUTDOWN_GRACE_SECONDS", integer(0, 3600), 10, "seconds in-flight calls get at shutdown"),
  replicationDelayMs: setting(
    "--replication-delay-ms",
    "LOCALCLOUDHSM_REPLICATION_DELAY_MS",
    integer(0, 600_000),
    20, // small but not zero, so a watcher sees replication happen
    "time a token key takes to reach each other node",
  ),
  createObjectMinimumNodes: setting(
    "--create-object-minimum-nodes",
    "LOCALCLOUDHSM_CREATE_OBJECT_MINIMUM_NODES",
    integer(1, MAX_NODES),
    1,
    "cluster-wide minimum nodes for a new token key (the larger of it and -min_srv wins)",
  ),
  /** The watch stream's settings, in the server's WatchSettings names (batchIntervalMs goes to the ticker). */
  watch: {
    defaultProgressIntervalMs: setting("--watch-progress-ms", "LOCALCLOUDHSM_WATCH_PROGRESS_MS", integer(MIN_PROGRESS_INTERVAL_MS, 3_600_000), 5000, "default interval of watch progress messages"),
    maxLag: setting("--watch-max-lag", "LOCALCLOUDHSM_WATCH_MAX_LAG", integer(1, 10_000_000), 10_000, "revisions a watcher may fall behind before it is ended"),
    batchIntervalMs: setting(
      "--watch-batch-ms",
      "LOCALCLOUDHSM_WATCH_BATCH_MS",
      integer(1, 10_000),
      20,
      "batched watchers (max_events_per_response > 1) that are caught up send at most once per this interval",
    ),
  },
  eventCapacity: setting("--event-capacity", "LOCALCLOUDHSM_EVENT_CAPACITY", integer(100, 10_000_000), 100_000, "events kept for watchers before compaction"),
  /** The SessionRegistry's limits (given in seconds, received in ms). */
  sessionLimits: {
    idleMs: setting(
      "--session-idle-seconds",
      "LOCALCLOUDHSM_SESSION_IDLE_SECONDS",
      integer(1, YEAR_SECONDS, { scale: 1000 }),
      900_000,
      "a login session unused this long expires (its session keys vanish)",
    ),
    maxLifetimeMs: setting(
      "--session-max-seconds",
      "LOCALCLOUDHSM_SESSION_MAX_SECONDS",
      integer(1, YEAR_SECONDS, { scale: 1000 }),
      DAY_MS,
      "a login session expires this long after login",
    ),
    perUser: setting("--sessions-per-user", "LOCALCLOUDHSM_SESSIONS_PER_USER", integer(1, 1024), 64, "open login sessions a user may hold"),
    watchesPerSession: setting(
      "--watches-per-session",
      "LOCALCLOUDHSM_WATCHES_PER_SESSION",
      integer(1, 100_000),
      64,
      "open WatchSyncStatus streams one login session may hold (RESOURCE_EXHAUSTED past it)",
    ),
  },
  /** Most keys in the cluster; 0 for no limit. */
  maxKeys: setting("--max-keys", "LOCALCLOUDHSM_MAX_KEYS", integer(0, 100_000_000), 16_666, "keys the cluster may hold (hsm2m.medium quota); 0 for no limit"),
  /** PEM files; read, and checked together, into the config's `tls`. */
  tlsFiles: {
    certChain: setting("--tls-cert-file", "LOCALCLOUDHSM_TLS_CERT_FILE", optionalPath, undefined, "server certificate chain (PEM); enables TLS", "none"),
    privateKey: setting("--tls-key-file", "LOCALCLOUDHSM_TLS_KEY_FILE", optionalPath, undefined, "server private key (PEM)", "none"),
    clientCa: setting("--tls-client-ca-file", "LOCALCLOUDHSM_TLS_CLIENT_CA_FILE", optionalPath, undefined, "CA for client certificates (PEM); enables mutual TLS", "none"),
  },
  allowInsecure: setting("--allow-insecure", "LOCALCLOUDHSM_ALLOW_INSECURE", onOff, false, 'serve plaintext on a non-loopback address ("true" in env)'),
  /** Start an empty store where store.sqlite is missing or empty although the data directory has history. */
  newStore: setting(
    "--new-store",
    "LOCALCLOUDHSM_NEW_STORE",
    onOff,
    false,
    'begin an empty store when store.sqlite is missing or empty but the audit log has records ("true" in env)',
  ),
  /** The HashQueue's limits. */
  loginLimits: {
    hashConcurrency: setting(
      "--login-hash-concurrency",
      "LOCALCLOUDHSM_LOGIN_HASH_CONCURRENCY",
      integer(1, 64),
      defaultHashConcurrency(),
      "password checks (scrypt, on libuv's threadpool) running at once",
      "the smaller of UV_THREADPOOL_SIZE (4) and the CPU count",
    ),
    // As many as the sessions one user may hold.
    perConnection: setting(
      "--logins-per-connection",
      "LOCALCLOUDHSM_LOGINS_PER_CONNECTION",
      integer(1, 100_000),
      64,
      "logins one client connection may have in progress; the next gets TOO_MANY_LOGINS",
    ),
    maxWaiting: setting("--login-queue", "LOCALCLOUDHSM_LOGIN_QUEUE", integer(0, 1_000_000), 256, "logins waiting for a password check daemon-wide; the next gets TOO_MANY_LOGINS"),
  },
  /** The grpc-js HTTP/2 limits (Http2Limits). */
  http2: {
    maxConcurrentStreams: setting("--max-concurrent-streams", "LOCALCLOUDHSM_MAX_CONCURRENT_STREAMS", integer(1, 100_000), 1000, "HTTP/2 streams one connection may have open at once"),
    connectionIdleMs: setting(
      "--connection-idle-ms",
      "LOCALCLOUDHSM_CONNECTION_IDLE_MS",
      integer(100, DAY_MS),
      120_000,
      "a connection with no open call this long is closed (also one that never sends the HTTP/2 preface)",
    ),
    keepaliveMs: setting("--keepalive-ms", "LOCALCLOUDHSM_KEEPALIVE_MS", integer(100, DAY_MS), 60_000, "interval of the HTTP/2 pings the daemon sends on every connection"),
    keepaliveTimeoutMs: setting(
      "--keepalive-timeout-ms",
      "LOCALCLOUDHSM_KEEPALIVE_TIMEOUT_MS",
      integer(100, 600_000),
      20_000,
      "a connection whose ping is not answered this long is closed, with its calls",
    ),
  },
  /** A seed file (YAML or JSON): users, keys and cluster shape created at start when missing (README, "Seed files, reset and snapshots"). */
  seedFile: setting("--seed", "LOCALCLOUDHSM_SEED", optionalPath, undefined, "seed file (.yaml or .json) of users and keys created at start if missing", "none"),
  /** Prometheus endpoint (GET /metrics); off when undefined. */
  metricsListen: setting<HostPort | undefined>(
    "--metrics-listen",
    "LOCALCLOUDHSM_METRICS_LISTEN",
    optionalHostPort,
    undefined,
    "host:port to serve Prometheus metrics on (/metrics; loopback only unless TLS is on, then HTTPS)",
    "off",
  ),
} as const;

type Table = typeof SETTINGS;
type ValueOf<E> = E extends Setting<infer T> ? T : { readonly [K in keyof E]: E[K] extends Setting<infer T> ? T : never };
type InputOf<E> = E extends Setting<infer T> ? T : { readonly [K in keyof E]?: E[K] extends Setting<infer T> ? T : never };

/** Every setting's typed value: the shape of the table. */
export type Settings = { readonly [K in keyof Table]: ValueOf<Table[K]> };
/** Settings given in-process: any subset, option bags partly. */
export type SettingsInput = { readonly [K in keyof Table]?: InputOf<Table[K]> };

/** One setting with its path in the table (e.g. ["sessionLimits", "perUser"]). */
export interface SettingEntry {
  readonly path: readonly [string] | readonly [string, string];
  readonly setting: Setting<unknown>;
}

function isSetting(entry: object): entry is Setting<unknown> {
  return "flag" in entry;
}

/** Every setting in table order. */
export const SETTING_LIST: readonly SettingEntry[] = Object.entries(SETTINGS).flatMap(([key, entry]): SettingEntry[] =>
  isSetting(entry)
    ? [{ path: [key], setting: entry }]
    : Object.entries(entry as Record<string, Setting<unknown>>).map(([inner, s]) => ({ path: [key, inner] as const, setting: s })),
);

/** Builds the nested settings object from one value per table entry. */
export function buildSettings(valueOf: (entry: SettingEntry) => unknown): Settings {
  const out: Record<string, unknown> = {};
  for (const entry of SETTING_LIST) {
    const [key, inner] = entry.path;
    if (inner === undefined) out[key] = valueOf(entry);
    else out[key] = { ...(out[key] as object | undefined), [inner]: valueOf(entry) };
  }
  // The one place the table's shape meets its values: SETTING_LIST walks exactly the table.
  return out as Settings;
}

/** The given value of an entry in a partial input, if any. */
export function inputValue(input: SettingsInput, entry: SettingEntry): unknown {
  const [key, inner] = entry.path;
  const top = (input as Record<string, unknown>)[key];
  if (inner === undefined || top === undefined) return top;
  return (top as Record<string, unknown>)[inner];
}

/** Every default, typed: what a daemon gets for a setting nobody gave; unit tests take domain defaults from here. */
export const DEFAULTS: Settings = buildSettings(({ setting }) => setting.default);

/** The default as usage text and the README table show it. */
export function defaultText(setting: Setting<unknown>): string {
  return setting.defaultText ?? setting.kind.show(setting.default);
}
