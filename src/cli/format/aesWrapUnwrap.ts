// Console output of aesWrapUnwrap: the default-IV warning, the result bytes in hex, where they were written, the step line.
import { returnCodeText } from "../../../common/returnCodes";
import { INDENT, stepLine } from "./transcript";

export interface AesWrapUnwrapView {
  readonly mode: "wrap" | "unwrap";
  /** True when -i was not given (the documented warning is printed). */
  readonly ivMissing: boolean;
  /** The wrapped bytes (wrap only: an unwrap's plaintext is key material and is not printed). */
  readonly shown: Buffer | undefined;
  readonly resultLength: number;
  readonly outFile: string;
}

/** Bytes as upper-case hex pairs, 8 per line, as the documented example shows them. */
export function hexRows(bytes: Buffer): string[] {
  const rows: string[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    rows.push([...bytes.subarray(at, at + 8)].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" "));
  }
  return rows;
}

/**
 * The documented layout: a blank line, the warning (two lines, the second aligned under "IV"), "result data:"
 * at the margin with its rows, a blank line, the file line, a blank line, the indented step line.
 */
export function formatAesWrapUnwrap(view: AesWrapUnwrapView): string {
  const warning = view.ivMissing ? [`${INDENT}Warning: IV (-i) is missing.`, `${INDENT}         0xA6A6A6A6A6A6A6A6 is considered as default IV`] : [];
  const data = view.shown ? hexRows(view.shown) : [`(${view.resultLength} bytes of plaintext, not shown: see the output file)`];
  const step = view.mode === "wrap" ? "Cfm3WrapHostKey" : "Cfm3UnWrapHostKey";
  return ["", ...warning, "result data:", ...data, "", `result written to file ${view.outFile}`, "", stepLine(step, 0, returnCodeText(0)), ""].join("\n");
}
