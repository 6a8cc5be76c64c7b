// Daemon configuration from command-line flags, LOCALCLOUDHSM_* environment variables or an in-process object,
// validated at start; every setting comes from the one table in settings.ts.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, isLoopback, ReadFile, readSettingFile, SettingNames } from "./settingKinds";
import { buildSettings, defaultText, inputValue, SETTING_LIST, SETTINGS, Settings, SettingsInput } from "./settings";

export { ConfigError, isLoopback } from "./settingKinds";
export { DEFAULTS, SETTINGS } from "./settings";
export type { DevUser, LogFormat, LogLevel, Settings, SettingsInput } from "./settings";

export interface TlsConfig {
  readonly certChain: Buffer;
  readonly privateKey: Buffer;
  /** CA that client certificates must chain to; set means mutual TLS. */
  readonly clientCa: Buffer | undefined;
}

/** The settings, plus the TLS material their files hold (undefined serves plaintext). */
export type DaemonConfig = Settings & { readonly tls: TlsConfig | undefined };

/** Usage text listing every setting. */
export function usage(): string {
  const lines = SETTING_LIST.map(({ setting: s }) => `  ${s.flag.padEnd(26)} ${s.env.padEnd(38)} ${s.help} [default: ${defaultText(s)}]`);
  return ["usage: local-cloudhsm [options]", "", "  flag                       environment variable", ...lines, "  --help"].join("\n");
}

export interface ParsedCommandLine {
  readonly help: boolean;
  readonly config: DaemonConfig;
}

type FlagValue = string | boolean | (string | boolean)[];

/** Parses flags over environment variables over defaults; throws ConfigError naming the bad setting. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv, readSecretFile: ReadFile): ParsedCommandLine {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = { help: { type: "boolean" } };
  for (const { setting } of SETTING_LIST) {
    options[setting.flag.slice(2)] = { type: setting.kind.argType, ...(setting.kind.multiple ? { multiple: true } : {}) };
  }
  let values: Record<string, FlagValue | undefined>;
  try {
    values = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\n${usage()}`, { cause: err });
  }
  const settings = buildSettings(({ setting }) => {
    const flagValue = values[setting.flag.slice(2)];
    const envText = env[setting.env];
    const raw =
      flagValue !== undefined
        ? setting.kind.fromFlag(flagValue, setting, readSecretFile)
        : envText !== undefined && (envText !== "" || setting.kind.emptyEnvIsValue === true)
          ? setting.kind.fromEnv(envText, setting)
          : setting.default;
    return setting.kind.check(raw, setting);
  });
  return { help: values.help === true, config: completeConfig(settings, readSecretFile) };
}

/**
 * The config of a daemon configured in-process (tests, an embedding program): the given settings over the
 * defaults, checked as the command line's are. TLS files are read with `readFile`.
 */
export function configFrom(input: SettingsInput, readFile: ReadFile = (path) => readFileSync(path, "utf8")): DaemonConfig {
  const settings = buildSettings((entry) => {
    const given = inputValue(input, entry);
    return entry.setting.kind.check(given === undefined ? entry.setting.default : given, entry.setting);
  });
  return completeConfig(settings, readFile);
}

/** The command-line arguments that give `input` to a daemon process (the bench and tests start daemons with them). */
export function settingArgs(input: SettingsInput): string[] {
  const args: string[] = [];
  for (const entry of SETTING_LIST) {
    const given = inputValue(input, entry);
    if (given === undefined) continue;
    const { flag, env, kind } = entry.setting;
    if (kind.flagNamesFile === true) throw new Error(`${flag} takes a file; give this setting through ${env} or a file`);
    if (kind.argType === "boolean") {
      if (given === true) args.push(flag);
    } else if (kind.multiple === true && Array.isArray(given)) {
      for (const item of given) args.push(flag, kind.show([item]));
    } else {
      args.push(flag, kind.show(given));
    }
  }
  return args;
}

/** Checks between settings, then reads the TLS files. */
function completeConfig(settings: Settings, read: ReadFile): DaemonConfig {
  const S = SETTINGS;
  const { nodeCount, createObjectMinimumNodes, eventCapacity } = settings;
  if (createObjectMinimumNodes > nodeCount) {
    throw new ConfigError(S.createObjectMinimumNodes, `${createObjectMinimumNodes} is more than the ${nodeCount} nodes of the cluster`);
  }
  if (settings.watch.maxLag >= eventCapacity) {
    throw new ConfigError(S.watch.maxLag, `must be below --event-capacity (${eventCapacity}) so a slow watcher can resume`);
  }
  const tls = readTls(settings.tlsFiles, read);
  const { host } = settings.listen;
  if (settings.devUsers.length > 0 && !isLoopback(host)) {
    throw new ConfigError(S.devUsers, `development users are refused on non-loopback address ${host}; create users through the admin service`);
  }
  if (!tls && !isLoopback(host) && !settings.allowInsecure) {
    throw new ConfigError(S.listen, `plaintext is refused on non-loopback address ${host}; give --tls-cert-file and --tls-key-file, or --allow-insecure`);
  }
  const metrics = settings.metricsListen;
  if (metrics !== undefined && !tls && !isLoopback(metrics.host)) {
    throw new ConfigError(S.metricsListen, `metrics are refused on non-loopback address ${metrics.host} without TLS; give --tls-cert-file and --tls-key-file (the endpoint then serves HTTPS)`);
  }
  return { ...settings, tls };
}

function readTls(files: Settings["tlsFiles"], read: ReadFile): TlsConfig | undefined {
  const S = SETTINGS.tlsFiles;
  const { certChain, privateKey, clientCa } = files;
  if (certChain === undefined && privateKey === undefined) {
    if (clientCa !== undefined) throw new ConfigError(S.clientCa, "mutual TLS needs --tls-cert-file and --tls-key-file too");
    return undefined;
  }
  if (certChain === undefined) throw new ConfigError(S.certChain, "--tls-key-file needs --tls-cert-file");
  if (privateKey === undefined) throw new ConfigError(S.privateKey, "--tls-cert-file needs --tls-key-file");
  const pem = (names: SettingNames, path: string, marker: RegExp): Buffer => {
    const text = readSettingFile(names, path, read);
    if (!marker.test(text)) throw new ConfigError(names, `${path} is not a PEM file of the expected kind`);
    return Buffer.from(text);
  };
  return {
    certChain: pem(S.certChain, certChain, /-----BEGIN CERTIFICATE-----/),
    privateKey: pem(S.privateKey, privateKey, /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/),
    clientCa: clientCa === undefined ? undefined : pem(S.clientCa, clientCa, /-----BEGIN CERTIFICATE-----/),
  };
}
