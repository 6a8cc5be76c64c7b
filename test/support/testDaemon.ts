// Builds a real daemon on 127.0.0.1:0 over a real SQLite store in a temp dir, with clients, for integration tests.
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { AdminClient, HsmClient } from "../../clients";
import { SqliteStore } from "../../src/hsm/store/sqliteStore";
import { Clock } from "../../src/hsm/clock";
import { Timers } from "../../src/hsm/timers";
import { PasswordHasher } from "../../src/hsm/users";
import { buildDaemon, Daemon } from "../../src/server/compositionRoot";
import { configFrom, SettingsInput } from "../../src/server/config";
import { createLogger } from "../../src/server/logger";
import { SeedDocument } from "../../src/hsm/seed";
import { SnapshotShelf } from "../../src/hsm/store/snapshotShelf";

export const TEST_ADMIN_SECRET = "integration-admin-secret-0123456789";
export const TEST_PASSWORD = "password1";
/** Real scrypt, at a cost that keeps the suite fast. */
export const TEST_SCRYPT_N = 1024;

export interface TestDaemon {
  readonly daemon: Daemon;
  readonly address: string;
  readonly dataDir: string;
  readonly admin: AdminClient;
  /** http://127.0.0.1:<port>/metrics when started with `metrics`. */
  readonly metricsUrl: string | undefined;
  /** Every log line the daemon wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the `count`-th log line matching `predicate` (lines already written count). */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, count?: number): Promise<Record<string, unknown>>;
  /** Creates a crypto user and returns a client logged in as it. */
  loggedInCu(username: string): Promise<HsmClient>;
  /** A client that is not logged in. */
  client(): HsmClient;
  close(): Promise<void>;
}

export interface TestDaemonOptions {
  readonly nodeCount?: number;
  readonly maxMessageBytes?: number;
  readonly dataDir?: string;
  readonly masterKey?: Buffer;
  /** Default replication delay to each node, ms (the daemon's default when absent). */
  readonly replicationDelayMs?: number;
  /** CloudHSM's create_object_minimum_nodes. */
  readonly createObjectMinimumNodes?: number;
  /** Events kept for watchers before compaction. */
  readonly eventCapacity?: number;
  /** Watch stream settings: default progress interval, the lag that ends a slow watcher, the batch interval. */
  readonly watch?: SettingsInput["watch"];
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Session idle and absolute expiry and the per-user cap (the daemon's defaults when absent). */
  readonly sessionLimits?: SettingsInput["sessionLimits"];
  /** Server transport security; plaintext when absent. */
  readonly serverCredentials?: grpc.ServerCredentials;
  /** Client channel credentials matching serverCredentials. */
  readonly clientCredentials?: grpc.ChannelCredentials;
  /** Password checks at once, logins per connection and waiting (the daemon's defaults when absent). */
  readonly loginLimits?: SettingsInput["loginLimits"];
  /** Replaces scrypt, e.g. to hold checks until the test releases them. */
  readonly passwordHasher?: PasswordHasher;
  /** HTTP/2 limits (streams per connection, idle and keepalive timeouts); the daemon's defaults when absent. */
  readonly http2?: SettingsInput["http2"];
  /** A seed applied at start and the target of ResetState to_seed. */
  readonly seed?: SeedDocument;
  /** Where snapshots go; in memory when absent. */
  readonly snapshots?: SnapshotShelf;
  /** Serve Prometheus metrics on 127.0.0.1:0 (metricsUrl). */
  readonly metrics?: boolean;
}

export const TEST_MASTER_KEY = Buffer.alloc(32, 7);

export async function startTestDaemon(options: TestDaemonOptions = {}): Promise<TestDaemon> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "lch-it-"));
  const logs: Record<string, unknown>[] = [];
  let logWaiters: { predicate: (line: Record<string, unknown>) => boolean; remaining: number; resolve: (line: Record<string, unknown>) => void }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (text.trim() === "") continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        logs.push(line);
        logWaiters = logWaiters.filter((w) => {
          if (w.predicate(line)) w.remaining -= 1;
          if (w.remaining > 0) return true;
          w.resolve(line);
          return false;
        });
      }
      done();
    },
  });
  const logger = createLogger("debug", "json", sink);
  const store = SqliteStore.open(join(dataDir, "store.sqlite"), options.masterKey ?? TEST_MASTER_KEY);
  const daemon = await buildDaemon({
    store,
    logger,
    adminSecret: TEST_ADMIN_SECRET,
    settings: configFrom({
      scryptN: TEST_SCRYPT_N,
      shutdownGraceSeconds: 5,
      ...pick(options, ["nodeCount", "maxMessageBytes", "replicationDelayMs", "createObjectMinimumNodes", "eventCapacity", "watch", "sessionLimits", "loginLimits", "http2"]),
    }),
    ...pick(options, ["clock", "timers", "serverCredentials", "passwordHasher", "seed", "snapshots"]),
    ...(options.metrics ? { metrics: {} } : {}),
  });
  const port = await daemon.listen("127.0.0.1", 0);
  const metricsUrl = options.metrics ? `http://127.0.0.1:${await daemon.listenMetrics("127.0.0.1", 0)}/metrics` : undefined;
  const address = `127.0.0.1:${port}`;
  const connect = options.clientCredentials ? { credentials: options.clientCredentials } : {};
  const admin = new AdminClient(address, TEST_ADMIN_SECRET, connect);
  const clients: HsmClient[] = [];
  const client = (): HsmClient => {
    const c = new HsmClient(address, connect);
    clients.push(c);
    return c;
  };
  return {
    daemon,
    address,
    dataDir,
    admin,
    metricsUrl,
    logs,
    waitForLog(predicate, count = 1) {
      const seen = logs.filter(predicate);
      if (seen.length >= count) return Promise.resolve(seen[count - 1]!);
      return new Promise((resolve) => logWaiters.push({ predicate, remaining: count - seen.length, resolve }));
    },
    client,
    async loggedInCu(username) {
      await admin.createUser(username, TEST_PASSWORD);
      const c = client();
      await c.login(username, TEST_PASSWORD);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      admin.close();
      await daemon.shutdown();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The given (not undefined) fields of `options` among `keys`: optional fields passed on only when set. */
function pick<T extends object, K extends keyof T>(options: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const key of keys) if (options[key] !== undefined) out[key] = options[key];
  return out;
}
