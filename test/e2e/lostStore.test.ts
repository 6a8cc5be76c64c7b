// A data directory whose store is gone (deleted, or emptied to 0 bytes) while its master key and audit log remain:
// the daemon refuses to start rather than begin a new store under the old history, and begins one only when told
// to with --new-store, setting the earlier audit log aside.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { childEnv, DaemonProcess, ExitInfo, LogLine, standardArgs } from "./support/daemonProcess";
import { devCuClient, useDaemonCleanup, usedDataDir } from "./support/e2eFixture";

const closer = useDaemonCleanup();

/** A data dir written by a first run in which alice made two keys (handles 6 and 7), stopped cleanly. */
async function cleanlyStoppedDataDir(): Promise<string> {
  const { dataDir } = await usedDataDir(closer);
  // Closed cleanly: SQLite folded its WAL into the store file and removed it.
  expect(existsSync(join(dataDir, "store.sqlite-wal"))).toBe(false);
  return dataDir;
}

/** The directory's file names and the bytes of the files a refused start must not touch. */
function state(dataDir: string): { names: string[]; audit: string; masterKey: string } {
  return {
    names: readdirSync(dataDir).sort(),
    audit: readFileSync(join(dataDir, "audit.jsonl"), "utf8"),
    masterKey: readFileSync(join(dataDir, "master.key"), "utf8"),
  };
}

function refusalLine(exit: ExitInfo & { logs: LogLine[] }): string {
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
  expect(exit.logs.filter((l) => l.message === "local-cloudhsm serving")).toEqual([]);
  const lines = exit.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe("a lost store is not silently replaced", () => {
  test.each([
    ["deleted", "missing", (store: string) => rmSync(store)],
    ["emptied", "empty", (store: string) => truncateSync(store, 0)],
  ] as const)("store.sqlite %s next to a non-empty audit log: exit 1, one line, nothing changed", async (_how, word, lose) => {
    const dataDir = await cleanlyStoppedDataDir();
    const store = join(dataDir, "store.sqlite");
    lose(store);
    const before = state(dataDir);
    expect(before.audit).not.toBe("");

    const line = refusalLine(await DaemonProcess.run(standardArgs(dataDir)));
    expect(line).toContain(`${store} is ${word}`);
    expect(line).toContain(join(dataDir, "audit.jsonl"));
    expect(line).toContain("--new-store");

    expect(state(dataDir)).toEqual(before);
    expect(existsSync(store) ? statSync(store).size : "absent").toBe(word === "missing" ? "absent" : 0);
  });

  test.each([
    ["--new-store", ["--new-store"], {}],
    ["LOCALCLOUDHSM_NEW_STORE=true", [], { LOCALCLOUDHSM_NEW_STORE: "true" }],
  ] as const)("%s begins an empty store and keeps the earlier audit log under a new name", async (_name, flags, env) => {
    const dataDir = await cleanlyStoppedDataDir();
    rmSync(join(dataDir, "store.sqlite"));
    const oldAudit = readFileSync(join(dataDir, "audit.jsonl"), "utf8");
    const masterKey = readFileSync(join(dataDir, "master.key"), "utf8");

    const daemon = await DaemonProcess.start(standardArgs(dataDir, [...flags]), childEnv(env));
    expect(daemon.logs.find((l) => l.message === "local-cloudhsm serving")).toMatchObject({ keys: 0 });
    const warning = daemon.logs.find((l) => l.level === "warn" && typeof l.message === "string" && l.message.startsWith("starting a new, empty store"));
    expect(warning).toMatchObject({ store: join(dataDir, "store.sqlite"), set_aside: [expect.stringMatching(/\/audit\.jsonl\.\d{8}T\d{6}Z$/)] });
    const setAside = (warning!.set_aside as string[])[0]!;
    expect(readFileSync(setAside, "utf8")).toBe(oldAudit);
    // The same master key seals the new store; the new audit log starts a chain of its own (checked at the restart below).
    expect(readFileSync(join(dataDir, "master.key"), "utf8")).toBe(masterKey);

    const hsm = await devCuClient(closer, daemon);
    expect(await hsm.createWrappingKey()).toBe(6);
    hsm.close();
    expect((await daemon.stop("SIGTERM")).code).toBe(0);

    // From now on the store exists: a plain start opens it (and verifies the new audit log).
    const again = await DaemonProcess.start(standardArgs(dataDir));
    expect(again.logs.find((l) => l.message === "local-cloudhsm serving")).toMatchObject({ keys: 1 });
    expect((await again.stop("SIGTERM")).code).toBe(0);
  });
});
