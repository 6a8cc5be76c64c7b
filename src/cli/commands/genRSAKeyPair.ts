// genRSAKeyPair: generates an RSA key pair in the HSM and prints both handles.
import { KEY_TYPE } from "../../../clients/hsmClient";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { parseInteger } from "../flagValues";
import { checkKeyPairFlags, KEY_PAIR_FLAGS, KEY_PAIR_HELP_ROWS, keyPairOutcome } from "./keyPairFlags";

const HELP = helpText(
  "Generates an RSA key pair in the HSMs. The emulator makes 2048-, 3072- and 4096-bit moduli with the public\n" +
    "exponent 65537; other values are sent and refused by the HSM.",
  [
    "genRSAKeyPair -h",
    "genRSAKeyPair -m <modulus length> -e <public exponent> -l <label>",
    "              [-id <key ID>] [-min_srv <minimum number of servers>] [-m_value <0..8>]",
    "              [-nex] [-sess] [-timeout <number of seconds>] [-u <user-ids>] [-attest]",
  ],
  [["-m", "modulus length in bits: 2048, 3072 or 4096 (required)"], ["-e", "public exponent: 65537 (required)"], ...KEY_PAIR_HELP_ROWS],
);

export const genRSAKeyPair = defineCommand({
  name: "genRSAKeyPair",
  summary: "Generates an RSA key pair in the HSM",
  help: HELP,
  flags: { "-m": { kind: "value", required: true }, "-e": { kind: "value", required: true }, ...KEY_PAIR_FLAGS },
  needsLogin: true,
  check: (flags) => ({
    modulusBits: parseInteger("-m", flags.required("-m"), 1),
    publicExponent: parseInteger("-e", flags.required("-e"), 1),
    ...checkKeyPairFlags(flags),
  }),
  async run(params, ctx) {
    try {
      return keyPairOutcome(await ctx.client.generateKeyPair({ ...params, keyType: KEY_TYPE.RSA }));
    } catch (err) {
      return toFailure(err, "Cfm3GenerateKeyPair", ctx.address);
    }
  },
});
