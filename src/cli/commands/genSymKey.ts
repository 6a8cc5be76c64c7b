// genSymKey: generates an AES, 3DES or generic secret key inside the HSM (the usual way to make a wrapping key).
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { parseInteger, parseKeyType } from "../flagValues";
import { checkNewKeyFlags, keyCreationOutcome, NEW_KEY_FLAGS } from "./newKeyFlags";

const HELP = helpText(
  "Generates a symmetric key in the HSMs and prints its handle.",
  [
    "genSymKey -h",
    "genSymKey -t <key-type> -s <key-size> -l <label>",
    "          [-id <key-ID>] [-min_srv <minimum-number-of-servers>] [-m_value <0..8>]",
    "          [-nex] [-sess] [-timeout <number-of-seconds>] [-u <user-ids>] [-attest]",
  ],
  [
    ["-t", "key type: 16 = generic secret, 18 = RC4 (refused: FIPS), 21 = 3DES, 31 = AES (required)"],
    ["-s", "key size in bytes: AES 16, 24 or 32; 3DES 24; generic secret below 3584 (required)"],
    ["-l", "label; need not be unique (required)"],
    ["-id", "key ID, unique in the cluster (default: empty)"],
    ["-min_srv", "HSMs that must hold the key before it counts as created (default 1)"],
    ["-m_value", "0..8: accepted and ignored (the emulator has no quorum authentication)"],
    ["-nex", "make the key non-extractable"],
    ["-sess", "session key: exists only in this login session (default: token key)"],
    ["-timeout", "seconds to wait for -min_srv; only together with -min_srv (default: wait)"],
    ["-u", "comma-separated crypto user ids to share the key with, e.g. 5,6 (never your own)"],
    ["-attest", "check the firmware attestation of the HSMs"],
  ],
);

export const genSymKey = defineCommand({
  name: "genSymKey",
  summary: "Generates a symmetric key in the HSM",
  help: HELP,
  flags: {
    "-t": { kind: "value", required: true },
    "-s": { kind: "value", required: true },
    "-m_value": { kind: "value" },
    "-nex": { kind: "switch" },
    ...NEW_KEY_FLAGS,
  },
  needsLogin: true,
  check: (flags) => {
    const mValue = flags.value("-m_value");
    // Checked for its documented range so a script that uses it stays valid against real KMU; then ignored.
    if (mValue !== undefined) parseInteger("-m_value", mValue, 0, 8);
    return {
      keyType: parseKeyType("-t", flags.required("-t"), [16, 18, 21, 31]),
      keySize: parseInteger("-s", flags.required("-s"), 1),
      nonExtractable: flags.has("-nex"),
      ...checkNewKeyFlags(flags),
    };
  },
  async run(params, ctx) {
    try {
      return keyCreationOutcome("Created", await ctx.client.genSymKey(params));
    } catch (err) {
      return toFailure(err, "Cfm3GenerateSymmetricKey", ctx.address);
    }
  },
});
