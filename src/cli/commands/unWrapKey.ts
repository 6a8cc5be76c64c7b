// unWrapKey: imports a wrapped secret or private key from a file into the HSM as a new key (OBJ_ATTR_LOCAL = 0).
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { UsageError } from "../flagParser";
import { parseHandle, parseInteger, parseKeyType } from "../flagValues";
import { formatUnwrapKey } from "../format/wrapKey";
import { jsonNodes, jsonSteps } from "../jsonView";
import { readKeyFile } from "../keyFiles";
import { HASH_TYPES, listConstants, lookupConstant, WRAP_MECHANISMS } from "../mechanisms";
import { Outcome, success } from "../outcome";
import { readHeader, WrappedKeyInfo } from "../wrapHeader";
import { checkKeyOptions, NEW_KEY_FLAGS } from "./newKeyFlags";

const AES_GCM = 10;
const DEFAULT_WRAP_IV = "A6A6A6A6A6A6A6A6";
const KEY_CLASSES = [3, 4];
const KEY_TYPES = [0, 3, 16, 21, 31];

const HELP = helpText(
  "Unwraps a key from a file into the HSM as a new key with OBJ_ATTR_LOCAL = 0. A file written by kmu's wrapKey\n" +
    "carries the key's class, type, label and id in its header; for a key wrapped by another tool give\n" +
    "-noheader with -l, -kc and -kt.",
  [
    "unWrapKey -h",
    "unWrapKey -f <key-file-name> -w <wrapping-key-handle> -m <wrapping-mechanism>",
    "          [-sess] [-min_srv <minimum-number-of-HSMs>] [-timeout <number-of-seconds>]",
    "          [-aad <additional authenticated data filename>] [-tag_size <tag size>] [-iv_file <IV file>]",
    "          [-attest] [-t <hash-type>] [-nex] [-u <user id list>] [-m_value <number of users needed for approval>]",
    "          [-noheader] [-l <key-label>] [-id <key-id>] [-kt <key-type>] [-kc <key-class>] [-i <unwrapping-IV>]",
  ],
  [
    ["-f", "file holding the wrapped key (required)"],
    ["-w", "handle of the unwrapping key: AES (4, 5, 6, 10) or an RSA private key (7, 8) (required)"],
    ["-m", `mechanism the key was wrapped with: ${listConstants(WRAP_MECHANISMS)} (required)`],
    ["-noheader", "the file holds the wrapped key alone; then -l, -kc and -kt are required"],
    ["-l", "label of the new key (default with a header: the wrapped key's label)"],
    ["-kc", "key class: 3 = private, 4 = secret (required with -noheader)"],
    ["-kt", "key type: 0 = RSA, 3 = EC, 16 = generic secret, 21 = 3DES, 31 = AES (required with -noheader)"],
    ["-id", "key ID, unique in the cluster (default with a header: the wrapped key's id)"],
    ["-t", `hash of RSA_AES and RSA_OAEP: ${listConstants(HASH_TYPES)} (default SHA256)`],
    ["-aad", "file holding the additional authenticated data; AES_GCM (10) only"],
    ["-tag_size", "AES_GCM tag size: 16, the only one served"],
    ["-iv_file", "AES_GCM: accepted for compatibility; the IV travels at the start of kmu's blob"],
    ["-i", "IV for 4 and 5: only the default 0xA6A6A6A6A6A6A6A6"],
    ["-nex", "make the new key non-extractable"],
    ["-m_value", "0..8: accepted and ignored (the emulator has no quorum authentication)"],
    ["-sess", "session key: exists only in this login session (default: token key)"],
    ["-min_srv", "HSMs that must hold the key before it counts as created (default 1)"],
    ["-timeout", "seconds to wait for -min_srv; only together with -min_srv (default: wait)"],
    ["-u", "comma-separated crypto user ids to share the key with, e.g. 5,6 (never your own)"],
    ["-attest", "check the firmware attestation of the HSMs"],
  ],
);

