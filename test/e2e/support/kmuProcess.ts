// Runs the compiled kmu (dist/src/cli/main.js) as a child process with a chosen environment and standard input.
// Every child is registered so afterEach can kill whatever a failed test left behind.
import { ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { childEnv, REPO_ROOT } from "./daemonProcess";

export const KMU_JS = join(REPO_ROOT, "dist", "src", "cli", "main.js");
export const KMU_BIN = join(REPO_ROOT, "bin", "kmu.js");

/** How long one kmu run may take before it is killed and the test fails (a guard, never a sleep). */
const RUN_GUARD_MS = 20_000;

export interface KmuRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KmuRunOptions {
  /** Added to PATH in the child's otherwise empty environment. */
  readonly env?: Record<string, string>;
  /** Written to standard input, which is then closed (also when empty, so a prompt sees end of input). */
  readonly input?: string;
  readonly cwd?: string;
  /** The script to run; the compiled main by default. */
  readonly script?: string;
}

const live = new Set<ChildProcess>();

/** Runs `node <script> <args>` to completion. */
export function runKmu(args: readonly string[], options: KmuRunOptions = {}): Promise<KmuRun> {
  const child = spawn(process.execPath, [options.script ?? KMU_JS, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
  live.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  child.stdin.end(options.input ?? "");
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`kmu ${args.join(" ")} did not finish\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
    }, RUN_GUARD_MS);
    guard.unref();
    child.once("error", (err) => {
      clearTimeout(guard);
      live.delete(child);
      reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(guard);
      live.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** SIGKILLs every kmu child still running. For afterEach. */
export function killAllKmu(): void {
  for (const child of live) child.kill("SIGKILL");
  live.clear();
}

/** The handle in "Symmetric Key Created.  Key Handle: N" / "Unwrapped.  Key Handle: N". */
export function keyHandleOf(run: KmuRun): number {
  const match = /Symmetric Key (?:Created|Unwrapped)\. {2}Key Handle: (\d+)/.exec(run.stdout);
  if (!match) throw new Error(`no key handle in:\n${run.stdout}\n${run.stderr}`);
  return Number(match[1]);
}

/** The handles listed by findKey (empty when it matched nothing). */
export function foundHandles(run: KmuRun): number[] {
  const lines = run.stdout.split("\n");
  const at = lines.findIndex((l) => l.startsWith(" number of keys matched from start index 0::"));
  if (at === -1) return [];
  return lines[at + 1]!.split(", ").map(Number);
}
