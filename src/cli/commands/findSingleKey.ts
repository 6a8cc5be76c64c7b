// findSingleKey: checks that a key is present on every HSM of the cluster, one node line each.
import { NodeStatus } from "../../../clients/generated/localcloudhsm/v1/common";
import { RETURN_CODES } from "../../../common/returnCodes";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { parseHandle } from "../flagValues";
import { formatStatusAndCluster } from "../format/statusAndCluster";
import { jsonNodes } from "../jsonView";
import { Outcome, success } from "../outcome";

const HELP = helpText(
  "Checks that a key exists on all HSMs in the cluster (one line per HSM; a session key lives on one).",
  ["findSingleKey -h", "findSingleKey -k <key handle>"],
  [["-k", "handle of the key (required)"]],
);

/** A node that answers but does not hold the key reports it as an invalid object handle there (0xa8). */
export function presenceNodes(nodes: readonly NodeStatus[]): NodeStatus[] {
  return nodes.map((n) =>
    n.errState === 0 && !n.holdsKey ? { ...n, errState: RETURN_CODES.INVALID_OBJECT_HANDLE.code, description: RETURN_CODES.INVALID_OBJECT_HANDLE.text } : n,
  );
}

export const findSingleKey = defineCommand({
  name: "findSingleKey",
  summary: "Checks that a key exists on all HSMs",
  help: HELP,
  flags: { "-k": { kind: "value", required: true } },
  needsLogin: true,
  check: (flags) => ({ keyHandle: parseHandle("-k", flags.required("-k")) }),
  async run(params, ctx): Promise<Outcome> {
    try {
      const res = await ctx.client.getKeyInfo(params.keyHandle);
      const nodes = presenceNodes(res.nodeStatuses);
      const missing = nodes.find((n) => n.errState !== 0);
      const data = { key_handle: params.keyHandle, node_statuses: jsonNodes(nodes) };
      if (!missing) return success(formatStatusAndCluster("Cfm3FindKey", nodes), data);
      const held = nodes.filter((n) => n.errState === 0).length;
      return {
        kind: "failure",
        text: formatStatusAndCluster("Cfm3FindKey", nodes, missing.errState, missing.description),
        errorCode: missing.errState,
        reason: "KEY_NOT_ON_ALL_NODES",
        message: `key ${params.keyHandle} is on ${held} of ${nodes.length} HSMs`,
        data,
      };
    } catch (err) {
      return toFailure(err, "Cfm3FindKey", ctx.address);
    }
  },
});