export const unWrapKey = defineCommand({
  name: "unWrapKey",
  summary: "Unwraps a key from a file into the HSM",
  help: HELP,
  flags: {
    "-f": { kind: "value", required: true },
    "-w": { kind: "value", required: true },
    "-m": { kind: "value", required: true },
    "-noheader": { kind: "switch" },
    "-kc": { kind: "value" },
    "-kt": { kind: "value" },
    "-t": { kind: "value" },
    "-aad": { kind: "value" },
    "-tag_size": { kind: "value" },
    "-iv_file": { kind: "value" },
    "-i": { kind: "value" },
    "-nex": { kind: "switch" },
    "-m_value": { kind: "value" },
    // The shared key flags, with -l optional here: a header supplies the label.
    ...NEW_KEY_FLAGS,
    "-l": { kind: "value" },
  },
  needsLogin: true,
  check: (flags) => {
    const mechanismId = parseInteger("-m", flags.required("-m"), 0);
    const { mechanism } = lookupConstant("-m", flags.required("-m"), WRAP_MECHANISMS);
    const noHeader = flags.has("-noheader");
    if (noHeader && (flags.value("-l") === undefined || flags.value("-kc") === undefined || flags.value("-kt") === undefined)) {
      throw new UsageError("-noheader needs -l, -kc and -kt");
    }
    const iv = flags.value("-i");
    if (iv !== undefined && iv.replace(/^0x/i, "").toUpperCase() !== DEFAULT_WRAP_IV) throw new UsageError(`-i: only the default IV 0x${DEFAULT_WRAP_IV} is accepted, got "${iv}"`, false);
    const aadFile = flags.value("-aad");
    const tagSize = flags.value("-tag_size");
    if ((aadFile !== undefined || tagSize !== undefined) && mechanismId !== AES_GCM) throw new UsageError("-aad and -tag_size are valid only with -m 10 (AES_GCM)");
    if (tagSize !== undefined && parseInteger("-tag_size", tagSize, 8, 16) !== 16) throw new UsageError("-tag_size: the HSM makes 16-byte tags; 16 is the only value", false);
    const mValue = flags.value("-m_value");
    if (mValue !== undefined) parseInteger("-m_value", mValue, 0, 8);
    const hash = flags.value("-t");
    const keyClass = flags.value("-kc");
    const keyType = flags.value("-kt");
    return {
      file: flags.required("-f"),
      wrappingKey: parseHandle("-w", flags.required("-w")),
      mechanism,
      noHeader,
      label: flags.value("-l"),
      ...(keyClass !== undefined ? { keyClass: parseKeyType("-kc", keyClass, KEY_CLASSES) } : {}),
      ...(keyType !== undefined ? { keyType: parseKeyType("-kt", keyType, KEY_TYPES) } : {}),
      ...(hash !== undefined ? { oaepHash: lookupConstant("-t", hash, HASH_TYPES).hash } : {}),
      aadFile,
      nonExtractable: flags.has("-nex"),
      keyOptions: checkKeyOptions(flags),
    };
  },
  async run(params, ctx): Promise<Outcome> {
    const steps = params.noHeader ? ["Cfm3CreateUnwrapTemplate2", "Cfm2UnWrapWithTemplate3"] : ["Cfm3UnWrapKey"];
    try {
      const file = await readKeyFile("-f", params.file);
      // With a header, what the command line leaves out comes from the header.
      let info: Partial<WrappedKeyInfo> = {};
      let blob = file;
      if (!params.noHeader) ({ info, blob } = readHeader(file, params.file));
      const aad = params.aadFile === undefined ? undefined : await readKeyFile("-aad", params.aadFile);
      const id = params.keyOptions.id ?? info.id;
      const res = await ctx.client.unwrapKey(blob, {
        ...params.keyOptions,
        wrappingKey: params.wrappingKey,
        mechanism: params.mechanism,
        keyClass: params.keyClass ?? info.keyClass ?? 4,
        keyType: params.keyType ?? info.keyType ?? 31,
        label: params.label ?? info.label ?? "",
        ...(id ? { id } : {}),
        ...(aad ? { aad } : {}),
        ...(params.oaepHash !== undefined ? { oaepHash: params.oaepHash } : {}),
        nonExtractable: params.nonExtractable,
      });
      const text = formatUnwrapKey({
        steps,
        keyHandle: res.keyHandle,
        nodes: res.nodeStatuses,
        ...(res.attestation ? { attestationPassed: res.attestation.pass } : {}),
      });
      const data = { key_handle: res.keyHandle, steps: jsonSteps(res.steps), node_statuses: jsonNodes(res.nodeStatuses), revision: res.revision };
      if (res.attestation && !res.attestation.pass) {
        return { kind: "failure", text, errorCode: 1, reason: "ATTESTATION_FAILED", message: `attestation check failed for key ${res.keyHandle}: ${res.attestation.problems.join("; ")}`, data };
      }
      return success(text, data);
    } catch (err) {
      return toFailure(err, steps[steps.length - 1]!, ctx.address);
    }
  },
});
