// The e2e tests' shared fixture over daemonProcess.ts: clean-up hooks, fresh data dirs, a daemon with the dev CU
// logged in, a data dir left by a first run, and `verifyAudit`. It uses jest's hooks and expect, so only test files
// import it (the bench uses daemonProcess.ts alone).
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { HsmClient } from "../../../clients";
import { aesKcv } from "./keyMaterial";
import {
  childEnv,
  Closer,
  DaemonProcess,
  DEV_PASSWORD,
  DEV_USER,
  killAllDaemons,
  makeTempDir,
  REPO_ROOT,
  removeTempDirs,
  standardArgs,
} from "./daemonProcess";

/**
 * Registers the clean-up every e2e file needs and returns the Closer for its clients: clients closed and daemons
 * killed after each test ("test") or once after the file ("file", for a daemon shared by the file's tests); the
 * temp dirs are removed after the file either way.
 */
export function useDaemonCleanup(scope: "test" | "file" = "test"): Closer {
  const closer = new Closer();
  const closeAndKill = async (): Promise<void> => {
    closer.closeAll();
    await killAllDaemons();
  };
  if (scope === "test") {
    afterEach(closeAndKill);
    afterAll(removeTempDirs);
  } else {
    afterAll(async () => {
      await closeAndKill();
      removeTempDirs();
    });
  }
  return closer;
}

/** `<a fresh temp dir>/data`, not yet created: the daemon creates it. */
export function freshDataDir(prefix?: string): string {
  return join(makeTempDir(prefix), "data");
}

/** A client of `daemon` logged in as the dev CU (alice), closed by `closer`. */
export async function devCuClient(closer: Closer, daemon: DaemonProcess): Promise<HsmClient> {
  const hsm = closer.add(new HsmClient(daemon.address));
  await hsm.login(DEV_USER, DEV_PASSWORD);
  return hsm;
}

export interface LoggedIn {
  readonly daemon: DaemonProcess;
  readonly hsm: HsmClient;
  readonly dataDir: string;
}

/** Starts a daemon (the standard flags plus `extraArgs`) on `dataDir` and logs a client in as the dev CU. */
export async function startLoggedIn(closer: Closer, dataDir: string = freshDataDir(), extraArgs: readonly string[] = []): Promise<LoggedIn> {
  const daemon = await DaemonProcess.start(standardArgs(dataDir, extraArgs));
  return { daemon, hsm: await devCuClient(closer, daemon), dataDir };
}

export interface UsedDataDir {
  readonly dataDir: string;
  readonly wrappingKey: number;
  readonly keyHandle: number;
  /** The imported key's KCV. */
  readonly kcv: string;
}

/** A data dir written by a first run (stopped cleanly) in which the dev CU made a wrapping key and imported one AES-256 key "kept". */
export async function usedDataDir(closer: Closer): Promise<UsedDataDir> {
  const { daemon, hsm, dataDir } = await startLoggedIn(closer);
  const wrappingKey = await hsm.createWrappingKey();
  const material = randomBytes(32);
  const { keyHandle } = await hsm.importSymKey(material, { wrappingKey, label: "kept" });
  hsm.close();
  expect((await daemon.stop("SIGTERM")).code).toBe(0);
  return { dataDir, wrappingKey, keyHandle, kcv: aesKcv(material) };
}

const VERIFY_JS = join(REPO_ROOT, "dist", "src", "server", "verifyAudit.js");

/** Runs `node dist/src/server/verifyAudit.js <args>` with only PATH in its environment. */
export function verifyAudit(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VERIFY_JS, ...args], { cwd: REPO_ROOT, env: childEnv() }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}
