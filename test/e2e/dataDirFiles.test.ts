// The data directory's files at rest: created for the daemon's user only (0700 / 0600) whatever the umask,
// wider modes narrowed with a warning (store, WAL, audit log, directory) or refused (master.key and
// admin-secret, which may have leaked), and a missing, malformed or damaged file refused at start with one
// line naming it, exit 1 and no stack trace, before anything is written.
import Database from "better-sqlite3";
import {
  chmodSync,
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { HsmClient } from "../../clients";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, ExitInfo, LogLine, standardArgs } from "./support/daemonProcess";
import { freshDataDir, startLoggedIn, useDaemonCleanup, usedDataDir } from "./support/e2eFixture";

const closer = useDaemonCleanup();

const modeOf = (path: string): string => `0${(statSync(path).mode & 0o777).toString(8)}`;
const serving = (l: LogLine): boolean => l.message === "local-cloudhsm serving";

/** Exit 1 before serving, one stderr line without a stack trace; returns the line. */
function refusalLine(exit: ExitInfo & { logs: LogLine[] }): string {
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
  expect(exit.logs.filter(serving)).toEqual([]);
  const lines = exit.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^local-cloudhsm: /);
  return lines[0]!;
}

/** Names and bytes of every file in the directory. */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name)).toString("base64")]));
}

async function expectKeyReadable(dataDir: string, keyHandle: number, kcv: string): Promise<void> {
  const { daemon, hsm } = await startLoggedIn(closer, dataDir);
  expect(await hsm.kcv(keyHandle)).toBe(kcv);
  hsm.close();
  expect((await daemon.stop("SIGTERM")).code).toBe(0);
}

describe("file modes", () => {
  test("under umask 000 the daemon still creates its directory 0700 and every file 0600", async () => {
    const dataDir = freshDataDir();
    // The child inherits the umask at spawn: the most permissive one.
    const previous = process.umask(0o000);
    let daemon: DaemonProcess;
    try {
      daemon = DaemonProcess.spawn(standardArgs(dataDir));
    } finally {
      process.umask(previous);
    }
    const ready = await daemon.waitForLog(serving, "the serving line");
    const hsm = closer.add(new HsmClient(ready.address as string));
    await hsm.login(DEV_USER, DEV_PASSWORD);
    await hsm.createWrappingKey();

    // While serving, with a write done: the WAL and its shared-memory index exist.
    const files = ["store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "audit.jsonl", "master.key", "admin-secret", "daemon.lock"];
    expect(readdirSync(dataDir).sort()).toEqual([...files].sort());
    expect(Object.fromEntries([".", ...files].map((f) => [f, modeOf(join(dataDir, f))]))).toEqual({
      ".": "0700",
      ...Object.fromEntries(files.map((f) => [f, "0600"])),
    });
    hsm.close();
    expect((await daemon.stop("SIGTERM")).code).toBe(0);
  });

  test("a data dir of mode 0777 and store and audit files of 0644/0666 are narrowed to 0700/0600, a warning line each", async () => {
    const { dataDir, keyHandle, kcv } = await usedDataDir(closer);
    chmodSync(dataDir, 0o777);
    chmodSync(join(dataDir, "store.sqlite"), 0o644);
    chmodSync(join(dataDir, "audit.jsonl"), 0o666);

    const daemon = await DaemonProcess.start(standardArgs(dataDir));
    const warnings = daemon.logs.filter((l) => l.level === "warn" && l.message === "file mode was wider than the owner's; narrowed");
    expect(warnings.map(({ path, from, to }) => ({ path, from, to }))).toEqual([
      { path: dataDir, from: "0777", to: "0700" },
      { path: join(dataDir, "store.sqlite"), from: "0644", to: "0600" },
      { path: join(dataDir, "audit.jsonl"), from: "0666", to: "0600" },
    ]);
    expect([modeOf(dataDir), modeOf(join(dataDir, "store.sqlite")), modeOf(join(dataDir, "audit.jsonl"))]).toEqual(["0700", "0600", "0600"]);
    expect((await daemon.stop("SIGTERM")).code).toBe(0);
    await expectKeyReadable(dataDir, keyHandle, kcv);
  });

  test.each([
    ["master.key", "0644"],
    ["admin-secret", "0640"],
    ["master.key", "0602"],
  ])("%s of mode %s is refused with one line saying chmod 600 <path>, and nothing changes", async (file, modeText) => {
    const { dataDir, keyHandle, kcv } = await usedDataDir(closer);
    const path = join(dataDir, file);
    const mode = parseInt(modeText, 8);
    chmodSync(path, mode);
    const before = contents(dataDir);

    const line = refusalLine(await DaemonProcess.run(standardArgs(dataDir)));
    expect(line).toContain(`chmod 600 ${path}`);
    expect(contents(dataDir)).toEqual(before);
    expect(statSync(path).mode & 0o777).toBe(mode);

    chmodSync(path, 0o600);
    await expectKeyReadable(dataDir, keyHandle, kcv);
  });
});

describe("missing, malformed and damaged files", () => {
  test("a missing master.key next to an existing store is refused, and no new master.key is written", async () => {
    const { dataDir, keyHandle, kcv } = await usedDataDir(closer);
    const keyPath = join(dataDir, "master.key");
    const key = readFileSync(keyPath);
    rmSync(keyPath);
    const before = contents(dataDir);

    const line = refusalLine(await DaemonProcess.run(standardArgs(dataDir)));
    expect(line).toContain(keyPath);
    expect(line).toContain(join(dataDir, "store.sqlite"));
    expect(existsSync(keyPath)).toBe(false);
    expect(contents(dataDir)).toEqual(before);

    writeFileSync(keyPath, key, { mode: 0o600 });
    await expectKeyReadable(dataDir, keyHandle, kcv);
  });

  test.each([
    ["master.key", "not a master key\n", /malformed/],
    ["admin-secret", "short\n", /at least 16/],
  ])("a malformed %s: one line naming the file, exit 1, file left as it was", async (file, text, problem) => {
    const { dataDir } = await usedDataDir(closer);
    const path = join(dataDir, file);
    writeFileSync(path, text, { mode: 0o600 });
    const line = refusalLine(await DaemonProcess.run(standardArgs(dataDir)));
    expect(line).toContain(path);
    expect(line).toMatch(problem);
    expect(readFileSync(path, "utf8")).toBe(text);
  });

  test("a corrupted page in store.sqlite: one line naming the store, exit 1, no stack trace", async () => {
    const { dataDir } = await usedDataDir(closer);
    const storePath = join(dataDir, "store.sqlite");
    // The keys table's root page, overwritten in place (the WAL was folded into the file at the clean stop).
    expect(existsSync(`${storePath}-wal`)).toBe(false);
    const db = new Database(storePath, { readonly: true });
    const { rootpage } = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'keys'").get() as { rootpage: number };
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    db.close();
    const fd = openSync(storePath, "r+");
    writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (rootpage - 1) * pageSize);
    closeSync(fd);

    const line = refusalLine(await DaemonProcess.run(standardArgs(dataDir)));
    expect(line).toContain(storePath);
    expect(line).toMatch(/damaged/);
  });
});
