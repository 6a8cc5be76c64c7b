// listAttributes: prints the attribute constants getAttribute and setAttribute take (no HSM call).
import { defineCommand, helpText } from "../command";
import { formatListAttributes, LISTED_ATTRIBUTES } from "../format/listAttributes";
import { success } from "../outcome";

const HELP = helpText(
  "Lists the key attributes and the constants that stand for them in getAttribute and setAttribute.\n" +
    "512 stands for all attributes in getAttribute.",
  ["listAttributes -h", "listAttributes"],
  [],
);

export const listAttributes = defineCommand({
  name: "listAttributes",
  summary: "Lists the attribute constants",
  help: HELP,
  flags: {},
  // A constant table: nothing is asked of the HSM, so it works without logging in.
  needsLogin: false,
  check: () => ({}),
  run() {
    return Promise.resolve(success(formatListAttributes(), { attributes: Object.fromEntries(LISTED_ATTRIBUTES), all_attributes: 512 }));
  },
});
