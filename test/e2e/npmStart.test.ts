// The README's start command as a user runs it: `npm start -- <flags>` in a checkout, stopped by a signal to npm
// (a supervisor's SIGTERM) or by Ctrl-C (SIGINT to the terminal's whole process group). Either way the daemon
// itself must shut down and exit, not be left serving as an orphan. The checkout is a temp copy of the package
// files with links to the sources, so `npm start`'s own build writes a dist/ of its own and never the one the
// other tests are running.
import { ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { childEnv, FAST_SCRYPT_N, LogLine, makeTempDir, REPO_ROOT, removeTempDirs } from "./support/daemonProcess";

/** npm start builds before serving; this bounds the wait (a failure guard, never a sleep). */
const GUARD_MS = 150_000;
jest.setTimeout(2 * GUARD_MS);

/** The daemon command of the README's Quickstart (terminal 1), e.g. `npm start -- --dev-cu alice:password1`. */
function readmeStartCommand(): string[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const start = readme.indexOf("\n## Quickstart\n");
  const block = /^```sh\n(npm start -- [^\n]+)\n```$/m.exec(readme.slice(start))!;
  expect(block).not.toBeNull();
  return block[1]!.split(" ");
}

/** A throwaway checkout: the package files copied, the sources and node_modules linked. */
function checkout(): string {
  const dir = join(makeTempDir("lch-npm-start-"), "checkout");
  mkdirSync(dir);
  for (const file of ["package.json", "tsconfig.json", "tsconfig.build.json"]) copyFileSync(join(REPO_ROOT, file), join(dir, file));
  // Every folder the build compiles (read from the build's tsconfig, so a new top-level folder is not missed), test
  // (bench imports the daemon harness from test/e2e/support), proto and node_modules.
  const build = JSON.parse(readFileSync(join(REPO_ROOT, "tsconfig.build.json"), "utf8")) as { include: string[] };
  const compiled = build.include.map((pattern) => pattern.split("/")[0]!);
  for (const link of new Set([...compiled, "test", "proto", "node_modules"])) symlinkSync(join(REPO_ROOT, link), join(dir, link));
  return dir;
}

class NpmStart {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  private partial = "";
  private stderr = "";
  private onLog: (() => void)[] = [];
  /** npm has exited. */
  readonly exited: Promise<void>;
  /** npm has exited and its stdout is drained: every process that shared the pipe (the daemon) is gone too. */
  readonly closed: Promise<void>;

  constructor(args: string[], cwd: string, home: string) {
    // detached: npm leads its own process group, as a shell's foreground job does, so the group can get Ctrl-C.
    this.child = spawn(args[0]!, args.slice(1), {
      cwd,
      env: childEnv({ HOME: home, npm_config_update_notifier: "false", npm_config_fund: "false" }),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    live.add(this);
    this.child.stdout!.setEncoding("utf8").on("data", (chunk: string) => this.read(chunk));
    this.child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
    this.closed = new Promise((resolve) =>
      this.child.once("close", () => {
        live.delete(this);
        for (const notify of this.onLog.splice(0)) notify();
        resolve();
      }),
    );
  }

  private read(chunk: string): void {
    const lines = (this.partial + chunk).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) {
      // npm prints its own "> local-cloudhsm@... start" banner; the daemon's lines are JSON.
      if (!line.startsWith("{")) continue;
      this.logs.push(JSON.parse(line) as LogLine);
    }
    for (const notify of this.onLog.splice(0)) notify();
  }

  /** Resolves with the daemon's ready line; rejects with npm's output if npm exits first or the guard runs out. */
  serving(): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no serving line within ${GUARD_MS} ms\n${this.stderr}`)), GUARD_MS);
      const check = (): void => {
        const line = this.logs.find((l) => l.message === "local-cloudhsm serving");
        if (line) {
          clearTimeout(guard);
          resolve(line);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          clearTimeout(guard);
          reject(new Error(`npm exited before serving\n${this.stderr}`));
        } else this.onLog.push(check);
      };
      check();
    });
  }

  /** SIGKILLs npm's whole process group (npm, and the daemon even if it was orphaned). */
  killGroup(): void {
    try {
      process.kill(-this.child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

const live = new Set<NpmStart>();

afterEach(async () => {
  const left = [...live];
  for (const run of left) run.killGroup();
  await Promise.all(left.map((run) => run.closed));
});
afterAll(removeTempDirs);

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** Resolves with the connection error code (ECONNREFUSED once nothing listens), or "connected". */
function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe("npm start and signals", () => {
  test.each([
    ["SIGTERM to npm (a supervisor stopping it)", "SIGTERM", "npm"],
    ["SIGINT to the process group (Ctrl-C in the terminal)", "SIGINT", "group"],
  ] as const)("%s stops the daemon: it shuts down, exits, and its port closes", async (_name, signal, target) => {
    const dir = checkout();
    const home = join(dir, "..", "home");
    mkdirSync(home);
    const dataDir = join(dir, "..", "data");
    const command = [...readmeStartCommand(), "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--scrypt-n", String(FAST_SCRYPT_N)];
    const run = new NpmStart(command, dir, home);

    const ready = await run.serving();
    const daemonPid = ready.pid as number;
    const port = ready.port as number;
    expect(daemonPid).not.toBe(run.child.pid);
    expect(isRunning(daemonPid)).toBe(true);
    expect(await connectOutcome(port)).toBe("connected");

    process.kill(target === "npm" ? run.child.pid! : -run.child.pid!, signal);
    await run.exited;
    // npm returns only after its child, the daemon, has exited.
    expect(isRunning(daemonPid)).toBe(false);
    await run.closed;

    // The daemon shut down on the signal, once, and finished its shutdown.
    expect(run.logs.filter((l) => l.message === "shutting down")).toEqual([expect.objectContaining({ signal })]);
    expect(run.logs.map((l) => l.message).slice(-1)).toEqual(["stopped"]);
    expect(await connectOutcome(port)).toBe("ECONNREFUSED");
  });
});
