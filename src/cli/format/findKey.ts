// Console output of findKey: the count, the matched-index line and handle list, then the cluster block BEFORE Cfm3FindKey.
import { clusterBlock, NodeLine, stepLine, transcript } from "./transcript";
import { returnCodeText } from "../../../common/returnCodes";

export interface FindKeyView {
  readonly total: number;
  readonly handles: readonly number[];
  readonly nodes: readonly NodeLine[];
}

/**
 * ` number of keys matched from start index 0::M` has a leading space and M = N - 1, the last index, as in
 * every consistent KMU example (13 -> 0::12, 1 -> 0::0). With no match only the count line is printed.
 */
export function formatFindKey(view: FindKeyView): string {
  const matched =
    view.total === 0 ? [] : [` number of keys matched from start index 0::${view.total - 1}`, view.handles.join(", ")];
  return transcript(
    [[`Total number of keys present ${view.total}`], matched, clusterBlock(view.nodes), [stepLine("Cfm3FindKey", 0, returnCodeText(0))]],
    false,
  );
}
