// Turns one command line into something to run, or into the outcome of a mistake, without any I/O.
import { Action, Command, CommandContext } from "./command";
import { toFailure } from "./failures";
import { parseFlags, UsageError } from "./flagParser";
import { commandList, EXIT_WORDS, findCommand } from "./commands";
import { Outcome } from "./outcome";

export type Prepared =
  | { readonly kind: "run"; readonly command: Command; readonly action: Action }
  | { readonly kind: "done"; readonly outcome: Outcome }
  | { readonly kind: "exit" };

/** `words[0]` names the command; the rest are its flags. Usage mistakes come back with the command's help. */
export function prepare(words: readonly string[]): Prepared {
  const [name, ...rest] = words;
  if (name === undefined) return { kind: "done", outcome: { kind: "usage", message: "no command given", help: commandList() } };
  if (EXIT_WORDS.includes(name.toLowerCase())) return { kind: "exit" };
  if (name.toLowerCase() === "help") return { kind: "done", outcome: { kind: "help", text: commandList() } };
  const command = findCommand(name);
  if (!command) return { kind: "done", outcome: { kind: "usage", message: `unknown command "${name}"`, help: commandList() } };
  try {
    const parsed = parseFlags(rest, command.flags);
    if (parsed.help) return { kind: "done", outcome: { kind: "help", text: command.help } };
    return { kind: "run", command, action: command.prepare(parsed.flags) };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return { kind: "done", outcome: { kind: "usage", message: `${command.name}: ${err.message}`, ...(err.showHelp ? { help: command.help } : {}) } };
  }
}

/** Runs a prepared command; anything it did not turn into an outcome itself becomes a failure, never a crash. */
export async function runAction(command: Command, action: Action, ctx: CommandContext): Promise<Outcome> {
  try {
    return await action(ctx);
  } catch (err) {
    return toFailure(err, command.name, ctx.address);
  }
}
