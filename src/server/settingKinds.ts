// The kinds of daemon setting: how a flag or environment value becomes a typed value, and how a typed value is checked.
import { isIP } from "node:net";
import { resolve } from "node:path";

/** What names a setting in an error message: its flag and its environment variable. */
export interface SettingNames {
  readonly flag: string;
  readonly env: string;
}

/** A bad setting: names the flag and the environment variable. */
export class ConfigError extends Error {
  constructor(setting: SettingNames, problem: string) {
    super(`invalid ${setting.flag} (${setting.env}): ${problem}`);
    this.name = "ConfigError";
  }
}

/** Reads a file a flag names (secrets, PEM files); injected so tests need no files. */
export type ReadFile = (path: string) => string;

/** How one setting is read and checked; T is the type the daemon receives. */
export interface Kind<T> {
  /** parseArgs type: a boolean flag takes no value. */
  readonly argType: "string" | "boolean";
  /** The flag may be given more than once. */
  readonly multiple?: boolean;
  /** An empty environment variable is a value (checked like any other), not "unset". */
  readonly emptyEnvIsValue?: boolean;
  /** The flag names a file holding the value, so a value cannot be passed as the flag's argument. */
  readonly flagNamesFile?: boolean;
  /** A flag's value: its text, true for a boolean flag, every occurrence of a repeatable one. */
  fromFlag(value: string | boolean | readonly (string | boolean)[], names: SettingNames, read: ReadFile): T;
  fromEnv(text: string, names: SettingNames): T;
  /** Checks a typed value (parsed, a default, or given in-process) and returns it normalised. */
  check(value: T, names: SettingNames): T;
  /** The value as a flag argument (and as the default in usage). */
  show(value: T): string;
}

/** One row of the settings table. */
export interface Setting<T> {
  readonly flag: string;
  readonly env: string;
  readonly help: string;
  readonly default: T;
  /** Shown instead of the default value where that is computed or generated (e.g. a file in the data directory). */
  readonly defaultText?: string;
  readonly kind: Kind<T>;
}

/** A kind whose flag and environment values are the same text. */
function textKind<T>(parse: (text: string, names: SettingNames) => T, check: (value: T, names: SettingNames) => T, show: (value: T) => string): Kind<T> {
  return {
    argType: "string",
    fromFlag: (value, names) => parse(String(value), names),
    fromEnv: parse,
    check,
    show,
  };
}

/**
 * A whole number in min..max of the unit the flag is given in; the daemon receives it times `scale`
 * (seconds given, milliseconds received). `rule` adds a check of its own (e.g. a power of two).
 */
export function integer(min: number, max: number, options: { scale?: number; rule?: (n: number) => string | undefined } = {}): Kind<number> {
  const scale = options.scale ?? 1;
  return textKind(
    (text, names) => {
      if (!/^\d+$/.test(text)) throw new ConfigError(names, `"${text}" is not a whole number`);
      return Number(text) * scale;
    },
    (value, names) => {
      const n = value / scale;
      if (!Number.isSafeInteger(n)) throw new ConfigError(names, `"${value}" is not a whole number${scale === 1 ? "" : ` times ${scale}`}`);
      if (n < min || n > max) throw new ConfigError(names, `${n} is outside ${min}..${max}`);
      const problem = options.rule?.(n);
      if (problem !== undefined) throw new ConfigError(names, problem);
      return value;
    },
    (value) => String(value / scale),
  );
}

export function oneOf<T extends string>(allowed: readonly T[]): Kind<T> {
  const check = (value: string, names: SettingNames): T => {
    if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(names, `"${value}" is not one of ${allowed.join(", ")}`);
    return value as T;
  };
  return textKind(check, check, (value) => value);
}

/** A switch: the bare flag, or the environment variable set to "true" (any other text is off). */
export const onOff: Kind<boolean> = {
  argType: "boolean",
  fromFlag: (value) => value === true,
  fromEnv: (text) => text === "true",
  check: (value) => value,
  show: (value) => String(value),
};

/** A directory; the daemon receives it resolved against the working directory. */
export const directory: Kind<string> = textKind(
  (text) => text,
  (value) => resolve(value),
  (value) => value,
);

/** The path of a file read later (with the settings it goes with); undefined when not given. */
export const optionalPath: Kind<string | undefined> = textKind<string | undefined>(
  (text) => text,
  (value) => value,
  (value) => value ?? "",
);

/** Loopback hosts: 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** host:port, the host an IP address (IPv6 in brackets) or localhost; port 0 picks a free port. */
export const hostPort: Kind<HostPort> = textKind(
  (text, names) => {
    const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
    if (!match) throw new ConfigError(names, `"${text}" is not host:port`);
    return { host: (match[1] ?? match[2])!, port: Number(match[3]) };
  },
  (value, names) => {
    if (value.host !== "localhost" && isIP(value.host) === 0) throw new ConfigError(names, `"${value.host}" is not an IP address or localhost`);
    if (!Number.isInteger(value.port) || value.port < 0 || value.port > 65535) throw new ConfigError(names, `port ${value.port} is out of range`);
    return value;
  },
  (value) => (value.host.includes(":") ? `[${value.host}]:${value.port}` : `${value.host}:${value.port}`),
);

/**
 * A secret: the flag names a file holding it, the environment variable holds it itself (an empty one is
 * checked, and refused, like any other). `check` returns a problem or undefined; the daemon receives it trimmed.
 */
export function secret(check: (text: string) => string | undefined): Kind<string | undefined> {
  const checked = (value: string | undefined, names: SettingNames): string | undefined => {
    if (value === undefined) return undefined;
    const problem = check(value);
    if (problem !== undefined) throw new ConfigError(names, problem);
    return value.trim();
  };
  return {
    argType: "string",
    emptyEnvIsValue: true,
    flagNamesFile: true,
    fromFlag: (value, names, read) => readSettingFile(names, String(value), read),
    fromEnv: (text) => text,
    check: checked,
    show: (value) => value ?? "",
  };
}

/** Reads a file a setting names; a failure is a ConfigError naming the setting and the errno code. */
export function readSettingFile(names: SettingNames, path: string, read: ReadFile): string {
  try {
    return read(path);
  } catch (err) {
    throw new ConfigError(names, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}

/** A repeatable flag, or a comma-separated environment variable; each item parsed and checked by `item`. */
export function list<T>(item: (text: string, names: SettingNames) => T, checkItem: (value: T, names: SettingNames) => T, showItem: (value: T) => string): Kind<readonly T[]> {
  return {
    argType: "string",
    multiple: true,
    fromFlag: (value, names) => (Array.isArray(value) ? value : [value]).map((text) => item(String(text), names)),
    fromEnv: (text, names) => text.split(",").map((part) => item(part, names)),
    check: (values, names) => values.map((value) => checkItem(value, names)),
    show: (values) => values.map(showItem).join(","),
  };
}

/** host:port as `hostPort`, or undefined when not given (the feature it enables is off). */
export const optionalHostPort: Kind<HostPort | undefined> = {
  argType: "string",
  fromFlag: (value, names, read) => hostPort.fromFlag(value, names, read),
  fromEnv: (text, names) => hostPort.fromEnv(text, names),
  check: (value, names) => (value === undefined ? undefined : hostPort.check(value, names)),
  show: (value) => (value === undefined ? "" : hostPort.show(value)),
};
