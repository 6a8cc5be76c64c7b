// verify: checks that a signature file was made over a message file by the private key of a public key in the HSM.
import { RETURN_CODES, returnCodeText } from "../../../common/returnCodes";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { parseHandle } from "../flagValues";
import { formatFailure } from "../format/failure";
import { formatVerified } from "../format/keyPairs";
import { readKeyFile } from "../keyFiles";
import { listConstants, lookupConstant, SIGN_MECHANISMS } from "../mechanisms";
import { Outcome, success } from "../outcome";
import { signInput } from "../signInput";

const HELP = helpText(
  "Checks whether a signature file was made over a message file by the private key of the given public key,\n" +
    "with the given mechanism. A signature that does not verify makes the command fail (exit status 1).",
  ["verify -h", "verify -f <message-file> -s <signature-file> -k <public-key-handle> -m <signature-mechanism>"],
  [
    ["-f", "the message file (required)"],
    ["-s", "the signature file (required)"],
    ["-k", "handle of the public key (required)"],
    ["-m", `signing mechanism: ${listConstants(SIGN_MECHANISMS)} (required)`],
  ],
);

export const verify = defineCommand({
  name: "verify",
  summary: "Verifies a file's signature with a public key",
  help: HELP,
  flags: {
    "-f": { kind: "value", required: true },
    "-s": { kind: "value", required: true },
    "-k": { kind: "value", required: true },
    "-m": { kind: "value", required: true },
  },
  needsLogin: true,
  check: (flags) => ({
    file: flags.required("-f"),
    signatureFile: flags.required("-s"),
    keyHandle: parseHandle("-k", flags.required("-k")),
    ...lookupConstant("-m", flags.required("-m"), SIGN_MECHANISMS),
  }),
  async run(params, ctx): Promise<Outcome> {
    try {
      const { input, prehashed } = signInput(await readKeyFile("-f", params.file), params.hash);
      const signature = await readKeyFile("-s", params.signatureFile);
      if (await ctx.client.verify(params.keyHandle, input, signature, { mechanism: params.mechanism, hash: params.hash, prehashed })) {
        return success(formatVerified(), { key_handle: params.keyHandle, mechanism: params.name, verified: true });
      }
      // The facade answers a signature that does not verify with false; its code is the daemon's SIGNATURE_INVALID.
      const code = RETURN_CODES.SIGNATURE_INVALID.code;
      return {
        kind: "failure",
        text: formatFailure({ step: "Cfm3Verify", code, text: returnCodeText(code) }),
        errorCode: code,
        reason: "SIGNATURE_INVALID",
        message: "the signature does not verify with this key, mechanism and file",
        data: { key_handle: params.keyHandle, mechanism: params.name, verified: false },
      };
    } catch (err) {
      return toFailure(err, "Cfm3Verify", ctx.address);
    }
  },
});
