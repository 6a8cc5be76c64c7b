// Daemon configuration as a user meets it: bad settings stop the start with a message naming the flag and the
// environment variable (the CLI contract), --help lists every variable, and environment variables configure a run.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AdminClient, HsmClient } from "../../clients";
import {
  childEnv,
  DaemonProcess,
  DEV_PASSWORD,
  DEV_USER,
  ExitInfo,
  FAST_SCRYPT_N,
  makeTempDir,
  standardArgs,
} from "./support/daemonProcess";
import { freshDataDir, useDaemonCleanup } from "./support/e2eFixture";

const closer = useDaemonCleanup();

/** Every variable the README's configuration table documents. */
const DOCUMENTED_VARIABLES = [
  "LOCALCLOUDHSM_LISTEN",
  "LOCALCLOUDHSM_DATA_DIR",
  "LOCALCLOUDHSM_LOG_LEVEL",
  "LOCALCLOUDHSM_LOG_FORMAT",
  "LOCALCLOUDHSM_NODES",
  "LOCALCLOUDHSM_MAX_MESSAGE_BYTES",
  "LOCALCLOUDHSM_ADMIN_SECRET",
  "LOCALCLOUDHSM_MASTER_KEY",
  "LOCALCLOUDHSM_DEV_CU",
  "LOCALCLOUDHSM_SCRYPT_N",
  "LOCALCLOUDHSM_SHUTDOWN_GRACE_SECONDS",
  "LOCALCLOUDHSM_REPLICATION_DELAY_MS",
  "LOCALCLOUDHSM_CREATE_OBJECT_MINIMUM_NODES",
  "LOCALCLOUDHSM_WATCH_PROGRESS_MS",
  "LOCALCLOUDHSM_WATCH_MAX_LAG",
  "LOCALCLOUDHSM_WATCH_BATCH_MS",
  "LOCALCLOUDHSM_EVENT_CAPACITY",
  "LOCALCLOUDHSM_SESSION_IDLE_SECONDS",
  "LOCALCLOUDHSM_SESSION_MAX_SECONDS",
  "LOCALCLOUDHSM_SESSIONS_PER_USER",
  "LOCALCLOUDHSM_MAX_KEYS",
  "LOCALCLOUDHSM_TLS_CERT_FILE",
  "LOCALCLOUDHSM_TLS_KEY_FILE",
  "LOCALCLOUDHSM_TLS_CLIENT_CA_FILE",
  "LOCALCLOUDHSM_ALLOW_INSECURE",
  "LOCALCLOUDHSM_NEW_STORE",
  "LOCALCLOUDHSM_LOGIN_HASH_CONCURRENCY",
  "LOCALCLOUDHSM_LOGINS_PER_CONNECTION",
  "LOCALCLOUDHSM_LOGIN_QUEUE",
  "LOCALCLOUDHSM_WATCHES_PER_SESSION",
  "LOCALCLOUDHSM_MAX_CONCURRENT_STREAMS",
  "LOCALCLOUDHSM_CONNECTION_IDLE_MS",
  "LOCALCLOUDHSM_KEEPALIVE_MS",
  "LOCALCLOUDHSM_KEEPALIVE_TIMEOUT_MS",
  "LOCALCLOUDHSM_SEED",
  "LOCALCLOUDHSM_METRICS_LISTEN",
];
const DOCUMENTED_FLAGS = [
  "--listen",
  "--data-dir",
  "--log-level",
  "--log-format",
  "--nodes",
  "--max-message-bytes",
  "--admin-secret-file",
  "--master-key-file",
  "--dev-cu",
  "--scrypt-n",
  "--shutdown-grace-seconds",
  "--replication-delay-ms",
  "--create-object-minimum-nodes",
  "--watch-progress-ms",
  "--watch-max-lag",
  "--watch-batch-ms",
  "--event-capacity",
  "--session-idle-seconds",
  "--session-max-seconds",
  "--sessions-per-user",
  "--max-keys",
  "--tls-cert-file",
  "--tls-key-file",
  "--tls-client-ca-file",
  "--allow-insecure",
  "--new-store",
  "--login-hash-concurrency",
  "--logins-per-connection",
  "--login-queue",
  "--help",
  "--watches-per-session",
  "--max-concurrent-streams",
  "--connection-idle-ms",
  "--keepalive-ms",
  "--keepalive-timeout-ms",
  "--seed",
  "--metrics-listen",
];

const STACK_FRAME = /^\s+at /m;

