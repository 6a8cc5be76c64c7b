// Console output of commands that print one status line and the cluster block: loginHSM, logoutHSM, setAttribute, deleteKey, findSingleKey.
import { returnCodeText } from "../../../common/returnCodes";
import { clusterBlock, NodeLine, stepLine, transcript } from "./transcript";

/** `Cfm3<Op> returned: ...`, a blank line, then `Cluster Error Status` and a line per node. */
export function formatStatusAndCluster(step: string, nodes: readonly NodeLine[], code = 0, description = returnCodeText(code)): string {
  return transcript([[stepLine(step, code, description)], clusterBlock(nodes)], true);
}
