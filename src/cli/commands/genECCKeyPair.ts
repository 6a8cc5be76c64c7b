// genECCKeyPair: generates an elliptic-curve key pair in the HSM on one of the documented curves and prints both handles.
import { KEY_TYPE } from "../../../clients/hsmClient";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { EC_CURVES, listConstants, lookupConstant } from "../mechanisms";
import { checkKeyPairFlags, KEY_PAIR_FLAGS, KEY_PAIR_HELP_ROWS, keyPairOutcome } from "./keyPairFlags";

const HELP = helpText(
  "Generates an elliptic-curve (ECC) key pair in the HSMs on the curve -i names.",
  [
    "genECCKeyPair -h",
    "genECCKeyPair -i <EC curve id> -l <label>",
    "              [-id <key ID>] [-min_srv <minimum number of servers>] [-m_value <0..8>]",
    "              [-nex] [-sess] [-timeout <number of seconds>] [-u <user-ids>] [-attest]",
  ],
  [["-i", `curve: ${listConstants(EC_CURVES)} (required)`], ...KEY_PAIR_HELP_ROWS],
);

export const genECCKeyPair = defineCommand({
  name: "genECCKeyPair",
  summary: "Generates an ECC key pair in the HSM",
  help: HELP,
  flags: { "-i": { kind: "value", required: true }, ...KEY_PAIR_FLAGS },
  needsLogin: true,
  check: (flags) => ({ curve: lookupConstant("-i", flags.required("-i"), EC_CURVES).curve, ...checkKeyPairFlags(flags) }),
  async run(params, ctx) {
    try {
      return keyPairOutcome(await ctx.client.generateKeyPair({ ...params, keyType: KEY_TYPE.EC }));
    } catch (err) {
      return toFailure(err, "Cfm3GenerateKeyPair", ctx.address);
    }
  },
});
