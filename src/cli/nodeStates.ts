// The "Cluster Error Status" lines of commands whose RPC reports no per-node result (sign): each node's state from GetHsmInfo.
import { RETURN_CODES, returnCodeText } from "../../common/returnCodes";
import { KmuClient } from "../../clients/kmuClient";
import { NodeLine } from "./format/transcript";

/** 0x00000000 for a node that answers, 0x30000085 (server in cluster unavailable) for one that is down. */
export async function clusterNodeLines(client: KmuClient): Promise<NodeLine[]> {
  const { hsms } = await client.hsmInfo();
  return hsms.map((h) => {
    const errState = h.available ? RETURN_CODES.SUCCESS.code : RETURN_CODES.SERVER_UNAVAILABLE.code;
    return { nodeId: h.nodeId, errState, description: returnCodeText(errState) };
  });
}