/** The run failed before serving: non-zero exit code (not a signal), no serving line, no data dir, no stack trace. */
function expectRefusedStart(exit: ExitInfo & { logs: Record<string, unknown>[] }, dataDir: string): void {
  expect({ signal: exit.signal, failed: exit.code !== null && exit.code !== 0 }).toEqual({ signal: null, failed: true });
  expect(exit.logs.filter((l) => l.message === "local-cloudhsm serving")).toEqual([]);
  expect(exit.stderr).not.toMatch(STACK_FRAME);
  expect(existsSync(dataDir)).toBe(false);
}

describe("configuration errors stop the start and name the setting", () => {
  const cases: { name: string; args: string[]; env?: Record<string, string>; mentions: string[] }[] = [
    { name: "--listen nonsense", args: ["--listen", "nonsense"], mentions: ["--listen", "LOCALCLOUDHSM_LISTEN"] },
    { name: "--nodes 0", args: ["--nodes", "0"], mentions: ["--nodes", "LOCALCLOUDHSM_NODES"] },
    { name: "--log-level loud", args: ["--log-level", "loud"], mentions: ["--log-level", "LOCALCLOUDHSM_LOG_LEVEL"] },
    { name: "LOCALCLOUDHSM_NODES=abc", args: [], env: { LOCALCLOUDHSM_NODES: "abc" }, mentions: ["LOCALCLOUDHSM_NODES", "--nodes"] },
    {
      name: "--dev-cu on a non-loopback --listen 0.0.0.0:0",
      args: ["--listen", "0.0.0.0:0"],
      mentions: ["--dev-cu", "LOCALCLOUDHSM_DEV_CU", "0.0.0.0"],
    },
    { name: "--watch-batch-ms 0", args: ["--watch-batch-ms", "0"], mentions: ["--watch-batch-ms", "LOCALCLOUDHSM_WATCH_BATCH_MS"] },
    { name: "an unknown flag", args: ["--bogus-flag", "1"], mentions: ["--bogus-flag"] },
    { name: "--logins-per-connection 0", args: ["--logins-per-connection", "0"], mentions: ["--logins-per-connection", "LOCALCLOUDHSM_LOGINS_PER_CONNECTION"] },
    { name: "LOCALCLOUDHSM_LOGIN_HASH_CONCURRENCY=0", args: [], env: { LOCALCLOUDHSM_LOGIN_HASH_CONCURRENCY: "0" }, mentions: ["--login-hash-concurrency"] },
    { name: "--scrypt-n that is not a power of two", args: ["--scrypt-n", "1000"], mentions: ["--scrypt-n", "LOCALCLOUDHSM_SCRYPT_N"] },
    {
      name: "a short LOCALCLOUDHSM_ADMIN_SECRET",
      args: [],
      env: { LOCALCLOUDHSM_ADMIN_SECRET: "short" },
      mentions: ["LOCALCLOUDHSM_ADMIN_SECRET"],
    },
  ];

  test.each(cases)("$name", async ({ args, env, mentions }) => {
    const dataDir = freshDataDir();
    // Later flags win, so the case's own flags override the standard ones (e.g. --listen, --scrypt-n).
    const exit = await DaemonProcess.run([...standardArgs(dataDir), ...args], childEnv(env));
    expectRefusedStart(exit, dataDir);
    for (const name of mentions) expect(exit.stderr).toContain(name);
  });

  test("--dev-cu on a non-loopback address is refused when given through LOCALCLOUDHSM_DEV_CU too", async () => {
    const dataDir = freshDataDir();
    const exit = await DaemonProcess.run(
      ["--listen", "0.0.0.0:0", "--data-dir", dataDir, "--scrypt-n", String(FAST_SCRYPT_N)],
      childEnv({ LOCALCLOUDHSM_DEV_CU: `${DEV_USER}:${DEV_PASSWORD}` }),
    );
    expectRefusedStart(exit, dataDir);
    expect(exit.stderr).toContain("LOCALCLOUDHSM_DEV_CU");
  });

  test("an invalid LOCALCLOUDHSM_MASTER_KEY names the variable, without a stack trace", async () => {
    const dataDir = freshDataDir();
    const exit = await DaemonProcess.run(standardArgs(dataDir), childEnv({ LOCALCLOUDHSM_MASTER_KEY: "not-a-master-key" }));
    expect(exit.stderr).toContain("LOCALCLOUDHSM_MASTER_KEY");
    expectRefusedStart(exit, dataDir);
  });

  test("a --dev-cu password outside the password rules names --dev-cu, without a stack trace", async () => {
    const dataDir = freshDataDir();
    const exit = await DaemonProcess.run([...standardArgs(dataDir), "--dev-cu", "bob:short"]);
    expect(exit.stderr).toContain("--dev-cu");
    expectRefusedStart(exit, dataDir);
  });

  test("a --data-dir that cannot be created names --data-dir, without a stack trace", async () => {
    const root = makeTempDir();
    writeFileSync(join(root, "a-file"), "");
    const dataDir = join(root, "a-file", "data");
    const exit = await DaemonProcess.run(standardArgs(dataDir));
    expect(exit.stderr).toMatch(/--data-dir|LOCALCLOUDHSM_DATA_DIR/);
    expectRefusedStart(exit, dataDir);
  });

  test("a port already in use: exit 1 with a 'cannot listen' error line", async () => {
    const first = await DaemonProcess.start(standardArgs(freshDataDir()));
    const exit = await DaemonProcess.run(standardArgs(freshDataDir(), ["--listen", first.address]));
    expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 1, signal: null });
    expect(exit.logs).toContainEqual(expect.objectContaining({ level: "error", message: "cannot listen", port: first.port }));
    expect(exit.logs.filter((l) => l.message === "local-cloudhsm serving")).toEqual([]);
    expect(exit.stderr).not.toMatch(STACK_FRAME);
    expect((await first.stop("SIGTERM")).code).toBe(0);
  });
});

