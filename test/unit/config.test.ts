// The settings table drives the command line, in-process configuration, daemon arguments and the README's table.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigError, configFrom, DEFAULTS, parseConfig, settingArgs, SETTINGS, usage } from "../../src/server/config";
import { defaultText, SETTING_LIST } from "../../src/server/settings";

const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no file ${path}`), { code: "ENOENT" });
};
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env, noFiles).config;

/** The README's configuration table: flag, environment variable and default of each row, backticks removed. */
function readmeRows(): { flag: string; env: string; defaultText: string }[] {
  const text = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
  return text
    .split("\n")
    .filter((line) => /^\| `--[a-z-]+/.test(line) && line.includes("LOCALCLOUDHSM_"))
    .map((line) => {
      const cells = line.split("|").map((cell) => cell.trim());
      return {
        flag: /`(--[a-z0-9-]+)/.exec(cells[1]!)![1]!,
        env: /`(LOCALCLOUDHSM_[A-Z0-9_]+)`/.exec(cells[2]!)![1]!,
        defaultText: cells[3]!.replace(/`/g, ""),
      };
    });
}

describe("the README's configuration table", () => {
  test("lists every setting once, with its environment variable and default, and nothing else", () => {
    const documented = readmeRows().sort((a, b) => a.flag.localeCompare(b.flag));
    const table = SETTING_LIST.map(({ setting }) => ({ flag: setting.flag, env: setting.env, defaultText: defaultText(setting) })).sort((a, b) =>
      a.flag.localeCompare(b.flag),
    );
    expect(documented).toEqual(table);
  });
});

describe("parseConfig", () => {
  test("without flags or environment every setting has the table's default", () => {
    const config = parse([]);
    expect(config).toEqual({ ...DEFAULTS, dataDir: resolve(".local-cloudhsm"), tls: undefined });
    expect(config.listen).toEqual({ host: "127.0.0.1", port: 2225 });
    expect(config.sessionLimits).toEqual({ idleMs: 900_000, maxLifetimeMs: 86_400_000, perUser: 64, watchesPerSession: 64 });
  });

  test("flags win over environment variables, which win over defaults; option bags are filled per field", () => {
    const config = parse(["--sessions-per-user", "5", "--session-idle-seconds", "30"], {
      LOCALCLOUDHSM_SESSIONS_PER_USER: "7",
      LOCALCLOUDHSM_SESSION_MAX_SECONDS: "60",
      LOCALCLOUDHSM_KEEPALIVE_MS: "1000",
      LOCALCLOUDHSM_NODES: "",
    });
    expect(config.sessionLimits).toEqual({ idleMs: 30_000, maxLifetimeMs: 60_000, perUser: 5, watchesPerSession: 64 });
    expect(config.http2.keepaliveMs).toBe(1000);
    expect(config.nodeCount).toBe(3);
  });

  test("a bad value names the flag and the environment variable, with the problem", () => {
    expect(() => parse(["--nodes", "29"])).toThrow(new ConfigError(SETTINGS.nodeCount, "29 is outside 1..28"));
    expect(() => parse([], { LOCALCLOUDHSM_WATCH_BATCH_MS: "x" })).toThrow('invalid --watch-batch-ms (LOCALCLOUDHSM_WATCH_BATCH_MS): "x" is not a whole number');
    expect(() => parse(["--scrypt-n", "3000"])).toThrow("invalid --scrypt-n (LOCALCLOUDHSM_SCRYPT_N): must be a power of two");
    expect(() => parse(["--log-format", "xml"])).toThrow('"xml" is not one of json, text');
    expect(() => parse(["--listen", "host:1"])).toThrow('invalid --listen (LOCALCLOUDHSM_LISTEN): "host" is not an IP address or localhost');
    // An empty secret in the environment is a value, and too short.
    expect(() => parse([], { LOCALCLOUDHSM_ADMIN_SECRET: "" })).toThrow("invalid --admin-secret-file (LOCALCLOUDHSM_ADMIN_SECRET): must be at least 16 characters");
    expect(() => parse(["--admin-secret-file", "/nonexistent"])).toThrow("cannot read /nonexistent: ENOENT");
    expect(() => parse(["--tls-key-file", "/k"])).toThrow("invalid --tls-cert-file (LOCALCLOUDHSM_TLS_CERT_FILE): --tls-key-file needs --tls-cert-file");
  });

  test("settings checked against each other", () => {
    expect(() => parse(["--create-object-minimum-nodes", "4"])).toThrow("4 is more than the 3 nodes of the cluster");
    expect(() => parse(["--event-capacity", "100"])).toThrow("invalid --watch-max-lag (LOCALCLOUDHSM_WATCH_MAX_LAG): must be below --event-capacity (100)");
    expect(() => parse(["--listen", "0.0.0.0:1"])).toThrow("plaintext is refused on non-loopback address 0.0.0.0");
    expect(parse(["--listen", "0.0.0.0:1"], { LOCALCLOUDHSM_ALLOW_INSECURE: "true" }).allowInsecure).toBe(true);
  });

  test("--dev-cu repeats on the command line and is comma-separated in the environment", () => {
    expect(parse(["--dev-cu", "alice:password1", "--dev-cu", "bob:password2"]).devUsers).toEqual([
      { username: "alice", password: "password1" },
      { username: "bob", password: "password2" },
    ]);
    expect(parse([], { LOCALCLOUDHSM_DEV_CU: "alice:password1,bob:password2" }).devUsers).toHaveLength(2);
    expect(() => parse(["--dev-cu", "alice"])).toThrow("invalid --dev-cu (LOCALCLOUDHSM_DEV_CU): expected name:password");
  });

  test("usage lists every flag and environment variable with its default", () => {
    const text = usage();
    for (const { setting } of SETTING_LIST) {
      expect(text).toContain(setting.flag);
      expect(text).toContain(setting.env);
    }
    expect(text).toMatch(/--sessions-per-user +LOCALCLOUDHSM_SESSIONS_PER_USER +.*\[default: 64\]/);
    expect(text).toMatch(/--session-idle-seconds .*\[default: 900\]/);
  });
});

