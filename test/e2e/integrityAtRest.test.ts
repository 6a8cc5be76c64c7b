// Integrity at rest, end to end: rows edited with the daemon stopped (owner, a share row, a flipped byte of sealed
// material) make the start fail with one line naming the key; the audit log cut at its tail or emptied is refused at
// start and by `verifyAudit`, which takes the master key as the daemon does (data dir, --master-key-file).
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HsmClient } from "../../clients";
import { DaemonProcess, ExitInfo, makeTempDir, standardArgs } from "./support/daemonProcess";
import { freshDataDir, startLoggedIn, useDaemonCleanup, verifyAudit } from "./support/e2eFixture";

const closer = useDaemonCleanup();

/** A data dir written by a first run (stopped cleanly): alice's wrapping key and an imported key shared with bob. */
async function populatedDataDir(extraArgs: readonly string[] = []): Promise<{ dataDir: string; wrappingKey: number; keyHandle: number }> {
  const dataDir = freshDataDir("lch-integrity-");
  const { daemon, hsm } = await startLoggedIn(closer, dataDir, ["--dev-cu", "bob:password2", ...extraArgs]);
  const wrappingKey = await hsm.createWrappingKey();
  const { keyHandle } = await hsm.importSymKey(randomBytes(32), { wrappingKey, label: "kept" });
  const bob = closer.add(new HsmClient(daemon.address));
  const bobId = await bob.login("bob", "password2");
  await hsm.shareKey(keyHandle, [bobId]);
  await hsm.logout();
  hsm.close();
  bob.close();
  expect((await daemon.stop("SIGTERM")).code).toBe(0);
  return { dataDir, wrappingKey, keyHandle };
}

function withDb<T>(dataDir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, "store.sqlite"));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Refused at start: exit 1, never served, exactly one line on stderr and no stack trace; returns that line. */
function refusedLine(exit: ExitInfo & { logs: Record<string, unknown>[] }): string {
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
  expect(exit.logs.filter((l) => l.message === "local-cloudhsm serving")).toEqual([]);
  expect(exit.stderr).not.toMatch(/^\s+at /m);
  const lines = exit.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

const keyRefusal = (dataDir: string, handle: number): string =>
  `local-cloudhsm: store ${join(dataDir, "store.sqlite")}: key handle ${handle} fails its integrity check (changed outside the daemon, or corrupted); restore the data directory from a backup`;

describe("rows at rest", () => {
  test("an owner changed or a share row added with the daemon stopped: the start fails naming the key; undone, it starts", async () => {
    const { dataDir, wrappingKey, keyHandle } = await populatedDataDir();
    const bobId = withDb(dataDir, (db) => (db.prepare("SELECT user_id FROM users WHERE username = 'bob'").get() as { user_id: number }).user_id);

    // Give bob alice's wrapping key.
    const aliceId = withDb(dataDir, (db) => {
      const owner = (db.prepare("SELECT owner_id FROM keys WHERE handle = ?").get(wrappingKey) as { owner_id: number }).owner_id;
      db.prepare("UPDATE keys SET owner_id = ? WHERE handle = ?").run(bobId, wrappingKey);
      return owner;
    });
    expect(refusedLine(await DaemonProcess.run(standardArgs(dataDir)))).toBe(keyRefusal(dataDir, wrappingKey));
    withDb(dataDir, (db) => db.prepare("UPDATE keys SET owner_id = ? WHERE handle = ?").run(aliceId, wrappingKey));

    // Share it with bob instead.
    withDb(dataDir, (db) => db.prepare("INSERT INTO key_shares(handle, user_id) VALUES (?, ?)").run(wrappingKey, bobId));
    expect(refusedLine(await DaemonProcess.run(standardArgs(dataDir)))).toBe(keyRefusal(dataDir, wrappingKey));
    withDb(dataDir, (db) => db.prepare("DELETE FROM key_shares WHERE handle = ? AND user_id = ?").run(wrappingKey, bobId));

    const daemon = await DaemonProcess.start(standardArgs(dataDir));
    const bob = closer.add(new HsmClient(daemon.address));
    await bob.login("bob", "password2");
    expect(await bob.findKey()).toEqual([keyHandle]);
    bob.close();
    expect((await daemon.stop("SIGTERM")).code).toBe(0);
  });

  test("a flipped byte in one key's sealed material: exit 1 with one line naming that key", async () => {
    const { dataDir, keyHandle } = await populatedDataDir();
    withDb(dataDir, (db) => {
      const sealed = Buffer.from((db.prepare("SELECT material_sealed FROM keys WHERE handle = ?").get(keyHandle) as { material_sealed: Buffer }).material_sealed);
      sealed[sealed.length - 1] = sealed[sealed.length - 1]! ^ 0x01;
      db.prepare("UPDATE keys SET material_sealed = ? WHERE handle = ?").run(sealed, keyHandle);
    });
    expect(refusedLine(await DaemonProcess.run(standardArgs(dataDir)))).toBe(keyRefusal(dataDir, keyHandle));
  });
});

describe("the audit log against the head in the store", () => {
  test("verifyAudit takes the data dir's master key or --master-key-file; a cut tail or an emptied log is refused by it and at start", async () => {
    // A master key given by file, so the data dir holds none: verifyAudit must be told where it is.
    const keyDir = makeTempDir("lch-key-");
    mkdirSync(keyDir, { recursive: true });
    const keyFile = join(keyDir, "master.key");
    writeFileSync(keyFile, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });
    const { dataDir } = await populatedDataDir(["--master-key-file", keyFile]);
    const auditFile = join(dataDir, "audit.jsonl");
    const lines = readFileSync(auditFile, "utf8").split("\n").filter((l) => l !== "");
    expect(lines.length).toBeGreaterThan(4);

    expect(await verifyAudit(["--data-dir", dataDir, "--master-key-file", keyFile])).toEqual({ code: 0, stdout: `audit chain OK: ${lines.length} records\n`, stderr: "" });
    const noKey = await verifyAudit([auditFile]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toBe(`verify-audit: cannot read ${join(dataDir, "master.key")}: ENOENT\n`);

    // The last two records removed: every line left verifies, but the store's head names a later record.
    writeFileSync(auditFile, lines.slice(0, -2).join("\n") + "\n");
    const cut = await verifyAudit([auditFile, "--master-key-file", keyFile]);
    expect(cut).toEqual({
      code: 1,
      stdout: `audit chain BROKEN: the log ends at record ${lines.length - 2} but the store's audit head is record ${lines.length}: records were removed from its end\n`,
      stderr: "",
    });
    const args = standardArgs(dataDir, ["--master-key-file", keyFile]);
    expect(refusedLine(await DaemonProcess.run(args))).toBe(
      `local-cloudhsm: audit log ${auditFile} ends at record ${lines.length - 2} but the store's audit head is record ${lines.length}: records were removed from its end`,
    );

    writeFileSync(auditFile, "");
    expect((await verifyAudit(["--data-dir", dataDir, "--master-key-file", keyFile])).code).toBe(1);
    expect(refusedLine(await DaemonProcess.run(args))).toBe(
      `local-cloudhsm: audit log ${auditFile} ends at record 0 but the store's audit head is record ${lines.length}: records were removed from its end`,
    );

    // Put back whole, the log verifies and the daemon starts.
    writeFileSync(auditFile, lines.join("\n") + "\n");
    const daemon = await DaemonProcess.start(args);
    expect((await daemon.stop("SIGTERM")).code).toBe(0);
    expect((await verifyAudit(["--data-dir", dataDir, "--master-key-file", keyFile])).code).toBe(0);
  });
});
