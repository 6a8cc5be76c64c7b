// importPubKey: imports a PEM public key (RSA or EC) from a file into the HSM and prints its handle.
import { readFile } from "node:fs/promises";
import { defineCommand, helpText } from "../command";
import { LocalError, toFailure } from "../failures";
import { formatImportPubKey } from "../format/keyPairs";
import { jsonNodes } from "../jsonView";
import { success } from "../outcome";
import { checkKeyOptions, NEW_KEY_FLAGS } from "./newKeyFlags";

const HELP = helpText(
  "Imports a public key in PEM format (SubjectPublicKeyInfo: RSA 2048 to 4096 bits, or EC on a supported curve)\n" +
    "from a file into the HSMs.",
  [
    "importPubKey -h",
    "importPubKey -l <label> -f <key-file>",
    "             [-sess] [-id <key-id>] [-min_srv <minimum-number-of-servers>] [-timeout <number-of-seconds>]",
  ],
  [
    ["-l", "label; need not be unique (required)"],
    ["-f", "the PEM file (required)"],
    ["-sess", "session key: exists only in this login session (default: token key)"],
    ["-id", "key ID, unique in the cluster (default: empty)"],
    ["-min_srv", "HSMs that must hold the key before it counts as created (default 1)"],
    ["-timeout", "seconds to wait for -min_srv; only together with -min_srv (default: wait)"],
  ],
);

export const importPubKey = defineCommand({
  name: "importPubKey",
  summary: "Imports a PEM public key",
  help: HELP,
  flags: {
    "-l": { kind: "value", required: true },
    "-f": { kind: "value", required: true },
    "-sess": NEW_KEY_FLAGS["-sess"]!,
    "-id": NEW_KEY_FLAGS["-id"]!,
    "-min_srv": NEW_KEY_FLAGS["-min_srv"]!,
    "-timeout": NEW_KEY_FLAGS["-timeout"]!,
  },
  needsLogin: true,
  check: (flags) => ({ label: flags.required("-l"), file: flags.required("-f"), ...checkKeyOptions(flags) }),
  async run(params, ctx) {
    const { file, attest: _attest, ...options } = params;
    try {
      let pem: string;
      try {
        pem = await readFile(file, "utf8");
      } catch (err) {
        throw new LocalError(`cannot read -f file "${file}": ${(err as Error).message}`, "FILE_UNREADABLE");
      }
      const res = await ctx.client.importPublicKey(pem, options);
      return success(formatImportPubKey(res.keyHandle, res.nodeStatuses), {
        key_handle: res.keyHandle,
        node_statuses: jsonNodes(res.nodeStatuses),
        revision: res.revision,
      });
    } catch (err) {
      return toFailure(err, "Cfm3CreatePublicKey", ctx.address);
    }
  },
});
