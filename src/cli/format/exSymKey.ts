// Console output of exSymKey: the wrap/unwrap steps, then (after two blank lines) where the plaintext key was written.
import { StepLine } from "./keyCreation";
import { stepLine, transcript } from "./transcript";

/**
 * The file holds the plaintext key even though the message says "Wrapped" (documented wording). With -wk the
 * host unwraps, so only Cfm3WrapKey is listed.
 */
export function formatExSymKey(steps: readonly StepLine[], outFile: string): string {
  return transcript([...steps.map((s) => [stepLine(s.name, s.returnCode, s.description)]), ["", `Wrapped Symmetric Key written to file "${outFile}"`]], true);
}
