// Seed files and snapshots with real daemon processes: --seed at start, an idempotent restart, broken seeds naming their
// line (exit 1, nothing changed), and snapshot save / restart / restore through the admin CLI with the audit chain intact.
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { HsmClient, KEY_TYPE } from "../../clients";
import { childEnv, DaemonProcess, DEV_USER, LogLine, REPO_ROOT, standardArgs } from "./support/daemonProcess";
import { freshDataDir, useDaemonCleanup, verifyAudit } from "./support/e2eFixture";

const closer = useDaemonCleanup();
const EXAMPLE = join(REPO_ROOT, "examples", "seed.yaml");
const ADMIN_JS = join(REPO_ROOT, "dist", "src", "cli", "adminCli.js");

/** A seed file next to (not in) the data directory. */
function seedFile(dataDir: string, text: string, name = "seed.yaml"): string {
  mkdirSync(dirname(dataDir), { recursive: true });
  const path = join(dirname(dataDir), name);
  writeFileSync(path, text);
  return path;
}

function seededKeys(daemon: DaemonProcess): { handle: number; id: string; created: boolean }[] {
  const line = daemon.logs.find((l: LogLine) => l.message === "seeded keys");
  return (line?.keys ?? []) as { handle: number; id: string; created: boolean }[];
}

function admin(dataDir: string, address: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ADMIN_JS, "--server", address, "--data-dir", dataDir, ...args], { cwd: REPO_ROOT, env: childEnv() }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

async function appClient(daemon: DaemonProcess): Promise<HsmClient> {
  const hsm = closer.add(new HsmClient(daemon.address));
  await hsm.login("app", "app-password");
  return hsm;
}

describe("--seed", () => {
  test("the example seed is applied at start, listed in the log, and a restart with it changes nothing", async () => {
    const dataDir = freshDataDir("lch-seed-");
    const first = await DaemonProcess.start(standardArgs(dataDir, ["--seed", EXAMPLE]));
    const keys = seededKeys(first);
    expect(keys.map((k) => [k.id, k.created])).toEqual([
      ["payments-kek-1", true],
      ["session-data-1", true],
      ["hmac-1", true],
    ]);
    const app = await appClient(first);
    expect(await app.findKey({ label: "payments-kek" })).toEqual([keys[0]!.handle]);
    const kcv = await app.kcv(keys[1]!.handle);
    // Material is never in the log.
    expect(JSON.stringify(first.logs)).not.toContain("000102030405060708090a0b0c0d0e0f");
    expect(JSON.stringify(first.logs)).not.toContain("app-password");
    app.close();
    expect((await first.stop()).code).toBe(0);

    const second = await DaemonProcess.start(standardArgs(dataDir, ["--seed", EXAMPLE]));
    expect(seededKeys(second)).toEqual(keys.map((k) => ({ ...k, created: false })));
    const again = await appClient(second);
    expect(await again.findKey({})).toEqual(keys.map((k) => k.handle));
    // Generated material was generated once.
    expect(await again.kcv(keys[1]!.handle)).toBe(kcv);
    again.close();
    expect((await second.stop()).code).toBe(0);
    expect((await verifyAudit(["--data-dir", dataDir])).code).toBe(0);
  });

  test("a seed with a schema error names its file and line, exits 1 with one line, and writes nothing", async () => {
    const dataDir = freshDataDir("lch-seed-bad-");
    const path = seedFile(dataDir, ["users:", "  - role: CU", "    name: app", "    password: app-password", "keys:", "  - owner: app", "    label: k", "    id: k-1", "    type: aes", "    size: 20", ""].join("\n"));
    const daemon = DaemonProcess.spawn(standardArgs(dataDir, ["--seed", path]));
    const exit = await daemon.exited;
    expect(exit.code).toBe(1);
    expect(exit.stderr.trim().split("\n")).toHaveLength(1);
    expect(exit.stderr).toContain(`seed file ${path} line 10:`);
    expect(exit.stderr).not.toContain("app-password");
    expect(() => readFileSync(join(dataDir, "store.sqlite"))).toThrow();
  });

  test("a seed that contradicts the store (a user's role) names its line and changes nothing", async () => {
    const dataDir = freshDataDir("lch-seed-clash-");
    const path = seedFile(dataDir, `users:\n  - role: CU\n    name: bob\n    password: bob-password\n  - role: CO\n    name: ${DEV_USER}\n    password: other-password\n`);
    // The store has alice as a crypto user (--dev-cu); the seed says officer.
    const first = await DaemonProcess.start(standardArgs(dataDir));
    expect((await first.stop()).code).toBe(0);
    const refused = DaemonProcess.spawn(standardArgs(dataDir, ["--seed", path]));
    const exit = await refused.exited;
    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain(`seed file ${path} line 5:`);
    const after = await DaemonProcess.start(standardArgs(dataDir));
    // bob (first in the seed, valid on its own) was not created: the seed is all or nothing.
    const control = closer.add(new HsmClient(after.address));
    await control.login(DEV_USER, "password1");
    expect((await control.listUsers()).users.map((u) => u.username)).toEqual([DEV_USER]);
  });
});

