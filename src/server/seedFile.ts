// Reads a seed file (YAML, or JSON, which YAML reads too) into a checked SeedDocument; errors name the file and line.
import { readFileSync } from "node:fs";
import { isNode, LineCounter, parseDocument } from "yaml";
import { checkSeed, SeedDocument, SeedError } from "../hsm/seed";

/** A seed file that cannot be read or used: one line naming the file (and the line, when there is one). */
export class SeedFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SeedFileError";
  }
}

/** A checked seed document and the way back from a problem's path to its line in the file. */
export interface ParsedSeed {
  readonly fileName: string;
  readonly document: SeedDocument;
  /** A SeedError (from checking or from applying the seed) as a SeedFileError naming the file and line. */
  locate(err: SeedError): SeedFileError;
}

/** Parses and checks seed text; SeedFileError for a syntax or schema problem. Nothing of the text's secrets is in a message. */
export function parseSeed(text: string, fileName: string): ParsedSeed {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = lines.linePos(syntax.pos[0]).line;
    // The parser's own message can quote the text (a password, material): say only what kind of error and where.
    throw new SeedFileError(`seed file ${fileName} line ${line}: not valid YAML or JSON (${syntax.code.toLowerCase().replace(/_/g, " ")})`);
  }
  const locate = (err: SeedError): SeedFileError => {
    // The deepest node on the path that exists: a missing field is reported at its mapping's line.
    for (let depth = err.path.length; depth >= 0; depth--) {
      const node: unknown = depth === 0 ? doc.contents : doc.getIn(err.path.slice(0, depth), true);
      if (isNode(node) && node.range) return new SeedFileError(`seed file ${fileName} line ${lines.linePos(node.range[0]).line}: ${err.message}`);
    }
    return new SeedFileError(`seed file ${fileName}: ${err.message}`);
  };
  try {
    return { fileName, document: checkSeed(doc.toJS()), locate };
  } catch (err) {
    if (err instanceof SeedError) throw locate(err);
    throw err;
  }
}

/** Reads and parses a seed file. */
export function readSeedFile(path: string): ParsedSeed {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new SeedFileError(`cannot read seed file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseSeed(text, path);
}