describe("--help", () => {
  test("exits 0, lists every flag and LOCALCLOUDHSM_ variable, and starts nothing", async () => {
    const dataDir = freshDataDir();
    const exit = await DaemonProcess.run(["--help", "--data-dir", dataDir]);
    expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: 0, signal: null, stderr: "" });
    for (const name of [...DOCUMENTED_VARIABLES, ...DOCUMENTED_FLAGS]) expect(exit.stdout).toContain(name);
    // Nothing beyond the documented set.
    const listed = new Set(exit.stdout.match(/LOCALCLOUDHSM_[A-Z_]+/g));
    expect([...listed].sort()).toEqual([...DOCUMENTED_VARIABLES].sort());
    expect(existsSync(dataDir)).toBe(false);
  });

  test("the README's configuration table lists the same variables", () => {
    const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("| flag | environment variable |"));
    const inTable = new Set(table.slice(0, table.indexOf("\n\n")).match(/LOCALCLOUDHSM_[A-Z_]+/g));
    expect([...inTable].sort()).toEqual([...DOCUMENTED_VARIABLES].sort());
  });
});

describe("configuration from the environment", () => {
  test("LOCALCLOUDHSM_* variables configure a run; a flag wins over its variable", async () => {
    const dataDir = freshDataDir();
    const adminSecret = "e2e-admin-secret-from-the-environment";
    const env = childEnv({
      LOCALCLOUDHSM_LISTEN: "127.0.0.1:0",
      LOCALCLOUDHSM_DATA_DIR: dataDir,
      LOCALCLOUDHSM_SCRYPT_N: String(FAST_SCRYPT_N),
      LOCALCLOUDHSM_DEV_CU: `${DEV_USER}:${DEV_PASSWORD},bob:password2`,
      LOCALCLOUDHSM_ADMIN_SECRET: adminSecret,
      LOCALCLOUDHSM_MASTER_KEY: randomBytes(32).toString("hex"),
      // Invalid, but the flag below wins, so it is never read.
      LOCALCLOUDHSM_NODES: "abc",
    });
    const daemon = await DaemonProcess.start(["--nodes", "5"], env);
    expect(daemon.logs.find((l) => l.message === "local-cloudhsm serving")).toMatchObject({
      data_dir: dataDir,
      nodes: 5,
      admin_secret: "from configuration",
    });
    // Configured secrets are not written into the data dir.
    expect(existsSync(join(dataDir, "admin-secret"))).toBe(false);
    expect(existsSync(join(dataDir, "master.key"))).toBe(false);

    const admin = closer.add(new AdminClient(daemon.address, adminSecret));
    expect((await admin.listUsers()).users.map((u) => u.username)).toEqual([DEV_USER, "bob"]);
    const bob = closer.add(new HsmClient(daemon.address));
    await bob.login("bob", "password2");
    const created = await bob.genSymKey({ keyType: 31, keySize: 16, label: "five-nodes" });
    expect(created.nodeStatuses.map((n) => n.nodeId).sort()).toEqual([0, 1, 2, 3, 4]);
    expect((await daemon.stop("SIGTERM")).code).toBe(0);
  });
});
