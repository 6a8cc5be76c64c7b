// kmu's own --options (before the command): the daemon address, --json, one-shot credentials, pinned attestation keys.
import { DEFAULT_ADDRESS } from "../../clients/hsmClient";
import { UsageError } from "./flagParser";

export interface GlobalOptions {
  /** host:port of the daemon. */
  readonly server: string;
  readonly json: boolean;
  /** One-shot login; from --user/--password or KMU_USER/KMU_PASSWORD. */
  readonly user?: string;
  readonly password?: string;
  readonly attestationKeysFile?: string;
  readonly help: boolean;
  /** The command and its flags; empty for the interactive shell. */
  readonly command: readonly string[];
}

export const USAGE = `Usage: kmu [--server host:port] [--json] [--user <name> --password <password>]
           [--attestation-keys <file>] [<command> [<flags>]]

With a command, kmu logs in (--user/--password or KMU_USER/KMU_PASSWORD), runs the command, logs out and
exits 0 on success, 1 when the HSM refused, 2 on a usage mistake. Without a command it is the interactive
key_mgmt_util shell (prompt "Command: "), which also reads a whole session piped to its standard input.

  --server host:port        the daemon (default: LOCALCLOUDHSM_ADDRESS, else ${DEFAULT_ADDRESS})
  --json                    print {"error_code":0,"data":{...}} per command instead of KMU text
  --user, --password        crypto user for one-shot mode (default: KMU_USER, KMU_PASSWORD)
  --attestation-keys <file> verify -attest against keys saved by pinAttestationKeys
  --help                    this text; "kmu help" lists the commands, "kmu <command> -h" explains one
`;

const VALUE_OPTIONS = ["--server", "--user", "--password", "--attestation-keys"] as const;

/** host:port, host being a name, an IPv4 address or a bracketed IPv6 address. */
function checkAddress(address: string): string {
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/.test(address) || Number(address.slice(address.lastIndexOf(":") + 1)) > 65535) {
    throw new UsageError(`--server must be host:port, got "${address}"`);
  }
  return address;
}

/** Reads the --options up to the first word that is not one; that word starts the command. */
export function parseGlobalOptions(argv: readonly string[], env: NodeJS.ProcessEnv): GlobalOptions {
  const values = new Map<string, string>();
  let json = false;
  let help = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith("--")) break;
    const eq = word.indexOf("=");
    const name = eq === -1 ? word : word.slice(0, eq);
    if (name === "--json" && eq === -1) json = true;
    else if (name === "--help" && eq === -1) help = true;
    else if ((VALUE_OPTIONS as readonly string[]).includes(name)) {
      const value = eq === -1 ? argv[++i] : word.slice(eq + 1);
      if (value === undefined) throw new UsageError(`${name} needs a value`);
      if (values.has(name)) throw new UsageError(`${name} is given twice`);
      values.set(name, value);
    } else throw new UsageError(`unknown option ${word}`);
  }
  const user = values.get("--user") ?? env.KMU_USER;
  const password = values.get("--password") ?? env.KMU_PASSWORD;
  const attestationKeysFile = values.get("--attestation-keys");
  return {
    server: checkAddress(values.get("--server") ?? (env.LOCALCLOUDHSM_ADDRESS || DEFAULT_ADDRESS)),
    json,
    ...(user ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(attestationKeysFile !== undefined ? { attestationKeysFile } : {}),
    help: help || argv[i] === "-h",
    command: argv[i] === "-h" ? [] : argv.slice(i),
  };
}
