// Console output of the key-creating commands: imSymKey ("Symmetric Key Unwrapped.") and genSymKey ("Symmetric Key Created.").
import { clusterBlock, INDENT, NodeLine, stepLine, transcript } from "./transcript";

/** One Cfm3* step the daemon reported. */
export interface StepLine {
  readonly name: string;
  readonly returnCode: number;
  readonly description: string;
}

export interface KeyCreationView {
  /** The steps exactly as the daemon reported them (imSymKey -wk has no Cfm3WrapHostKey). */
  readonly steps: readonly StepLine[];
  readonly keyHandle: number;
  /** With -attest: whether every node's attestation verified. */
  readonly attestationPassed?: boolean;
  /** One line per node, or one for a session key. */
  readonly nodes: readonly NodeLine[];
}

/** The handle line; note the two spaces after the period, as documented. */
export function handleLine(verb: "Unwrapped" | "Created", keyHandle: number): string {
  return `${INDENT}Symmetric Key ${verb}.  Key Handle: ${keyHandle}`;
}

/** `        Attestation Check : [PASS]` (or [FAIL]). */
export function attestationLine(passed: boolean): string {
  return `${INDENT}Attestation Check : [${passed ? "PASS" : "FAIL"}]`;
}

/** Steps, the handle line, the attestation line (after the handle, before the cluster block), the cluster block. */
export function formatKeyCreation(verb: "Unwrapped" | "Created", view: KeyCreationView): string {
  return transcript(
    [
      ...view.steps.map((s) => [stepLine(s.name, s.returnCode, s.description)]),
      [handleLine(verb, view.keyHandle)],
      view.attestationPassed === undefined ? [] : [attestationLine(view.attestationPassed)],
      clusterBlock(view.nodes),
    ],
    true,
  );
}
