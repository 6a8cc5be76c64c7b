// sign: signs a file with a private key in the HSM and writes the signature to a file (ECDSA in DER, as openssl reads it).
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { parseHandle } from "../flagValues";
import { formatSign } from "../format/keyPairs";
import { readKeyFile, writeOutFile } from "../keyFiles";
import { listConstants, lookupConstant, SIGN_MECHANISMS } from "../mechanisms";
import { clusterNodeLines } from "../nodeStates";
import { jsonNodes } from "../jsonView";
import { success } from "../outcome";
import { signInput } from "../signInput";

const HELP = helpText(
  "Signs a file with a private key and writes the signature to a file: RSA signatures as the modulus-sized\n" +
    "block, ECDSA signatures in DER (what openssl dgst -verify reads). SHA-1 mechanisms are refused by the\n" +
    "FIPS policy (0xb3).",
  ["sign -h", "sign -f <file name> -k <private key handle> -m <signature mechanism> -out <signed file name>"],
  [
    ["-f", "the file to sign (required)"],
    ["-k", "handle of the private key (required)"],
    ["-m", `signing mechanism: ${listConstants(SIGN_MECHANISMS)} (required)`],
    ["-out", "file to write the signature to; overwritten without warning (required)"],
  ],
);

export const sign = defineCommand({
  name: "sign",
  summary: "Signs a file with a private key",
  help: HELP,
  flags: {
    "-f": { kind: "value", required: true },
    "-k": { kind: "value", required: true },
    "-m": { kind: "value", required: true },
    "-out": { kind: "value", required: true },
  },
  needsLogin: true,
  check: (flags) => ({
    file: flags.required("-f"),
    keyHandle: parseHandle("-k", flags.required("-k")),
    ...lookupConstant("-m", flags.required("-m"), SIGN_MECHANISMS),
    outFile: flags.required("-out"),
  }),
  async run(params, ctx) {
    try {
      const { input, prehashed } = signInput(await readKeyFile("-f", params.file), params.hash);
      const signature = await ctx.client.sign(params.keyHandle, input, { mechanism: params.mechanism, hash: params.hash, prehashed });
      await writeOutFile("-out", params.outFile, signature, false);
      const nodes = await clusterNodeLines(ctx.client);
      return success(formatSign(params.outFile, nodes), {
        key_handle: params.keyHandle,
        mechanism: params.name,
        file: params.outFile,
        signature_length: signature.length,
        node_statuses: jsonNodes(nodes, false),
      });
    } catch (err) {
      return toFailure(err, "Cfm3Sign", ctx.address);
    }
  },
});
