// Builds a real daemon on 127.0.0.1:0 over a real SQLite store in a temp dir, with clients, for integration tests.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { AdminClient, HsmClient } from "../../clients";
import { SqliteStore } from "../../src/hsm/store/sqliteStore";
import { buildDaemon, Daemon } from "../../src/server/compositionRoot";
import { createLogger } from "../../src/server/logger";

export const TEST_ADMIN_SECRET = "integration-admin-secret-0123456789";
export const TEST_PASSWORD = "password1";
/** Real scrypt, at a cost that keeps the suite fast. */
export const TEST_SCRYPT_N = 1024;

export interface TestDaemon {
  readonly daemon: Daemon;
  readonly address: string;
  readonly dataDir: string;
  readonly admin: AdminClient;
  /** Every log line the daemon wrote, parsed. */
  readonly logs: Record<string, unknown>[];
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
}

export const TEST_MASTER_KEY = Buffer.alloc(32, 7);

export async function startTestDaemon(options: TestDaemonOptions = {}): Promise<TestDaemon> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "lch-it-"));
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger("debug", "json", sink);
  const store = SqliteStore.open(join(dataDir, "store.sqlite"), options.masterKey ?? TEST_MASTER_KEY);
  const daemon = await buildDaemon({
    store,
    logger,
    nodeCount: options.nodeCount ?? 3,
    adminSecret: TEST_ADMIN_SECRET,
    maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
    scryptN: TEST_SCRYPT_N,
    shutdownGraceSeconds: 5,
  });
  const port = await daemon.listen("127.0.0.1", 0);
  const address = `127.0.0.1:${port}`;
  const admin = new AdminClient(address, TEST_ADMIN_SECRET);
  const clients: HsmClient[] = [];
  const client = (): HsmClient => {
    const c = new HsmClient(address);
    clients.push(c);
    return c;
  };
  return {
    daemon,
    address,
    dataDir,
    admin,
    logs,
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
