// exportPrivateKey: writes a private key you own (and that is extractable) to a PEM file, wrapped and unwrapped on the way.
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { UsageError } from "../flagParser";
import { parseHandle } from "../flagValues";
import { formatExportPrivateKey } from "../format/keyPairs";
import { readAesKeyFile, writeOutFile } from "../keyFiles";
import { Outcome, success } from "../outcome";

const HELP = helpText(
  "Writes a private key you own to a file in PEM format (PKCS#8). The HSM wraps it with the AES wrapping key\n" +
    "(-w) and unwraps it again for the host; with -wk the host unwraps it with the same key read from a file.\n" +
    "Only keys with OBJ_ATTR_EXTRACTABLE = 1 can be exported. The file is written readable by you only.",
  ["exportPrivateKey -h", "exportPrivateKey -k <private-key-handle> -w <wrapping-key-handle> -out <key-file>", "                 [-m <wrapping-mechanism>] [-wk <wrapping-key-file>]"],
  [
    ["-k", "handle of the private key (required)"],
    ["-w", "handle of an AES wrapping key (required)"],
    ["-out", "file to write; overwritten without warning (required)"],
    ["-m", "wrapping mechanism: 4 (NIST_AES_WRAP, AES key wrap with PKCS#5 padding), the only value"],
    ["-wk", "file holding the plaintext of the -w key: the key is unwrapped here, on the host"],
  ],
);

export const exportPrivateKey = defineCommand({
  name: "exportPrivateKey",
  summary: "Writes a private key to a PEM file",
  help: HELP,
  flags: {
    "-k": { kind: "value", required: true },
    "-w": { kind: "value", required: true },
    "-out": { kind: "value", required: true },
    "-m": { kind: "value" },
    "-wk": { kind: "value" },
  },
  needsLogin: true,
  check: (flags) => {
    const mechanism = flags.value("-m");
    if (mechanism !== undefined && mechanism !== "4") throw new UsageError(`-m must be 4 (NIST_AES_WRAP), got "${mechanism}"`);
    return { keyHandle: parseHandle("-k", flags.required("-k")), wrappingKey: parseHandle("-w", flags.required("-w")), outFile: flags.required("-out"), wrappingKeyFile: flags.value("-wk") };
  },
  async run(params, ctx): Promise<Outcome> {
    let hostKey: Buffer | undefined;
    try {
      hostKey = params.wrappingKeyFile === undefined ? undefined : await readAesKeyFile("-wk", params.wrappingKeyFile);
      const key = await ctx.client.exportPrivateKey(params.keyHandle, params.wrappingKey, hostKey);
      await writeOutFile("-out", params.outFile, key.export({ format: "pem", type: "pkcs8" }).toString(), true);
      const steps = hostKey ? ["Cfm3WrapKey"] : ["Cfm3WrapKey", "Cfm3UnWrapHostKey"];
      return success(formatExportPrivateKey(steps, params.outFile), { key_handle: params.keyHandle, wrapping_key_handle: params.wrappingKey, file: params.outFile, steps });
    } catch (err) {
      return toFailure(err, "Cfm3WrapKey", ctx.address);
    } finally {
      hostKey?.fill(0);
    }
  },
});
