// `npm run admin -- reset|snapshot ...`: the daemon's state commands (reset, snapshots) through AdminService, independent of kmu.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { AdminClient, adminProto, DEFAULT_ADDRESS, HsmClientError, tlsCredentials } from "../../clients";

type StateReplaced = adminProto.StateReplaced;

export const ADMIN_USAGE = `usage: local-cloudhsm-admin [options] <command>
  reset [--to-seed]          remove every user and key (or go back to the daemon's --seed); every session ends
  snapshot save <name>       save a snapshot of the users and keys under <name>
  snapshot restore <name>    replace every user and key with the snapshot's; every session ends
  snapshot list              list the saved snapshots
options:
  --server host:port         the daemon (default: LOCALCLOUDHSM_ADDRESS, else ${DEFAULT_ADDRESS})
  --admin-secret-file FILE   the admin secret (default: LOCALCLOUDHSM_ADMIN_SECRET, else <data-dir>/admin-secret)
  --data-dir DIR             where the daemon keeps its admin secret (default: LOCALCLOUDHSM_DATA_DIR, else ./.local-cloudhsm)
  --tls-ca-file FILE         connect with TLS, trusting this CA (PEM)
  --json                     print the answer as JSON`;

/** What a command line asks for. */
export type AdminCommand =
  | { readonly kind: "reset"; readonly toSeed: boolean }
  | { readonly kind: "save" | "restore"; readonly name: string }
  | { readonly kind: "list" };

export interface AdminInvocation {
  readonly command: AdminCommand;
  readonly server: string;
  readonly secret: string;
  readonly caFile: string | undefined;
  readonly json: boolean;
}

export class AdminUsageError extends Error {}

/** Parses the command line; the secret comes from a file, the environment or the data directory (read with `read`). */
export function parseAdminArgs(argv: readonly string[], env: NodeJS.ProcessEnv, read: (path: string) => string): AdminInvocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        server: { type: "string" },
        "admin-secret-file": { type: "string" },
        "data-dir": { type: "string" },
        "tls-ca-file": { type: "string" },
        "to-seed": { type: "boolean" },
        json: { type: "boolean" },
      },
    });
  } catch (err) {
    throw new AdminUsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [verb, sub, name, ...rest] = positionals;
  let command: AdminCommand;
  if (verb === "reset" && sub === undefined) command = { kind: "reset", toSeed: values["to-seed"] === true };
  else if (verb === "snapshot" && (sub === "save" || sub === "restore") && name !== undefined && rest.length === 0) command = { kind: sub, name };
  else if (verb === "snapshot" && sub === "list" && name === undefined) command = { kind: "list" };
  else throw new AdminUsageError(verb === undefined ? "name a command" : `unknown command: ${positionals.join(" ")}`);
  if (values["to-seed"] === true && command.kind !== "reset") throw new AdminUsageError("--to-seed goes with reset");
  const secretFile = values["admin-secret-file"];
  const dataDir = values["data-dir"] ?? (env.LOCALCLOUDHSM_DATA_DIR || "./.local-cloudhsm");
  const secret = secretFile !== undefined ? read(secretFile) : (env.LOCALCLOUDHSM_ADMIN_SECRET ?? read(join(dataDir, "admin-secret")));
  return {
    command,
    server: values.server ?? (env.LOCALCLOUDHSM_ADDRESS || DEFAULT_ADDRESS),
    secret: secret.trim(),
    caFile: values["tls-ca-file"],
    json: values.json === true,
  };
}

/** Runs one command against the daemon; returns the line(s) to print. */
export async function runAdmin(invocation: AdminInvocation): Promise<string> {
  const { command } = invocation;
  const client = new AdminClient(invocation.server, invocation.secret, invocation.caFile !== undefined ? { credentials: tlsCredentials({ caFile: invocation.caFile }) } : {});
  const print = (answer: unknown, text: string): string => (invocation.json ? JSON.stringify(answer) : text);
  const describe = (state: StateReplaced | undefined): string =>
    `${state?.userCount ?? 0} users, ${state?.keyCount ?? 0} keys, ${state?.sessionsEnded ?? 0} sessions ended, revision ${state?.revision ?? "?"}`;
  try {
    switch (command.kind) {
      case "reset": {
        const state = await client.resetState(command.toSeed);
        return print(state, `${command.toSeed ? "reset to the seed" : "reset to empty"}: ${describe(state)}`);
      }
      case "restore": {
        const state = await client.restoreSnapshot(command.name);
        return print(state, `restored snapshot ${command.name}: ${describe(state)}`);
      }
      case "save": {
        const info = await client.saveSnapshot(command.name);
        return print(info, `saved snapshot ${command.name}: ${info?.userCount ?? 0} users, ${info?.keyCount ?? 0} keys`);
      }
      case "list": {
        const list = await client.listSnapshots();
        const lines = list.map((i) => `${i.name}\t${i.userCount} users\t${i.keyCount} keys\t${new Date(Number(i.savedAtMs)).toISOString()}`);
        return print(list, lines.length === 0 ? "no snapshots" : lines.join("\n"));
      }
    }
  } finally {
    client.close();
  }
}

async function main(): Promise<number> {
  let invocation: AdminInvocation;
  try {
    invocation = parseAdminArgs(process.argv.slice(2), process.env, (path) => readFileSync(path, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    process.stderr.write(err instanceof AdminUsageError ? `local-cloudhsm-admin: ${err.message}\n${ADMIN_USAGE}\n` : `local-cloudhsm-admin: cannot read the admin secret: ${code ?? (err as Error).message}\n`);
    return 2;
  }
  try {
    process.stdout.write((await runAdmin(invocation)) + "\n");
    return 0;
  } catch (err) {
    // The ErrorInfo reason is what scripts match on; the message says what to do.
    const reason = err instanceof HsmClientError ? ` (${err.reason})` : "";
    process.stderr.write(`local-cloudhsm-admin: ${(err as Error).message}${reason}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main().then((code) => {
    process.exitCode = code;
  });
}
