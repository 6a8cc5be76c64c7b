// Console output of wrapKey ("Key Wrapped.", the file and its length, Cfm2WrapKey) and unWrapKey ("Key Unwrapped.  Key Handle: N").
import { returnCodeText } from "../../../common/returnCodes";
import { attestationLine } from "./keyCreation";
import { clusterBlock, INDENT, NodeLine, stepLine, transcript } from "./transcript";

/**
 * The documented lines. The page's file line has no closing quote after the file name
 * (`"3DES-encrypted.key length 307`); kmu prints it as documented so scripts written against it keep matching.
 */
export function formatWrapKey(outFile: string, length: number): string {
  return transcript([[`${INDENT}Key Wrapped.`], [`${INDENT}Wrapped Key written to file "${outFile} length ${length}`], [stepLine("Cfm2WrapKey", 0, returnCodeText(0))]], true);
}

export interface UnwrapView {
  /** The step lines to show: Cfm3UnWrapKey with a header; Cfm3CreateUnwrapTemplate2 and Cfm2UnWrapWithTemplate3 with -noheader. */
  readonly steps: readonly string[];
  readonly keyHandle: number;
  readonly attestationPassed?: boolean;
  readonly nodes: readonly NodeLine[];
}

/** Steps, the handle line (two spaces after the period, as the header example shows), attestation, the cluster block. */
export function formatUnwrapKey(view: UnwrapView): string {
  return transcript(
    [
      view.steps.map((name) => stepLine(name, 0, returnCodeText(0))),
      [`${INDENT}Key Unwrapped.  Key Handle: ${view.keyHandle}`],
      view.attestationPassed === undefined ? [] : [attestationLine(view.attestationPassed)],
      clusterBlock(view.nodes),
    ],
    true,
  );
}
