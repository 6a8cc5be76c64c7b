// deleteKey: deletes a key you own from every HSM of the cluster.
import { HsmClientError } from "../../../clients/errors";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { parseHandle } from "../flagValues";
import { formatStatusAndCluster } from "../format/statusAndCluster";
import { jsonNodes } from "../jsonView";
import { success } from "../outcome";

const HELP = helpText(
  "Deletes a key from the HSMs. Only the key's owner can delete it.",
  ["deleteKey -h", "deleteKey -k <key handle>"],
  [["-k", "handle of the key to delete (required)"]],
);

export const deleteKey = defineCommand({
  name: "deleteKey",
  summary: "Deletes a key",
  help: HELP,
  flags: { "-k": { kind: "value", required: true } },
  needsLogin: true,
  check: (flags) => ({ keyHandle: parseHandle("-k", flags.required("-k")) }),
  async run(params, ctx) {
    try {
      const res = await ctx.client.deleteKey(params.keyHandle);
      return success(formatStatusAndCluster("Cfm3DeleteKey", res.nodeStatuses), {
        key_handle: params.keyHandle,
        node_statuses: jsonNodes(res.nodeStatuses),
        revision: res.revision,
      });
    } catch (err) {
      // As documented: a handle that does not resolve fails in Cfm3FindKey, a refusal in Cfm3DeleteKey.
      const step = err instanceof HsmClientError && err.reason === "KEY_NOT_FOUND" ? "Cfm3FindKey" : "Cfm3DeleteKey";
      return toFailure(err, step, ctx.address);
    }
  },
});
