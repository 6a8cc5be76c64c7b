// getPartitionInfo: describes the cluster's partition: its name, key limit and counts of keys, users and sessions.
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { formatPartitionInfo } from "../format/infoBlocks";
import { success } from "../outcome";

const HELP = helpText(
  "Describes the partition: its name, FIPS state, the most keys it holds, and how many token keys,\n" +
    "session keys, users and open sessions it has.",
  ["getPartitionInfo -h", "getPartitionInfo"],
  [],
);

export const getPartitionInfo = defineCommand({
  name: "getPartitionInfo",
  summary: "Describes the partition",
  help: HELP,
  flags: {},
  needsLogin: true,
  check: () => ({}),
  async run(_params, ctx) {
    try {
      const { partition } = await ctx.client.hsmInfo();
      const p = partition ?? { name: "", maxKeys: 0, tokenKeys: 0, sessionKeys: 0, users: 0, sessions: 0 };
      return success(formatPartitionInfo(p), {
        name: p.name,
        max_keys: p.maxKeys,
        token_keys: p.tokenKeys,
        session_keys: p.sessionKeys,
        users: p.users,
        sessions: p.sessions,
      });
    } catch (err) {
      return toFailure(err, "Cfm3GetPartitionInfo", ctx.address);
    }
  },
});
