// The interactive key_mgmt_util shell: "Command: " prompt, one command per line, until exit, quit or end of input.
import { prepare, runAction } from "./dispatch";
import { UsageError } from "./flagParser";
import { KmuSession } from "./kmuSession";
import { LineInput } from "./lineInput";
import { Outcome } from "./outcome";
import { tokenize } from "./tokenize";

export const PROMPT = "Command: ";

/**
 * Reads commands until exit/quit or end of input, then logs out. Lines starting with # are comments, so a
 * piped script can explain itself. The exit status is 0 if every command succeeded, else 1, so a script
 * piped into the shell can tell that something failed.
 */
export async function runShell(session: KmuSession, input: LineInput): Promise<number> {
  let failed = false;
  // With --json stdout carries only JSON, so there is no prompt to show.
  const prompt = session.json ? "" : PROMPT;
  try {
    for (;;) {
      const line = await input.ask(prompt);
      if (line === undefined) break;
      let words: string[];
      try {
        words = tokenize(line);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        failed = true;
        finish(session, { kind: "usage", message: err.message });
        continue;
      }
      if (words.length === 0 || words[0]!.startsWith("#")) continue;
      const prepared = prepare(words);
      if (prepared.kind === "exit") break;
      const outcome = prepared.kind === "done" ? prepared.outcome : await runAction(prepared.command, prepared.action, session);
      if (outcome.kind === "failure" || outcome.kind === "usage") failed = true;
      finish(session, outcome);
    }
  } finally {
    await session.logoutQuietly();
  }
  return failed ? 1 : 0;
}

/** Prints the outcome and, in text mode, a blank line before the next prompt. */
function finish(session: KmuSession, outcome: Outcome): void {
  session.print(outcome);
  if (!session.json) session.streams.stdout.write("\n");
}
