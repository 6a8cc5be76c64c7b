// Parses key_mgmt_util's single-dash flags (-f file, -min_srv 2, -sess) against one command's flag table.
//
// KMU flags are whole words after one dash (-min_srv, -attest), so no getopt-style bundling: each word is
// either a known flag or the value of the flag before it. Anything else is a usage mistake, reported
// before any RPC is sent.

/** A usage mistake: the command's help is printed and nothing is sent to the HSM. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** False when the message alone explains it (e.g. a documented flag this emulator does not support). */
    readonly showHelp = true,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** How a flag is written: alone (-sess) or followed by a value (-l label). */
export type FlagKind = "switch" | "value";

export interface FlagDef {
  readonly kind: FlagKind;
  readonly required?: boolean;
}

/** A command's flags by their spelling, e.g. { "-f": { kind: "value", required: true } }. */
export type FlagTable = Readonly<Record<string, FlagDef>>;

/** The flags found on one command line. */
export class ParsedFlags {
  constructor(
    private readonly values: ReadonlyMap<string, string>,
    private readonly switches: ReadonlySet<string>,
  ) {}

  /** The value of a value flag, or undefined if it was not given. */
  value(flag: string): string | undefined {
    return this.values.get(flag);
  }

  /** The value of a flag the table marks required (the parser already refused its absence). */
  required(flag: string): string {
    const value = this.values.get(flag);
    if (value === undefined) throw new UsageError(`${flag} is required`);
    return value;
  }

  has(flag: string): boolean {
    return this.switches.has(flag) || this.values.has(flag);
  }
}

/** The outcome of parsing: either -h was asked for, or the flags. */
export type ParseResult = { readonly help: true } | { readonly help: false; readonly flags: ParsedFlags };

/** Double-dash options belong to kmu itself and go before the command; say so instead of "unknown flag". */
function unknownFlag(word: string): UsageError {
  if (word.startsWith("--")) return new UsageError(`unknown flag ${word} (kmu's own --options go before the command name)`);
  return new UsageError(`unknown flag ${word}`);
}

/**
 * Parses `words` (the command line after the command name). -h anywhere means help, whatever else is
 * there, so a half-typed command never reaches the HSM.
 */
export function parseFlags(words: readonly string[], table: FlagTable): ParseResult {
  if (words.includes("-h")) return { help: true };
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const def = table[word];
    if (!def) {
      if (word.startsWith("-")) throw unknownFlag(word);
      throw new UsageError(`unexpected argument "${word}"`);
    }
    if (values.has(word) || switches.has(word)) throw new UsageError(`${word} is given twice`);
    if (def.kind === "switch") {
      switches.add(word);
      continue;
    }
    const next = words[i + 1];
    // A value that is itself one of this command's flags means the value was forgotten.
    if (next === undefined || table[next] !== undefined) throw new UsageError(`${word} needs a value`);
    values.set(word, next);
    i++;
  }
  for (const [flag, def] of Object.entries(table)) {
    if (def.required && !values.has(flag) && !switches.has(flag)) throw new UsageError(`${flag} is required`);
  }
  return { help: false, flags: new ParsedFlags(values, switches) };
}
