// pinAttestationKeys (kmu addition): saves the cluster's attestation keys to a file for --attestation-keys.
import { savePinnedKeys } from "../../../clients/attestation";
import { defineCommand, helpText } from "../command";
import { LocalError, toFailure } from "../failures";
import { success } from "../outcome";

const HELP = helpText(
  "Writes the HSMs' attestation public keys and expected firmware measurement to a file (kmu addition).\n" +
    "Later runs given --attestation-keys <file> verify -attest against these keys instead of asking the daemon,\n" +
    "like pinning a customer CA.",
  ["pinAttestationKeys -h", "pinAttestationKeys -out <file>"],
  [["-out", "file to write (JSON); overwritten (required)"]],
);

export const pinAttestationKeys = defineCommand({
  name: "pinAttestationKeys",
  summary: "Saves the attestation keys to a file (kmu addition)",
  help: HELP,
  flags: { "-out": { kind: "value", required: true } },
  needsLogin: true,
  check: (flags) => ({ outFile: flags.required("-out") }),
  async run({ outFile }, ctx) {
    try {
      const keys = await ctx.client.attestationKeys();
      try {
        savePinnedKeys(outFile, keys);
      } catch (err) {
        throw new LocalError(`cannot write -out file "${outFile}": ${(err as Error).message}`, "FILE_UNWRITABLE");
      }
      return success(`Attestation keys of ${keys.length} HSMs written to file "${outFile}"\n`, { file: outFile, node_count: keys.length });
    } catch (err) {
      return toFailure(err, "Cfm3GetAttestationKeys", ctx.address);
    }
  },
});
