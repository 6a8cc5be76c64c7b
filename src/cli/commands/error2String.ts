// Error2String: prints the text of a KMU return code (no HSM call; works without logging in).
import { lookupReturnCode, returnCodeText } from "../../../common/returnCodes";
import { defineCommand, helpText } from "../command";
import { parseReturnCode } from "../flagValues";
import { formatError2String } from "../format/error2String";
import { hexCode } from "../format/transcript";
import { success } from "../outcome";

const HELP = helpText(
  "Prints the error that corresponds to a key_mgmt_util hexadecimal return code, such as the 0xc6 in\n" +
    '"Cfm3DeleteKey returned: 0xc6 : HSM Error: Key Access is denied."',
  ["Error2String -h", "Error2String -r <response-code>"],
  [["-r", "the return code in hex with the 0x prefix, e.g. 0xdb (required)"]],
);

export const error2String = defineCommand({
  name: "Error2String",
  summary: "Prints the text of a return code",
  help: HELP,
  flags: { "-r": { kind: "value", required: true } },
  needsLogin: false,
  check: (flags) => ({ code: parseReturnCode("-r", flags.required("-r")) }),
  run({ code }) {
    const entry = lookupReturnCode(code);
    const text = returnCodeText(code);
    return Promise.resolve(success(formatError2String(code, text), { code: hexCode(code), text, known: entry !== undefined, ...(entry ? { source: entry.source } : {}) }));
  },
});
