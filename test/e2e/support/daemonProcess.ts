// Runs the compiled daemon (dist/src/server/main.js) as a child process: spawn, await the "serving" log line,
// collect stdout (parsed JSON log lines) and stderr, stop with a signal and await the exit. Every child and
// temp dir is registered so afterEach/afterAll can kill and remove whatever a failed test left behind.
// The one daemon-process harness: the e2e tests use it from source, the bench (bench/daemonProcess.ts) from dist/,
// so it imports nothing from jest.
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** The folder holding package.json, found upwards from here: the same from test/e2e/support and dist/test/e2e/support. */
function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const REPO_ROOT = findRepoRoot(__dirname);
export const MAIN_JS = join(REPO_ROOT, "dist", "src", "server", "main.js");

export const DEV_USER = "alice";
export const DEV_PASSWORD = "password1";
/** Cheap real scrypt for tests that do not measure login cost. */
export const FAST_SCRYPT_N = 1024;

/** How long a wait may take before it fails with the child's output (a failure guard, never a sleep). */
const WAIT_GUARD_MS = 20_000;

export type LogLine = Record<string, unknown> & { message?: string; level?: string };

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface Waiter {
  readonly predicate: (line: LogLine) => boolean;
  /** Matches still needed before it resolves. */
  remaining: number;
  readonly description: string;
  readonly resolve: (line: LogLine) => void;
  readonly reject: (err: Error) => void;
}

/** How to run the child beyond its arguments and environment. */
export interface SpawnOptions {
  /** Arguments for node itself, before main.js (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  /**
   * false: stdout is neither kept nor parsed, and the caller reads child.stdout itself (long runs where every call
   * writes a log line); waitForLog and start() then see no lines. Default true.
   */
  readonly collectStdout?: boolean;
  /** The script node runs instead of dist/src/server/main.js (e.g. an installed package's bin/local-cloudhsm.js). */
  readonly script?: string;
}

const liveChildren = new Set<DaemonProcess>();
const tempDirs = new Set<string>();

/** The child's whole environment: PATH plus what the test names; nothing leaks in from the developer's shell. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin", ...extra };
}

/** The usual flags: loopback port 0, the data dir, cheap scrypt and the dev crypto user alice. */
export function standardArgs(dataDir: string, extra: readonly string[] = [], scryptN = FAST_SCRYPT_N): string[] {
  return [
    "--listen",
    "127.0.0.1:0",
    "--data-dir",
    dataDir,
    "--scrypt-n",
    String(scryptN),
    "--dev-cu",
    `${DEV_USER}:${DEV_PASSWORD}`,
    ...extra,
  ];
}

