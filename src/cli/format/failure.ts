// Console output of a failed HSM call: the failing step's line with the KMU code and text, and the node states if the daemon sent them.
import { clusterBlock, NodeLine, stepLine, transcript } from "./transcript";

export interface FailureView {
  /** The step named in the error's "step" metadata, else the command's main step. */
  readonly step: string;
  readonly code: number;
  readonly text: string;
  /** Per-node states from the error's "node_states" metadata (MIN_SRV_UNMET), if any. */
  readonly nodes?: readonly NodeLine[];
}

/** e.g. `        Cfm3UnWrapKey returned: 0x110 : HSM Error: Unwrap integrity check failed` */
export function formatFailure(view: FailureView): string {
  return transcript([[stepLine(view.step, view.code, view.text)], view.nodes && view.nodes.length > 0 ? clusterBlock(view.nodes) : []], true);
}
