// setAttribute -a 1: makes a session key you own a token key (KMU's only settable attribute), prompting for the value.
import { defineCommand, helpText } from "../command";
import { toFailure } from "../failures";
import { UsageError } from "../flagParser";
import { parseHandle } from "../flagValues";
import { formatStatusAndCluster } from "../format/statusAndCluster";
import { jsonNodes } from "../jsonView";
import { Outcome, success } from "../outcome";

const TOKEN_ATTRIBUTE = 1;

const HELP = helpText(
  "Changes an attribute of a key you own. Only OBJ_ATTR_TOKEN (1) can be set, and only to 1: it turns a\n" +
    "session key into a persistent (token) key. Without -v the value is asked for.",
  ["setAttribute -h", "setAttribute -o <object handle> -a 1 [-v 1]"],
  [
    ["-o", "handle of the key (required)"],
    ["-a", "attribute to change: 1 (OBJ_ATTR_TOKEN) is the only valid value (required)"],
    ["-v", "the value, 0 or 1, instead of the prompt (kmu addition for scripts)"],
  ],
);

function parseBoolean(raw: string): number {
  const value = raw.trim();
  if (value !== "0" && value !== "1") throw new UsageError(`the boolean attribute value must be 0 or 1, got "${value}"`);
  return Number(value);
}

export const setAttribute = defineCommand({
  name: "setAttribute",
  summary: "Makes a session key a token key (-a 1)",
  help: HELP,
  flags: {
    "-o": { kind: "value", required: true },
    "-a": { kind: "value", required: true },
    "-v": { kind: "value" },
  },
  needsLogin: true,
  check: (flags) => {
    if (flags.required("-a") !== String(TOKEN_ATTRIBUTE)) throw new UsageError(`-a must be 1 (OBJ_ATTR_TOKEN), got "${flags.required("-a")}"`);
    const value = flags.value("-v");
    return { keyHandle: parseHandle("-o", flags.required("-o")), value: value === undefined ? undefined : parseBoolean(value) };
  },
  async run(params, ctx): Promise<Outcome> {
    let value = params.value;
    if (value === undefined) {
      ctx.prompter.note("This attribute is defined as a boolean value.");
      const answer = await ctx.prompter.ask("Enter the boolean attribute value (0 or 1):");
      if (answer === undefined) return { kind: "usage", message: "no value was entered; nothing was changed" };
      try {
        value = parseBoolean(answer);
      } catch (err) {
        return { kind: "usage", message: (err as Error).message };
      }
    }
    try {
      const res = await ctx.client.setAttribute(params.keyHandle, TOKEN_ATTRIBUTE, value);
      return success(formatStatusAndCluster("Cfm3SetAttribute", res.nodeStatuses), {
        key_handle: params.keyHandle,
        attribute_id: TOKEN_ATTRIBUTE,
        value,
        node_statuses: jsonNodes(res.nodeStatuses),
        revision: res.revision,
      });
    } catch (err) {
      return toFailure(err, "Cfm3SetAttribute", ctx.address);
    }
  },
});
