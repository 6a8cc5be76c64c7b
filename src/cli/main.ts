// kmu's entry point: reads the --options, connects, and runs one command (one-shot) or the interactive shell.
import { loadPinnedKeys } from "../../clients/attestation";
import { KmuClient } from "../../clients/kmuClient";
import { UsageError } from "./flagParser";
import { parseGlobalOptions, USAGE } from "./globalOptions";
import { KmuSession } from "./kmuSession";
import { LineInput } from "./lineInput";
import { runOneShot } from "./oneShot";
import { runShell } from "./shell";

export interface Io {
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

/** Runs kmu and resolves with its exit status; nothing here calls process.exit, so output is never cut short. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let options;
  try {
    options = parseGlobalOptions(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`kmu: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const client = new KmuClient(options.server);
  const input = new LineInput(io.stdin, {
    promptStream: options.json ? io.stderr : io.stdout,
    // A piped session echoes each command after its prompt, so its output reads like the documented transcripts.
    echo: !options.json && io.stdin.isTTY !== true,
  });
  try {
    if (options.attestationKeysFile !== undefined) {
      try {
        client.pinAttestationKeys(loadPinnedKeys(options.attestationKeysFile));
      } catch (err) {
        io.stderr.write(`kmu: cannot use --attestation-keys "${options.attestationKeysFile}": ${(err as Error).message}\n`);
        return 2;
      }
    }
    const session = new KmuSession(client, input, options.server, io, options.json);
    if (options.command.length > 0) {
      return await runOneShot(options.command, session, { ...(options.user ? { user: options.user } : {}), ...(options.password !== undefined ? { password: options.password } : {}) });
    }
    return await runShell(session, input);
  } finally {
    input.close();
    client.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
    (status) => {
      process.exitCode = status;
    },
    (err: unknown) => {
      process.stderr.write(`kmu: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