/** A fresh temp directory, removed by removeTempDirs(). */
export function makeTempDir(prefix = "lch-e2e-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export class DaemonProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  /** stdout lines that are not JSON (there should be none). */
  readonly nonJsonStdout: string[] = [];
  private stdoutText = "";
  private stderrText = "";
  private partial = "";
  private waiters: Waiter[] = [];
  private exitInfo: ExitInfo | undefined;
  /** Settles when the child has exited and its stdio is drained. */
  readonly exited: Promise<ExitInfo>;
  private servingPort: number | undefined;
  private signalOnServing: NodeJS.Signals | undefined;

  private constructor(args: readonly string[], env: NodeJS.ProcessEnv, options: SpawnOptions = {}) {
    this.child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script ?? MAIN_JS, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    liveChildren.add(this);
    this.child.stdout!.setEncoding("utf8");
    this.child.stderr!.setEncoding("utf8");
    if (options.collectStdout !== false) this.child.stdout!.on("data", (chunk: string) => this.onStdout(chunk));
    this.child.stderr!.on("data", (chunk: string) => {
      this.stderrText += chunk;
    });
    this.exited = new Promise<ExitInfo>((resolveExit) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exitInfo) return;
        if (this.partial !== "") this.onLine(this.partial);
        this.partial = "";
        this.exitInfo = { code, signal, stdout: this.stdoutText, stderr: this.stderrText };
        liveChildren.delete(this);
        for (const w of this.waiters) w.reject(this.diagnostic(`exited (code ${code}, signal ${signal}) before ${w.description}`));
        this.waiters = [];
        resolveExit(this.exitInfo);
      };
      this.child.once("close", done);
      this.child.once("error", (err) => {
        this.stderrText += `spawn error: ${err.message}\n`;
        done(null, null);
      });
    });
  }

  /** Spawns `node dist/src/server/main.js <args>` with exactly `env`. */
  static spawn(args: readonly string[], env: NodeJS.ProcessEnv = childEnv(), options: SpawnOptions = {}): DaemonProcess {
    return new DaemonProcess(args, env, options);
  }

  /**
   * Spawns and resolves once the daemon logs "local-cloudhsm serving"; rejects (with its output) if it exits first.
   * With `signalOnServing`, that signal is sent synchronously as soon as the serving line is read.
   */
  static async start(
    args: readonly string[],
    env: NodeJS.ProcessEnv = childEnv(),
    signalOnServing?: NodeJS.Signals,
    options: SpawnOptions = {},
  ): Promise<DaemonProcess> {
    const daemon = new DaemonProcess(args, env, options);
    daemon.signalOnServing = signalOnServing;
    const line = await daemon.waitForLog((l) => l.message === "local-cloudhsm serving", "the serving line");
    const port = line.port;
    if (typeof port !== "number" || port <= 0) throw daemon.diagnostic(`serving line without a port: ${JSON.stringify(line)}`);
    daemon.servingPort = port;
    return daemon;
  }

  /** Runs the daemon to completion (for runs that must not start, or --help). */
  static async run(args: readonly string[], env: NodeJS.ProcessEnv = childEnv()): Promise<ExitInfo & { logs: LogLine[] }> {
    const daemon = new DaemonProcess(args, env);
    let guard: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      guard = setTimeout(() => {
        daemon.child.kill("SIGKILL");
        reject(daemon.diagnostic("did not exit on its own"));
      }, WAIT_GUARD_MS);
      guard.unref();
    });
    try {
      const info = await Promise.race([daemon.exited, timedOut]);
      return { ...info, logs: daemon.logs };
    } finally {
      clearTimeout(guard);
    }
  }

  get port(): number {
    if (this.servingPort === undefined) throw new Error("the daemon has not logged its port");
    return this.servingPort;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Resolves with the `count`-th log line matching `predicate` (lines already seen count). */
  waitForLog(predicate: (line: LogLine) => boolean, description: string, count = 1): Promise<LogLine> {
    const seen = this.logs.filter(predicate);
    if (seen.length >= count) return Promise.resolve(seen[count - 1]!);
    if (this.exitInfo) return Promise.reject(this.diagnostic(`exited before ${description}`));
    return new Promise<LogLine>((resolveWait, rejectWait) => {
      const guard = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        rejectWait(this.diagnostic(`timed out waiting for ${description}`));
      }, WAIT_GUARD_MS);
      guard.unref();
      const waiter: Waiter = {
        predicate,
        remaining: count - seen.length,
        description,
        resolve: (line) => {
          clearTimeout(guard);
          resolveWait(line);
        },
        reject: (err) => {
          clearTimeout(guard);
          rejectWait(err);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Sends a signal without waiting. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Sends `signal` and resolves when the process has exited. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<ExitInfo> {
    this.signal(signal);
    return this.exited;
  }

  /** An Error carrying the child's output so far, for failure messages. */
  diagnostic(what: string): Error {
    return new Error(`daemon pid ${this.child.pid} ${what}\n--- stdout ---\n${this.stdoutText.slice(-4000)}\n--- stderr ---\n${this.stderrText.slice(-4000)}`);
  }

  private onStdout(chunk: string): void {
    this.stdoutText += chunk;
    const text = this.partial + chunk;
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) this.onLine(line);
  }

  private onLine(raw: string): void {
    if (raw.trim() === "") return;
    let line: LogLine;
    try {
      line = JSON.parse(raw) as LogLine;
    } catch {
      this.nonJsonStdout.push(raw);
      return;
    }
    this.logs.push(line);
    if (this.signalOnServing && line.message === "local-cloudhsm serving") {
      this.signal(this.signalOnServing);
      this.signalOnServing = undefined;
    }
    const pending: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.predicate(line)) w.remaining -= 1;
      if (w.remaining <= 0) w.resolve(line);
      else pending.push(w);
    }
    this.waiters = pending;
  }
}

/** SIGKILLs every child still running and waits for each to exit. For afterEach/afterAll. */
export async function killAllDaemons(): Promise<void> {
  const children = [...liveChildren];
  for (const d of children) d.signal("SIGKILL");
  await Promise.all(children.map((d) => d.exited));
}

/** Removes every temp dir made by makeTempDir(). */
export function removeTempDirs(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Closes clients (anything with close()) created during a test. */
export class Closer {
  private readonly items: { close(): void }[] = [];

  add<T extends { close(): void }>(item: T): T {
    this.items.push(item);
    return item;
  }

  closeAll(): void {
    for (const item of this.items.splice(0)) item.close();
  }
}
