// One-shot mode (`kmu imSymKey -f k.bin ...`): log in from the environment, run one command, log out, exit with its status.
import { prepare, runAction } from "./dispatch";
import { toFailure } from "./failures";
import { KmuSession } from "./kmuSession";
import { exitStatus } from "./outcome";

export interface Credentials {
  readonly user?: string;
  readonly password?: string;
}

/** Exit status: 0 success, 1 the HSM (or a file) refused, 2 a usage mistake (nothing was sent). */
export async function runOneShot(words: readonly string[], session: KmuSession, credentials: Credentials): Promise<number> {
  const prepared = prepare(words);
  if (prepared.kind === "exit") return 0;
  if (prepared.kind === "done") {
    session.print(prepared.outcome);
    return exitStatus(prepared.outcome);
  }
  const { command, action } = prepared;
  try {
    if (command.needsLogin) {
      if (!credentials.user || credentials.password === undefined) {
        const outcome = {
          kind: "usage" as const,
          message: `${command.name} needs a login: set KMU_USER and KMU_PASSWORD (or --user and --password), or use the shell's loginHSM`,
        };
        session.print(outcome);
        return exitStatus(outcome);
      }
      try {
        await session.client.loginHSM(credentials.user, credentials.password);
      } catch (err) {
        const outcome = toFailure(err, "Cfm3LoginHSM", session.address);
        session.print(outcome);
        return exitStatus(outcome);
      }
    }
    const outcome = await runAction(command, action, session);
    session.print(outcome);
    return exitStatus(outcome);
  } finally {
    await session.logoutQuietly();
  }
}
