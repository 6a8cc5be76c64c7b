// The shape of a kmu command: its flags and help, a pure check of the flags, and the run that talks to the HSM.
import { KmuClient } from "../../clients/kmuClient";
import { FlagTable, ParsedFlags } from "./flagParser";
import { Prompter } from "./lineInput";
import { Outcome } from "./outcome";

/** What a running command may use. */
export interface CommandContext {
  readonly client: KmuClient;
  readonly prompter: Prompter;
  /** The daemon's address, for messages. */
  readonly address: string;
}

/** A checked command line, ready to run. */
export type Action = (ctx: CommandContext) => Promise<Outcome>;

export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The -h text: description, documented syntax, parameters. */
  readonly help: string;
  readonly flags: FlagTable;
  /** False for commands that never talk to the HSM as a user (Error2String, help) and for loginHSM itself. */
  readonly needsLogin: boolean;
  /** Checks the parsed flags without any I/O; throws UsageError, so a mistake never reaches the HSM. */
  prepare(flags: ParsedFlags): Action;
}

/** Builds a Command from a typed check (flags -> parameters) and run (parameters -> outcome). */
export function defineCommand<P>(spec: {
  name: string;
  summary: string;
  help: string;
  flags: FlagTable;
  needsLogin: boolean;
  check: (flags: ParsedFlags) => P;
  run: (params: P, ctx: CommandContext) => Promise<Outcome>;
}): Command & { check: (flags: ParsedFlags) => P } {
  return {
    name: spec.name,
    summary: spec.summary,
    help: spec.help,
    flags: spec.flags,
    needsLogin: spec.needsLogin,
    check: spec.check,
    prepare(flags) {
      const params = spec.check(flags);
      return (ctx) => spec.run(params, ctx);
    },
  };
}

/** Help text in KMU's layout: a description, the syntax lines, then one line per parameter. */
export function helpText(description: string, syntax: readonly string[], parameters: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...parameters.map(([flag]) => flag.length)) + 2;
  const params = parameters.map(([flag, text]) => `        ${flag.padEnd(width)}${text.split("\n").join(`\n        ${" ".repeat(width)}`)}`);
  return [
    "",
    "Description",
    "===========",
    description,
    "",
    `Syntax: ${syntax[0] ?? ""}`,
    ...syntax.slice(1).map((line) => `        ${line}`),
    "",
    ...(params.length > 0 ? ["Parameters", "==========", ...params] : []),
  ].join("\n") + "\n";
}
