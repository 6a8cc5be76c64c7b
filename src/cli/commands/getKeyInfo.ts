// getKeyInfo: prints who owns a key and whom it is shared with.
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { parseHandle } from "../flagValues";
import { formatKeyInfo } from "../format/keyInfo";
import { jsonNodes } from "../jsonView";
import { success } from "../outcome";

const HELP = helpText(
  "Prints the owner of a key you own or that is shared with you, and the users it is shared with.",
  ["getKeyInfo -h", "getKeyInfo -k <key handle>"],
  [["-k", "handle of the key (required)"]],
);

export const getKeyInfo = defineCommand({
  name: "getKeyInfo",
  summary: "Prints a key's owner and the users it is shared with",
  help: HELP,
  flags: { "-k": { kind: "value", required: true } },
  needsLogin: true,
  check: (flags) => ({ keyHandle: parseHandle("-k", flags.required("-k")) }),
  async run(params, ctx) {
    try {
      const res = await ctx.client.getKeyInfo(params.keyHandle);
      return success(formatKeyInfo({ owner: res.ownerUserId, sharedWith: res.sharedWithUserIds }), {
        key_handle: params.keyHandle,
        owner_user_id: res.ownerUserId,
        shared_with_user_ids: res.sharedWithUserIds,
        node_statuses: jsonNodes(res.nodeStatuses),
      });
    } catch (err) {
      return toFailure(err, "Cfm3GetKey", ctx.address);
    }
  },
});
