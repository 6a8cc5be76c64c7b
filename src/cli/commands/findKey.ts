// findKey: lists the handles of the keys you can use that match every given filter (class, type, label, id, session, users, KCV, RSA modulus).
import { FindOptions } from "../../../clients/hsmClient";
import { returnCodeText } from "../../../common/returnCodes";
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { KEY_CLASS_CONSTANTS, KEY_TYPE_CONSTANTS, parseKcv, parseKeyType, parseSessionFilter, parseUserIds } from "../flagValues";
import { formatFindKey } from "../format/findKey";
import { readModulusFile } from "../modulusFile";
import { jsonNodes, jsonSteps } from "../jsonView";
import { success } from "../outcome";

const HELP = helpText(
  "Finds the keys you own or that are shared with you and that match every given filter (logical AND,\n" +
    "exact match). With no filter it lists every key you can use.",
  ["findKey -h", "findKey [-c <key class>] [-t <key type>] [-l <key label>] [-id <key ID>]", "        [-sess (0 | 1)] [-u <user-ids>] [-m <modulus>] [-kcv <key_check_value>]"],
  [
    ["-c", "key class: 2 public, 3 private, 4 secret"],
    ["-t", "key type: 0 RSA, 1 DSA, 3 EC, 16 generic secret, 18 RC4, 21 3DES, 31 AES"],
    ["-l", "exact label (no wildcards)"],
    ["-id", "exact key ID (no wildcards)"],
    ["-sess", "1 = session keys of this login session only, 0 = token keys only"],
    ["-u", "comma-separated user ids: keys that every listed user can use"],
    ["-m", "file with an RSA modulus (raw bytes, hex, or openssl's Modulus=... line): the RSA keys that have it"],
    ["-kcv", "key check value, 6 hex digits with or without 0x, e.g. 0xc33cbd"],
  ],
);

export const findKey = defineCommand({
  name: "findKey",
  summary: "Finds keys by attribute values",
  help: HELP,
  flags: {
    "-c": { kind: "value" },
    "-t": { kind: "value" },
    "-l": { kind: "value" },
    "-id": { kind: "value" },
    "-sess": { kind: "value" },
    "-u": { kind: "value" },
    "-m": { kind: "value" },
    "-kcv": { kind: "value" },
  },
  needsLogin: true,
  check: (flags): FindOptions & { modulusFile?: string } => {
    const modulusFile = flags.value("-m");
    const keyClass = flags.value("-c");
    const keyType = flags.value("-t");
    const label = flags.value("-l");
    const id = flags.value("-id");
    const session = flags.value("-sess");
    const users = flags.value("-u");
    const kcv = flags.value("-kcv");
    return {
      ...(keyClass !== undefined ? { keyClass: parseKeyType("-c", keyClass, KEY_CLASS_CONSTANTS) } : {}),
      ...(keyType !== undefined ? { keyType: parseKeyType("-t", keyType, KEY_TYPE_CONSTANTS) } : {}),
      ...(label !== undefined ? { label } : {}),
      ...(id !== undefined ? { id } : {}),
      ...(session !== undefined ? { session: parseSessionFilter("-sess", session) } : {}),
      ...(users !== undefined ? { sharedWithUserIds: parseUserIds("-u", users) } : {}),
      ...(kcv !== undefined ? { kcv: parseKcv("-kcv", kcv) } : {}),
      ...(modulusFile !== undefined ? { modulusFile } : {}),
    };
  },
  async run({ modulusFile, ...filters }, ctx) {
    try {
      const modulus = modulusFile === undefined ? undefined : await readModulusFile(modulusFile);
      const res = await ctx.client.findKeyAll({ ...filters, ...(modulus ? { modulus } : {}) });
      // KMU has no paging: every page is fetched and printed as one list.
      const total = res.keyHandles.length;
      return success(formatFindKey({ total, handles: res.keyHandles, nodes: res.nodeStatuses }), {
        total_key_count: total,
        matched_handles: res.keyHandles,
        node_statuses: jsonNodes(res.nodeStatuses, false),
        steps: jsonSteps([{ name: "Cfm3FindKey", returnCode: 0, description: returnCodeText(0) }]),
      });
    } catch (err) {
      return toFailure(err, "Cfm3FindKey", ctx.address);
    }
  },
});
