// The bench's daemon: the shared harness (test/e2e/support/daemonProcess.ts) with the bench's flags, its port found
// from the log line or /proc (at --log-level warn there is no serving line), SERVING awaited, warnings forwarded.
import * as grpc from "@grpc/grpc-js";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createInterface } from "node:readline";
import { DaemonProcess } from "../test/e2e/support/daemonProcess";
import { HEALTH_CHECK } from "./methods";
import { settingArgs, SettingsInput } from "../src/server/config";

export interface DaemonOptions {
  /** Daemon settings, given as the flags the settings table names (the bench's own overrides below apply first). */
  readonly settings: SettingsInput & Required<Pick<SettingsInput, "dataDir">>;
  /** Extra arguments for node itself, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[];
}

export interface RunningDaemon {
  readonly pid: number;
  readonly port: number;
  readonly address: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** kill -9, then wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM (graceful: in-flight calls finish, the store closes), then wait for the exit. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;

export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const args = [
    ...settingArgs({
      listen: { host: "127.0.0.1", port: 0 },
      // The bench holds more keys than the hsm2m.medium quota the daemon enforces by default.
      maxKeys: 0,
      // Its watchers (up to 10,000) share one login and a few connections, past the default per-session and per-connection caps.
      sessionLimits: { watchesPerSession: 10_000 },
      http2: { maxConcurrentStreams: 10_000 },
      ...options.settings,
    }),
  ];
  // The bench's own environment (unlike the tests'), and stdout read here: at --log-level info every call writes a line.
  const daemon = DaemonProcess.spawn(args, process.env, { nodeArgs: options.nodeArgs ?? [], collectStdout: false });
  const pid = daemon.pid;
  const exited = daemon.exited.then(() => undefined);

  let loggedPort: number | undefined;
  forwardLines(daemon, (port) => (loggedPort = port));

  const deadline = Date.now() + START_TIMEOUT_MS;
  let port: number | undefined;
  while (port === undefined) {
    if (!daemon.running) throw daemon.diagnostic("exited before serving");
    if (Date.now() > deadline) {
      daemon.signal("SIGKILL");
      throw new Error(`daemon did not listen within ${START_TIMEOUT_MS} ms`);
    }
    port = loggedPort ?? listeningPortOf(pid);
    if (port === undefined) await sleep(25);
  }
  const address = `127.0.0.1:${port}`;
  await waitServing(address, deadline);

  const signalAndWait = async (signal: NodeJS.Signals): Promise<void> => {
    await daemon.stop(signal);
  };
  return { pid, port, address, exited, kill9: () => signalAndWait("SIGKILL"), stop: () => signalAndWait("SIGTERM") };
}

/**
 * Daemon stdout is JSON lines: the "serving" line gives the port (log level info or debug), warnings and
 * errors are shown, per-call info lines are dropped. stderr is shown as is.
 */
function forwardLines(daemon: DaemonProcess, onPort: (port: number) => void): void {
  createInterface({ input: daemon.child.stdout! }).on("line", (line) => {
    // Cheap filter first: at --log-level info every call writes a line.
    if (!line.includes("local-cloudhsm serving") && !line.includes('"warn"') && !line.includes('"error"')) return;
    let entry: { level?: string; message?: string; port?: number } | undefined;
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      process.stderr.write(`[daemon] ${line}\n`);
      return;
    }
    if (entry?.message === "local-cloudhsm serving" && typeof entry.port === "number") onPort(entry.port);
    else if (entry?.level === "warn" || entry?.level === "error") process.stderr.write(`[daemon] ${line}\n`);
  });
  createInterface({ input: daemon.child.stderr! }).on("line", (line) => process.stderr.write(`[daemon] ${line}\n`));
}

/**
 * The TCP port a process listens on, from its socket inodes (/proc/<pid>/fd) and the kernel's socket
 * tables (/proc/<pid>/net/tcp, tcp6); undefined until it listens. Works at any log level.
 */
export function listeningPortOf(pid: number): number | undefined {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // The descriptor closed while we looked.
    }
  }
  for (const table of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, "utf8");
    } catch {
      continue;
    }
    for (const row of text.split("\n").slice(1)) {
      const f = row.trim().split(/\s+/);
      // f[1] local address "ADDR:PORT" (hex), f[3] state (0A = LISTEN), f[9] inode.
      if (f.length > 9 && f[3] === "0A" && inodes.has(f[9]!)) return parseInt(f[1]!.split(":")[1]!, 16);
    }
  }
  return undefined;
}

/** Polls grpc.health.v1.Health/Check until the daemon answers SERVING. */
async function waitServing(address: string, deadline: number): Promise<void> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    for (;;) {
      const status = await new Promise<string | undefined>((resolve) =>
        client.makeUnaryRequest(
          HEALTH_CHECK.path,
          HEALTH_CHECK.requestSerialize,
          HEALTH_CHECK.responseDeserialize,
          { service: "" },
          new grpc.Metadata(),
          { deadline: Date.now() + 1000 },
          (err, res) => resolve(err ? undefined : res?.status),
        ),
      );
      if (status === "SERVING") return;
      if (Date.now() > deadline) throw new Error(`daemon at ${address} never answered SERVING`);
      await sleep(50);
    }
  } finally {
    client.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