describe("snapshots through the admin CLI", () => {
  test("save, restart, change, restore, restart: the snapshot's state is back and the audit chain verifies", async () => {
    const dataDir = freshDataDir("lch-snap-");
    const seed = seedFile(dataDir, readFileSync(EXAMPLE, "utf8"));
    const first = await DaemonProcess.start(standardArgs(dataDir, ["--seed", seed]));
    const app = await appClient(first);
    const made = await app.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "before-snapshot" });
    const saved = await admin(dataDir, first.address, ["snapshot", "save", "base"]);
    expect(saved).toMatchObject({ code: 0 });
    expect(saved.stdout).toContain("saved snapshot base: 4 users, 4 keys");
    app.close();
    expect((await first.stop()).code).toBe(0);

    const second = await DaemonProcess.start(standardArgs(dataDir, ["--seed", seed]));
    const app2 = await appClient(second);
    await app2.deleteKey(made.keyHandle);
    await app2.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "after-snapshot" });
    const listed = await admin(dataDir, second.address, ["snapshot", "list"]);
    expect(listed.stdout).toMatch(/^base\t4 users\t4 keys\t/);
    const bad = await admin(dataDir, second.address, ["snapshot", "restore", "nope"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("(SNAPSHOT_NOT_FOUND)");
    const restored = await admin(dataDir, second.address, ["snapshot", "restore", "base"]);
    expect(restored).toMatchObject({ code: 0 });
    const app3 = await appClient(second);
    expect(await app3.findKey({ label: "before-snapshot" })).toEqual([made.keyHandle]);
    expect(await app3.findKey({ label: "after-snapshot" })).toEqual([]);
    app2.close();
    app3.close();
    // kill -9 right after the answer: the restore was durable before it was answered.
    expect((await second.stop("SIGKILL")).signal).toBe("SIGKILL");

    // The restored state survives a restart, and the chain (with the restore recorded) still verifies.
    const third = await DaemonProcess.start(standardArgs(dataDir, ["--seed", seed]));
    const app4 = await appClient(third);
    expect(await app4.findKey({ label: "before-snapshot" })).toEqual([made.keyHandle]);
    app4.close();
    const reset = await admin(dataDir, third.address, ["reset", "--to-seed"]);
    expect(reset.stdout).toContain("reset to the seed: 3 users, 3 keys");
    expect((await third.stop()).code).toBe(0);
    expect((await verifyAudit(["--data-dir", dataDir])).code).toBe(0);
    const audit = readFileSync(join(dataDir, "audit.jsonl"), "utf8");
    expect(audit).toContain('"detail":"restore snapshot base"');
    expect(audit).toContain('"detail":"reset to seed"');
  });
});
