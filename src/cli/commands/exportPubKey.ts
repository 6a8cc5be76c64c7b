// exportPubKey: writes a public key from the HSM to a file in PEM (SubjectPublicKeyInfo).
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { parseHandle } from "../flagValues";
import { formatExportPubKey } from "../format/keyPairs";
import { writeOutFile } from "../keyFiles";
import { success } from "../outcome";

const HELP = helpText(
  "Writes a public key to a file in PEM format (SubjectPublicKeyInfo, as openssl reads it). The key stays in the HSM.",
  ["exportPubKey -h", "exportPubKey -k <public-key-handle> -out <key-file>"],
  [
    ["-k", "handle of the public key (required)"],
    ["-out", "file to write; overwritten without warning (required)"],
  ],
);

export const exportPubKey = defineCommand({
  name: "exportPubKey",
  summary: "Writes a public key to a PEM file",
  help: HELP,
  flags: { "-k": { kind: "value", required: true }, "-out": { kind: "value", required: true } },
  needsLogin: true,
  check: (flags) => ({ keyHandle: parseHandle("-k", flags.required("-k")), outFile: flags.required("-out") }),
  async run(params, ctx) {
    try {
      const key = await ctx.client.exportPublicKey(params.keyHandle);
      const pem = key.export({ format: "pem", type: "spki" }).toString();
      await writeOutFile("-out", params.outFile, pem, false);
      return success(formatExportPubKey(params.outFile), { key_handle: params.keyHandle, file: params.outFile, pem });
    } catch (err) {
      return toFailure(err, "Cfm3ExportPubKey", ctx.address);
    }
  },
});
