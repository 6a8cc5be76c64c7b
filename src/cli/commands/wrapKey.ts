// wrapKey: writes an encrypted copy of a secret or private key you own to a file, with one of the wrap mechanisms.
import { AttributeValue } from "../../../clients/generated/localcloudhsm/v1/hsm_service";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { UsageError } from "../flagParser";
import { parseHandle, parseInteger } from "../flagValues";
import { formatWrapKey } from "../format/wrapKey";
import { readKeyFile, writeOutFile } from "../keyFiles";
import { HASH_TYPES, listConstants, lookupConstant, WRAP_MECHANISMS } from "../mechanisms";
import { success } from "../outcome";
import { withHeader } from "../wrapHeader";

const AES_GCM = 10;
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
/** The IV AES key wrap (mechanisms 4 and 5) uses; -i may name it, no other. */
const DEFAULT_WRAP_IV = "A6A6A6A6A6A6A6A6";

const HELP = helpText(
  "Wraps (encrypts) a secret or private key you own with a wrapping key in the HSM and writes it to a file.\n" +
    "The key must be extractable. Without -noheader the file starts with kmu's own header (the key's class,\n" +
    "type, label and id) so that unWrapKey can rebuild the key; -noheader writes the wrapped key alone.",
  [
    "wrapKey -h",
    "wrapKey -k <exported-key-handle> -w <wrapping-key-handle> -out <output-file> -m <wrapping-mechanism>",
    "        [-aad <additional authenticated data filename>] [-t <hash-type>] [-noheader]",
    "        [-i <wrapping IV>] [-iv_file <IV file>] [-tag_size <num_tag_bytes>]",
  ],
  [
    ["-k", "handle of the key to wrap; you must own it (required)"],
    ["-w", "handle of the wrapping key: AES (4, 5, 6, 10) or an RSA public key (7, 8) (required)"],
    ["-out", "file to write; overwritten without warning (required)"],
    ["-m", `wrapping mechanism: ${listConstants(WRAP_MECHANISMS)} (required)`],
    ["-aad", "file holding additional authenticated data; AES_GCM (10) only"],
    ["-t", `hash of RSA_AES and RSA_OAEP: ${listConstants(HASH_TYPES)} (default SHA256)`],
    ["-noheader", "write the wrapped key without kmu's header, for tools other than kmu"],
    ["-i", "IV in hex for 4 and 5 with -noheader: only the default 0xA6A6A6A6A6A6A6A6"],
    ["-iv_file", "AES_GCM with -noheader: also write the HSM's 12-byte IV to this file"],
    ["-tag_size", "AES_GCM tag size in bytes: 16 is the only value served"],
  ],
);

function uintOf(attributes: readonly AttributeValue[], id: number): number {
  const value = attributes.find((a) => a.attributeId === id)?.value;
  return value?.$case === "uintValue" ? value.value : 0;
}

function textOf(attributes: readonly AttributeValue[], id: number): string {
  const value = attributes.find((a) => a.attributeId === id)?.value;
  return value?.$case === "stringValue" ? value.value : "";
}

export const wrapKey = defineCommand({
  name: "wrapKey",
  summary: "Wraps a key to a file",
  help: HELP,
  flags: {
    "-k": { kind: "value", required: true },
    "-w": { kind: "value", required: true },
    "-out": { kind: "value", required: true },
    "-m": { kind: "value", required: true },
    "-aad": { kind: "value" },
    "-t": { kind: "value" },
    "-noheader": { kind: "switch" },
    "-i": { kind: "value" },
    "-iv_file": { kind: "value" },
    "-tag_size": { kind: "value" },
  },
  needsLogin: true,
  check: (flags) => {
    const mechanismId = parseInteger("-m", flags.required("-m"), 0);
    const { mechanism } = lookupConstant("-m", flags.required("-m"), WRAP_MECHANISMS);
    const noHeader = flags.has("-noheader");
    const iv = flags.value("-i");
    if (iv !== undefined) {
      if (!noHeader || (mechanismId !== 4 && mechanismId !== 5)) throw new UsageError("-i is valid only with -noheader and -m 4 or 5");
      if (iv.replace(/^0x/i, "").toUpperCase() !== DEFAULT_WRAP_IV) throw new UsageError(`-i: only the default IV 0x${DEFAULT_WRAP_IV} is accepted, got "${iv}"`, false);
    }
    const aadFile = flags.value("-aad");
    const ivFile = flags.value("-iv_file");
    const tagSize = flags.value("-tag_size");
    if ((aadFile !== undefined || tagSize !== undefined) && mechanismId !== AES_GCM) throw new UsageError("-aad and -tag_size are valid only with -m 10 (AES_GCM)");
    if (ivFile !== undefined && (mechanismId !== AES_GCM || !noHeader)) throw new UsageError("-iv_file is valid only with -noheader and -m 10 (AES_GCM)");
    if (tagSize !== undefined && parseInteger("-tag_size", tagSize, 8, 16) !== GCM_TAG_BYTES) throw new UsageError("-tag_size: the HSM makes 16-byte tags; 16 is the only value", false);
    const hash = flags.value("-t");
    return {
      keyHandle: parseHandle("-k", flags.required("-k")),
      wrappingKey: parseHandle("-w", flags.required("-w")),
      outFile: flags.required("-out"),
      mechanism,
      ...(hash !== undefined ? { oaepHash: lookupConstant("-t", hash, HASH_TYPES).hash } : {}),
      aadFile,
      ivFile,
      noHeader,
    };
  },
  async run(params, ctx) {
    try {
      const aad = params.aadFile === undefined ? undefined : await readKeyFile("-aad", params.aadFile);
      const res = await ctx.client.wrapKey(params.keyHandle, params.wrappingKey, {
        mechanism: params.mechanism,
        ...(aad ? { aad } : {}),
        ...(params.oaepHash !== undefined ? { oaepHash: params.oaepHash } : {}),
      });
      const blob = Buffer.from(res.wrappedKey);
      let file: Buffer = blob;
      if (!params.noHeader) {
        const { attributes } = await ctx.client.getAttribute(params.keyHandle, 512);
        file = withHeader({ keyClass: uintOf(attributes, 0), keyType: uintOf(attributes, 256), label: textOf(attributes, 3), id: textOf(attributes, 258) }, blob);
      }
      await writeOutFile("-out", params.outFile, file, false);
      if (params.ivFile !== undefined) await writeOutFile("-iv_file", params.ivFile, blob.subarray(0, GCM_IV_BYTES), false);
      return success(formatWrapKey(params.outFile, file.length), {
        key_handle: params.keyHandle,
        wrapping_key_handle: params.wrappingKey,
        file: params.outFile,
        length: file.length,
        header: !params.noHeader,
      });
    } catch (err) {
      return toFailure(err, "Cfm2WrapKey", ctx.address);
    }
  },
});
