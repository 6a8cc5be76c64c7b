// imSymKey: imports a plaintext AES or 3DES key from a file through an HSM wrapping key (or a host-side -wk wrap).
import { HsmClientError } from "../../../clients/errors";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { parseHandle, parseKeyType, KEY_TYPE_CONSTANTS } from "../flagValues";
import { readAesKeyFile, readKeyFile } from "../keyFiles";
import { checkNewKeyFlags, keyCreationOutcome, NEW_KEY_FLAGS } from "./newKeyFlags";

const HELP = helpText(
  "Imports a plaintext symmetric key from a file into the HSM. The key is wrapped with the wrapping key (-w)\n" +
    "and unwrapped inside the HSM into a new key object with OBJ_ATTR_LOCAL = 0.",
  [
    "imSymKey -h",
    "imSymKey -f <key-file> -w <wrapping-key-handle> -t <key-type> -l <label>",
    "         [-id <key-ID>] [-sess] [-wk <wrapping-key-file>] [-attest]",
    "         [-min_srv <minimum-number-of-servers>] [-timeout <number-of-seconds>]",
    "         [-u <user-ids>]",
  ],
  [
    ["-f", "file holding the plaintext key: AES 16, 24 or 32 bytes; 3DES 24 bytes (required)"],
    ["-w", "handle of an AES wrapping key with OBJ_ATTR_WRAP = 1; key 4 is an unsupported internal key (required)"],
    ["-t", "key type: 21 = 3DES, 31 = AES (required)"],
    ["-l", "label; need not be unique (required)"],
    ["-id", "key ID, unique in the cluster (default: empty)"],
    ["-sess", "session key: exists only in this login session (default: token key)"],
    ["-wk", "file holding the plaintext of the -w key: the key is wrapped here, on the host"],
    ["-attest", "check the firmware attestation of the HSMs"],
    ["-min_srv", "HSMs that must hold the key before it counts as created (default 1)"],
    ["-timeout", "seconds to wait for -min_srv; only together with -min_srv (default: wait)"],
    ["-u", "comma-separated crypto user ids to share the key with, e.g. 5,6 (never your own)"],
  ],
);

/** Refusals about the new key's template (label, id, sharing) belong to Cfm3CreateUnwrapTemplate. */
const TEMPLATE_REASONS = ["LABEL_INVALID", "ID_INVALID", "ID_ALREADY_EXISTS", "SHARE_WITH_SELF", "SHARE_USER_UNKNOWN"];

/**
 * The step a failure without a "step" in its metadata belongs to. A key that was unwrapped but did not reach
 * -min_srv HSMs failed in Cfm3UnWrapKey, the step that creates and replicates it; otherwise the first HSM
 * step that uses -w: Cfm3WrapHostKey, or Cfm3UnWrapKey when the host wrapped (-wk).
 */
export function imSymKeyFailureStep(err: unknown, hostWrapped: boolean): string {
  const reason = err instanceof HsmClientError ? err.reason : "";
  if (reason === "MIN_SRV_UNMET") return "Cfm3UnWrapKey";
  if (TEMPLATE_REASONS.includes(reason)) return "Cfm3CreateUnwrapTemplate";
  return hostWrapped ? "Cfm3UnWrapKey" : "Cfm3WrapHostKey";
}

export const imSymKey = defineCommand({
  name: "imSymKey",
  summary: "Imports a plaintext symmetric key from a file",
  help: HELP,
  flags: {
    "-f": { kind: "value", required: true },
    "-w": { kind: "value", required: true },
    "-t": { kind: "value", required: true },
    "-wk": { kind: "value" },
    ...NEW_KEY_FLAGS,
  },
  needsLogin: true,
  check: (flags) => ({
    file: flags.required("-f"),
    wrappingKey: parseHandle("-w", flags.required("-w")),
    // Any documented type constant is sent: the HSM answers 16 or 18 with its own code (e.g. 0xb3 for RC4).
    keyType: parseKeyType("-t", flags.required("-t"), KEY_TYPE_CONSTANTS),
    wrappingKeyFile: flags.value("-wk"),
    ...checkNewKeyFlags(flags),
  }),
  async run(params, ctx) {
    const { file, wrappingKeyFile, ...options } = params;
    let hostWrappingKey: Buffer | undefined;
    let material: Buffer | undefined;
    try {
      hostWrappingKey = wrappingKeyFile === undefined ? undefined : await readAesKeyFile("-wk", wrappingKeyFile);
      material = await readKeyFile("-f", file);
      const res = await ctx.client.importSymKey(material, { ...options, ...(hostWrappingKey ? { hostWrappingKey } : {}) });
      return keyCreationOutcome("Unwrapped", res);
    } catch (err) {
      return toFailure(err, imSymKeyFailureStep(err, hostWrappingKey !== undefined), ctx.address);
    } finally {
      material?.fill(0);
      hostWrappingKey?.fill(0);
    }
  },
});
