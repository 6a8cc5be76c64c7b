// importPrivateKey: imports a PEM private key (RSA or EC) from a file through an HSM AES wrapping key (or a host-side -wk wrap).
import { createPrivateKey, KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { defineCommand, helpText } from "../command";
import { LocalError, toFailure } from "../failures";
import { parseHandle, parseInteger } from "../flagValues";
import { formatImportPrivateKey } from "../format/keyPairs";
import { jsonNodes, jsonSteps } from "../jsonView";
import { readAesKeyFile } from "../keyFiles";
import { Outcome, success } from "../outcome";
import { checkNewKeyFlags, NEW_KEY_FLAGS } from "./newKeyFlags";

const HELP = helpText(
  "Imports a private key in PEM format (PKCS#8, or PKCS#1 for RSA and SEC1 for EC; not password-protected)\n" +
    "into the HSMs. The key is wrapped with the AES wrapping key (-w) and unwrapped inside the HSM, so it\n" +
    "travels wrapped; with -wk it is wrapped here, on the host. The new key has OBJ_ATTR_LOCAL = 0.",
  [
    "importPrivateKey -h",
    "importPrivateKey -l <label> -f <key-file> -w <wrapping-key-handle>",
    "                 [-sess] [-id <key-id>] [-m_value <0...8>] [-min_srv <minimum-number-of-servers>]",
    "                 [-timeout <number-of-seconds>] [-u <user-ids>] [-wk <wrapping-key-file>] [-attest]",
  ],
  [
    ["-l", "label; need not be unique (required)"],
    ["-f", "the PEM file (required)"],
    ["-w", "handle of an AES wrapping key with OBJ_ATTR_WRAP and OBJ_ATTR_UNWRAP = 1 (required)"],
    ["-sess", "session key: exists only in this login session (default: token key)"],
    ["-id", "key ID, unique in the cluster (default: empty)"],
    ["-m_value", "0..8: accepted and ignored (the emulator has no quorum authentication)"],
    ["-min_srv", "HSMs that must hold the key before it counts as created (default 1)"],
    ["-timeout", "seconds to wait for -min_srv; only together with -min_srv (default: wait)"],
    ["-u", "comma-separated crypto user ids to share the key with, e.g. 5,6 (never your own)"],
    ["-wk", "file holding the plaintext of the -w key: the private key is wrapped here, on the host"],
    ["-attest", "check the firmware attestation of the HSMs"],
  ],
);

/** The key in the file, parsed here so its DER length can be printed; a file that does not parse is never sent. */
async function readPrivateKey(path: string): Promise<KeyObject> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new LocalError(`cannot read -f file "${path}": ${(err as Error).message}`, "FILE_UNREADABLE");
  }
  try {
    return createPrivateKey(text);
  } catch {
    throw new LocalError(`-f file "${path}" is not an unencrypted PEM private key`, "KEY_FILE_INVALID");
  }
}

export const importPrivateKey = defineCommand({
  name: "importPrivateKey",
  summary: "Imports a PEM private key through a wrapping key",
  help: HELP,
  flags: {
    "-f": { kind: "value", required: true },
    "-w": { kind: "value", required: true },
    "-wk": { kind: "value" },
    "-m_value": { kind: "value" },
    ...NEW_KEY_FLAGS,
  },
  needsLogin: true,
  check: (flags) => {
    const mValue = flags.value("-m_value");
    if (mValue !== undefined) parseInteger("-m_value", mValue, 0, 8);
    return { file: flags.required("-f"), wrappingKey: parseHandle("-w", flags.required("-w")), wrappingKeyFile: flags.value("-wk"), ...checkNewKeyFlags(flags) };
  },
  async run(params, ctx): Promise<Outcome> {
    const { file, wrappingKeyFile, ...options } = params;
    let hostWrappingKey: Buffer | undefined;
    try {
      hostWrappingKey = wrappingKeyFile === undefined ? undefined : await readAesKeyFile("-wk", wrappingKeyFile);
      const key = await readPrivateKey(file);
      const der = key.export({ format: "der", type: "pkcs8" });
      const berLength = der.length;
      der.fill(0);
      const res = await ctx.client.importPrivateKey(key, { ...options, ...(hostWrappingKey ? { hostWrappingKey } : {}) });
      const text = formatImportPrivateKey({
        berLength,
        steps: res.steps.map((s) => s.name),
        keyHandle: res.keyHandle,
        nodes: res.nodeStatuses,
        ...(res.attestation ? { attestationPassed: res.attestation.pass } : {}),
      });
      const data = { key_handle: res.keyHandle, ber_length: berLength, steps: jsonSteps(res.steps), node_statuses: jsonNodes(res.nodeStatuses), revision: res.revision };
      if (res.attestation && !res.attestation.pass) {
        return { kind: "failure", text, errorCode: 1, reason: "ATTESTATION_FAILED", message: `attestation check failed for key ${res.keyHandle}: ${res.attestation.problems.join("; ")}`, data };
      }
      return success(text, data);
    } catch (err) {
      return toFailure(err, hostWrappingKey ? "Cfm3UnWrapKey" : "Cfm3WrapHostKey", ctx.address);
    } finally {
      hostWrappingKey?.fill(0);
    }
  },
});