describe("configFrom (in-process)", () => {
  test("applies the defaults around what is given, option bags field by field", () => {
    const config = configFrom({ nodeCount: 5, http2: { keepaliveMs: 500 } });
    expect(config.nodeCount).toBe(5);
    expect(config.http2).toEqual({ ...DEFAULTS.http2, keepaliveMs: 500 });
    expect(config.sessionLimits).toEqual(DEFAULTS.sessionLimits);
  });

  test("checks given values as the command line does", () => {
    expect(() => configFrom({ nodeCount: 0 })).toThrow(new ConfigError(SETTINGS.nodeCount, "0 is outside 1..28"));
    expect(() => configFrom({ sessionLimits: { perUser: 2000 } })).toThrow("invalid --sessions-per-user (LOCALCLOUDHSM_SESSIONS_PER_USER): 2000 is outside 1..1024");
    expect(() => configFrom({ sessionLimits: { idleMs: 1500 } })).toThrow("--session-idle-seconds");
    expect(() => configFrom({ eventCapacity: 100 })).toThrow("must be below --event-capacity");
  });
});

describe("settingArgs", () => {
  test("gives a daemon process the same settings through its flags", () => {
    const input = {
      listen: { host: "127.0.0.1", port: 0 },
      maxKeys: 0,
      sessionLimits: { idleMs: 60_000, watchesPerSession: 10_000 },
      devUsers: [
        { username: "alice", password: "password1" },
        { username: "bob", password: "password2" },
      ],
      newStore: true,
      allowInsecure: false,
    } as const;
    const args = settingArgs(input);
    expect(args).toEqual([
      "--listen",
      "127.0.0.1:0",
      "--dev-cu",
      "alice:password1",
      "--dev-cu",
      "bob:password2",
      "--session-idle-seconds",
      "60",
      "--watches-per-session",
      "10000",
      "--max-keys",
      "0",
      "--new-store",
    ]);
    expect(parse(args)).toEqual(configFrom(input));
    // A secret's flag names a file: the value itself is never put on a command line.
    expect(() => settingArgs({ adminSecret: "a-secret-of-sixteen-chars" })).toThrow("--admin-secret-file takes a file");
  });
});

describe("--metrics-listen", () => {
  const pem = (path: string): string =>
    path.endsWith("cert.pem") ? "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n" : "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n";

  test("is off unless given; a loopback host:port (port 0 too) is taken from the flag or the environment", () => {
    expect(parse([]).metricsListen).toBeUndefined();
    expect(parse(["--metrics-listen", "127.0.0.1:0"]).metricsListen).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parse([], { LOCALCLOUDHSM_METRICS_LISTEN: "[::1]:9464" }).metricsListen).toEqual({ host: "::1", port: 9464 });
    expect(settingArgs({ metricsListen: { host: "localhost", port: 9464 } })).toEqual(["--metrics-listen", "localhost:9464"]);
  });

  test("a non-loopback host is refused without TLS (even with --allow-insecure), accepted with it", () => {
    const refused = new ConfigError(
      SETTINGS.metricsListen,
      "metrics are refused on non-loopback address 0.0.0.0 without TLS; give --tls-cert-file and --tls-key-file (the endpoint then serves HTTPS)",
    );
    expect(() => parse(["--metrics-listen", "0.0.0.0:9464"])).toThrow(refused);
    expect(() => parse(["--metrics-listen", "0.0.0.0:9464", "--listen", "0.0.0.0:1", "--allow-insecure"])).toThrow(refused);
    expect(() => configFrom({ metricsListen: { host: "10.0.0.1", port: 9464 } })).toThrow("metrics are refused on non-loopback address 10.0.0.1");
    const withTls = parseConfig(["--metrics-listen", "0.0.0.0:9464", "--tls-cert-file", "/cert.pem", "--tls-key-file", "/key.pem"], {}, pem).config;
    expect(withTls.metricsListen).toEqual({ host: "0.0.0.0", port: 9464 });
    expect(withTls.tls).toBeDefined();
  });

  test("a value that is not host:port names the setting", () => {
    expect(() => parse(["--metrics-listen", "9464"])).toThrow(new ConfigError(SETTINGS.metricsListen, '"9464" is not host:port'));
    expect(() => parse(["--metrics-listen", "example.com:9464"])).toThrow(new ConfigError(SETTINGS.metricsListen, '"example.com" is not an IP address or localhost'));
  });
});
