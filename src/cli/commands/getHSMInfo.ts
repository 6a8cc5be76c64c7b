// getHSMInfo: describes each HSM of the cluster: model, serial number, FIPS state, firmware, state and keys held.
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { formatHsmInfo } from "../format/infoBlocks";
import { success } from "../outcome";

const HELP = helpText(
  "Describes each HSM of the cluster: model, serial number, FIPS state, firmware version, whether it\n" +
    "answers, and how many keys it holds. The emulator's values are fixed per node id (see the README).",
  ["getHSMInfo -h", "getHSMInfo"],
  [],
);

export const getHSMInfo = defineCommand({
  name: "getHSMInfo",
  summary: "Describes each HSM",
  help: HELP,
  flags: {},
  needsLogin: true,
  check: () => ({}),
  async run(_params, ctx) {
    try {
      const { hsms } = await ctx.client.hsmInfo();
      return success(formatHsmInfo(hsms), {
        hsms: hsms.map((h) => ({
          node_id: h.nodeId,
          model: h.model,
          serial_number: h.serialNumber,
          firmware_version: h.firmwareVersion,
          available: h.available,
          fips_mode: h.fipsMode,
          keys_held: h.keysHeld,
        })),
      });
    } catch (err) {
      return toFailure(err, "Cfm3GetHSMInfo", ctx.address);
    }
  },
});
