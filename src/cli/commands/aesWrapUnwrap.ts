// aesWrapUnwrap: wraps (-m 1) or unwraps (-m 0) the contents of a host file with an AES key in the HSM.
import { writeFile } from "node:fs/promises";
import { defineCommand, helpText } from "../command";
import { LocalError, toFailure } from "../failures";
import { UsageError } from "../flagParser";
import { parseHandle } from "../flagValues";
import { formatAesWrapUnwrap } from "../format/aesWrapUnwrap";
import { readKeyFile, writeOutFile } from "../keyFiles";
import { Outcome, success } from "../outcome";

/** The file must hold less than 4 KB (documented). */
export const MAX_AES_WRAP_FILE_BYTES = 4095;

/** RFC 3394's default IV, the only one mechanism 4 allows explicitly. */
const DEFAULT_IV = "A6A6A6A6A6A6A6A6";

const HELP = helpText(
  "Wraps or unwraps the contents of a file (less than 4096 bytes) with an AES key in the HSM, using AES key\n" +
    "wrap with PKCS#5 padding, and writes the result to another file. Designed for key files; any content works.",
  ["aesWrapUnwrap -h", "aesWrapUnwrap -m <wrap-unwrap mode> -f <file-to-wrap-unwrap> -w <wrapping-key-handle>", "              [-i <wrapping-IV>] [-out <output-file>]"],
  [
    ["-m", "1 = wrap (encrypt) the file content, 0 = unwrap (decrypt) it (required)"],
    ["-f", "the file to wrap or unwrap, less than 4096 bytes; wrapping takes 8 to 4080 (required)"],
    ["-w", "handle of an AES key with OBJ_ATTR_WRAP (wrap) or OBJ_ATTR_UNWRAP (unwrap) = 1;\nkey 4 is an unsupported internal key (required)"],
    ["-i", "the IV in hex; only the default 0xA6A6A6A6A6A6A6A6 is accepted (default: that IV, with a warning)"],
    ["-out", "output file, overwritten without warning; left empty if the command fails\n(default: wrapped_key or unwrapped_key)"],
  ],
);

function parseMode(raw: string): "wrap" | "unwrap" {
  if (raw === "1") return "wrap";
  if (raw === "0") return "unwrap";
  throw new UsageError(`-m must be 1 (wrap) or 0 (unwrap), got "${raw}"`);
}

/** -i: the default IV, with or without 0x, in either case; any other IV cannot be honoured by mechanism 4. */
function checkIv(raw: string): void {
  if (raw.replace(/^0x/i, "").toUpperCase() !== DEFAULT_IV) {
    throw new UsageError(`-i: AES key wrap with PKCS#5 padding takes only the default IV 0x${DEFAULT_IV}, got "${raw}"`, false);
  }
}

/** The documented failure behaviour: the output file exists but is empty. Best effort: the failure itself is what is reported. */
async function leaveEmpty(path: string): Promise<void> {
  try {
    await writeFile(path, Buffer.alloc(0));
  } catch {
    // An unwritable -out is already part of the failure being reported, or will be on the next try.
  }
}

export const aesWrapUnwrap = defineCommand({
  name: "aesWrapUnwrap",
  summary: "Wraps or unwraps a file with an HSM AES key",
  help: HELP,
  flags: {
    "-m": { kind: "value", required: true },
    "-f": { kind: "value", required: true },
    "-w": { kind: "value", required: true },
    "-i": { kind: "value" },
    "-out": { kind: "value" },
  },
  needsLogin: true,
  check: (flags) => {
    const mode = parseMode(flags.required("-m"));
    const iv = flags.value("-i");
    if (iv !== undefined) checkIv(iv);
    return {
      mode,
      file: flags.required("-f"),
      wrappingKey: parseHandle("-w", flags.required("-w")),
      ivMissing: iv === undefined,
      outFile: flags.value("-out") ?? (mode === "wrap" ? "wrapped_key" : "unwrapped_key"),
    };
  },
  async run(params, ctx): Promise<Outcome> {
    let input: Buffer | undefined;
    let result: Buffer | undefined;
    try {
      input = await readKeyFile("-f", params.file);
      if (input.length > MAX_AES_WRAP_FILE_BYTES) {
        throw new LocalError(`-f file "${params.file}" has ${input.length} bytes; aesWrapUnwrap takes less than 4096`, "FILE_TOO_LARGE");
      }
      result =
        params.mode === "wrap"
          ? Buffer.from((await ctx.client.wrapHostKey(params.wrappingKey, input)).wrappedKey)
          : Buffer.from((await ctx.client.unwrapHostKey(params.wrappingKey, input)).keyMaterial);
      // An unwrap's result is plaintext key material: owner-only file mode, as exSymKey writes it.
      await writeOutFile("-out", params.outFile, result, params.mode === "unwrap");
      const text = formatAesWrapUnwrap({
        mode: params.mode,
        ivMissing: params.ivMissing,
        shown: params.mode === "wrap" ? result : undefined,
        resultLength: result.length,
        outFile: params.outFile,
      });
      return success(text, {
        mode: params.mode,
        wrapping_key_handle: params.wrappingKey,
        file: params.outFile,
        length: result.length,
        ...(params.mode === "wrap" ? { result_hex: result.toString("hex") } : {}),
      });
    } catch (err) {
      await leaveEmpty(params.outFile);
      return toFailure(err, params.mode === "wrap" ? "Cfm3WrapHostKey" : "Cfm3UnWrapHostKey", ctx.address);
    } finally {
      if (params.mode === "unwrap") result?.fill(0);
      else input?.fill(0);
    }
  },
});
