// exSymKey: exports a plaintext copy of a symmetric key you own to a file (wrapped and unwrapped by the HSM, or by the host with -wk).
import { returnCodeText } from "../../../common/returnCodes";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { UsageError } from "../flagParser";
import { parseHandle, parseInteger } from "../flagValues";
import { StepLine } from "../format/keyCreation";
import { formatExSymKey } from "../format/exSymKey";
import { jsonSteps } from "../jsonView";
import { readAesKeyFile, writeOutFile } from "../keyFiles";
import { Outcome, success } from "../outcome";

const HELP = helpText(
  "Exports a plaintext copy of a symmetric key you own to a file. The HSM wraps the key with the wrapping\n" +
    "key (-w) and unwraps it again; with -wk the host unwraps it with the same key read from a file.\n" +
    'The message says "Wrapped Symmetric Key", but the file holds the plaintext key.',
  ["exSymKey -h", "exSymKey -k <key-to-export> -w <wrapping-key> -out <key-file>", "         [-m 4] [-wk <unwrapping-key-file>]"],
  [
    ["-k", "handle of the key to export; you must own it and it must be extractable (required)"],
    ["-w", "handle of an AES wrapping key (required)"],
    ["-out", "file to write the plaintext key to; overwritten without warning (required)"],
    ["-m", "wrapping mechanism: 4 (AES key wrap with PKCS#5 padding) is the only value"],
    ["-wk", "file holding the plaintext of the -w key: the key is unwrapped here, on the host"],
    ["-t", "hash type of older KMU versions: accepted and ignored"],
  ],
);

/** The steps of the export; with -wk only Cfm3WrapKey ran in the HSM. */
function successSteps(names: readonly string[]): StepLine[] {
  return names.map((name) => ({ name, returnCode: 0, description: returnCodeText(0) }));
}

export const exSymKey = defineCommand({
  name: "exSymKey",
  summary: "Exports a plaintext copy of a symmetric key to a file",
  help: HELP,
  flags: {
    "-k": { kind: "value", required: true },
    "-w": { kind: "value", required: true },
    "-out": { kind: "value", required: true },
    "-m": { kind: "value" },
    "-wk": { kind: "value" },
    "-t": { kind: "value" },
  },
  needsLogin: true,
  check: (flags) => {
    const mechanism = flags.value("-m");
    if (mechanism !== undefined && mechanism !== "4") throw new UsageError(`-m must be 4 (AES key wrap with PKCS#5 padding), got "${mechanism}"`);
    const hash = flags.value("-t");
    if (hash !== undefined) parseInteger("-t", hash, 0);
    return {
      keyHandle: parseHandle("-k", flags.required("-k")),
      wrappingKey: parseHandle("-w", flags.required("-w")),
      outFile: flags.required("-out"),
      wrappingKeyFile: flags.value("-wk"),
    };
  },
  async run(params, ctx): Promise<Outcome> {
    let hostKey: Buffer | undefined;
    let material: Buffer | undefined;
    let steps: StepLine[] = [];
    try {
      if (params.wrappingKeyFile !== undefined) {
        hostKey = await readAesKeyFile("-wk", params.wrappingKeyFile);
        const exported = await ctx.client.exportKey(params.keyHandle, params.wrappingKey, hostKey);
        material = exported.material;
        steps = successSteps(exported.steps);
      } else {
        // Two calls rather than exportKey, to print the steps exactly as the daemon reports them.
        const wrapped = await ctx.client.wrapKey(params.keyHandle, params.wrappingKey);
        steps = [...wrapped.steps];
        const plain = await ctx.client.unwrapHostKey(params.wrappingKey, Buffer.from(wrapped.wrappedKey));
        steps.push(...plain.steps);
        material = Buffer.from(plain.keyMaterial);
      }
      await writeOutFile("-out", params.outFile, material, true);
      return success(formatExSymKey(steps, params.outFile), {
        key_handle: params.keyHandle,
        wrapping_key_handle: params.wrappingKey,
        file: params.outFile,
        steps: jsonSteps(steps),
      });
    } catch (err) {
      // A -wk key that does not unwrap arrives as the client's UNWRAP_INTEGRITY_FAILED, naming its own step (0x110).
      return toFailure(err, steps.length === 0 ? "Cfm3WrapKey" : "Cfm3UnWrapHostKey", ctx.address);
    } finally {
      material?.fill(0);
      hostKey?.fill(0);
    }
  },
});
