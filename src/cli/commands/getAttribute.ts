// getAttribute: writes one attribute of a key, or all of them (512), to a file in KMU's NAME/VALUE text format.
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { parseHandle, parseInteger } from "../flagValues";
import { formatGetAttribute } from "../format/getAttribute";
import { writeOutFile } from "../keyFiles";
import { success } from "../outcome";

const ALL_ATTRIBUTES = 512;

const HELP = helpText(
  "Writes an attribute of a key you own or that is shared with you to a file: the attribute's name on one\n" +
    "line and its value on the next. 512 writes every attribute.",
  ["getAttribute -h", "getAttribute -o <key handle> -a <attribute constant> -out <file>"],
  [
    ["-o", "handle of the key (required)"],
    ["-a", "attribute constant, e.g. 0 class, 1 token, 3 label, 256 key type, 258 id, 262 wrap,\n355 local, 371 KCV; 512 = all attributes (required)"],
    ["-out", "file to write; the output cannot go to stdout; overwritten without warning (required)"],
  ],
);

export const getAttribute = defineCommand({
  name: "getAttribute",
  summary: "Writes key attributes to a file",
  help: HELP,
  flags: {
    "-o": { kind: "value", required: true },
    "-a": { kind: "value", required: true },
    "-out": { kind: "value", required: true },
  },
  needsLogin: true,
  check: (flags) => ({
    keyHandle: parseHandle("-o", flags.required("-o")),
    attributeId: parseInteger("-a", flags.required("-a"), 0),
    outFile: flags.required("-out"),
  }),
  async run(params, ctx) {
    try {
      const res = await ctx.client.getAttribute(params.keyHandle, params.attributeId);
      await writeOutFile("-out", params.outFile, res.fileText, false);
      const size = Buffer.byteLength(res.fileText, "utf8");
      return success(
        formatGetAttribute({ outFile: params.outFile, all: params.attributeId === ALL_ATTRIBUTES, size, attributeCount: res.attributes.length }),
        {
          key_handle: res.keyHandle,
          attribute_id: params.attributeId,
          file: params.outFile,
          size,
          attr_count: res.attributes.length,
          attributes: Object.fromEntries(res.attributes.map((a) => [a.name, a.text])),
        },
      );
    } catch (err) {
      return toFailure(err, "Cfm3GetAttribute", ctx.address);
    }
  },
});
