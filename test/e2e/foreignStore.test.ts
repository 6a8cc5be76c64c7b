// A store the daemon must not open: another schema version, another master key, or not a store at all.
// Each is refused at start with one clear line on stderr and a non-zero exit, and leaves the store intact.
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { childEnv, DaemonProcess, ExitInfo, standardArgs } from "./support/daemonProcess";
import { freshDataDir, startLoggedIn, useDaemonCleanup, usedDataDir } from "./support/e2eFixture";

const closer = useDaemonCleanup();

/** Refused at start: non-zero exit, never served, one line on stderr with no stack trace. */
function expectRefused(exit: ExitInfo & { logs: Record<string, unknown>[] }): string {
  expect({ signal: exit.signal, failed: exit.code !== null && exit.code !== 0 }).toEqual({ signal: null, failed: true });
  expect(exit.logs.filter((l) => l.message === "local-cloudhsm serving")).toEqual([]);
  const lines = exit.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(exit.stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

/** The data dir still opens with its own settings and the key is intact. */
async function expectStillUsable(dataDir: string, keyHandle: number, kcv: string): Promise<void> {
  const { daemon, hsm } = await startLoggedIn(closer, dataDir);
  expect(await hsm.kcv(keyHandle)).toBe(kcv);
  hsm.close();
  expect((await daemon.stop("SIGTERM")).code).toBe(0);
}

function setSchemaVersion(dataDir: string, version: string): string {
  const db = new Database(join(dataDir, "store.sqlite"));
  try {
    const row = db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").get() as { value: string };
    db.prepare("UPDATE meta SET value = ? WHERE name = 'schema_version'").run(version);
    return row.value;
  } finally {
    db.close();
  }
}

describe("a store written by another version or sealed under another key", () => {
  test("schema_version 99 is refused with one line naming the schema versions", async () => {
    const { dataDir, keyHandle, kcv } = await usedDataDir(closer);
    const original = setSchemaVersion(dataDir, "99");
    expect(original).not.toBe("99");

    const exit = await DaemonProcess.run(standardArgs(dataDir));
    const line = expectRefused(exit);
    expect(line).toMatch(/schema version/i);
    expect(line).toContain("99");
    expect(line).toContain(original);

    // The refusal changed nothing: with the version restored, the store opens and the key is there.
    setSchemaVersion(dataDir, original);
    await expectStillUsable(dataDir, keyHandle, kcv);
  });

  test("another master key (LOCALCLOUDHSM_MASTER_KEY) is refused with one line saying so", async () => {
    const { dataDir, keyHandle, kcv } = await usedDataDir(closer);
    const exit = await DaemonProcess.run(standardArgs(dataDir), childEnv({ LOCALCLOUDHSM_MASTER_KEY: randomBytes(32).toString("hex") }));
    const line = expectRefused(exit);
    expect(line).toMatch(/master key/i);

    await expectStillUsable(dataDir, keyHandle, kcv);
  });

  test("an SQLite file that is not a local-cloudhsm store is refused and left alone", async () => {
    const dataDir = freshDataDir();
    mkdirSync(dataDir);
    const db = new Database(join(dataDir, "store.sqlite"));
    db.exec("CREATE TABLE someone_elses (x INTEGER)");
    db.close();

    // With a master key at hand, so the start gets as far as reading the file (without one, an existing store
    // is refused earlier for its missing master.key).
    const exit = await DaemonProcess.run(standardArgs(dataDir), childEnv({ LOCALCLOUDHSM_MASTER_KEY: randomBytes(32).toString("hex") }));
    const line = expectRefused(exit);
    expect(line).toMatch(/not a local-cloudhsm store/);

    const after = new Database(join(dataDir, "store.sqlite"), { readonly: true });
    try {
      const tables = after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
      expect(tables.map((t) => t.name)).toEqual(["someone_elses"]);
    } finally {
      after.close();
    }
  });
});
