// The building blocks of key_mgmt_util's console output: indented status lines, node lines, blank-line-separated blocks.
//
// The AWS pages render the status indent as 8 spaces (Alibaba's copy shows a tab); kmu prints 8 spaces.
import { hexReturnCode as hexCode } from "../../../common/returnCodes";

/** The indent of every status line. */
export const INDENT = " ".repeat(8);

/** A node's state as one line of the "Cluster Error Status" block. */
export interface NodeLine {
  readonly nodeId: number;
  readonly errState: number;
  readonly description: string;
}

/** A return code as KMU prints it after "returned:" (the shared table's form), e.g. 0x00, 0xa8, 0x110. */
export { hexCode };

/** A node err state: always 8 hex digits, e.g. 0x000000a8. */
export function hexErrState(code: number): string {
  return `0x${code.toString(16).padStart(8, "0")}`;
}

/** `        Cfm3UnWrapKey returned: 0x00 : HSM Return: SUCCESS` */
export function stepLine(name: string, code: number, description: string): string {
  return `${INDENT}${name} returned: ${hexCode(code)} : ${description}`;
}

/** `        Node id 1 and err state 0x00000000 : HSM Return: SUCCESS` */
export function nodeLine(node: NodeLine): string {
  return `${INDENT}Node id ${node.nodeId} and err state ${hexErrState(node.errState)} : ${node.description}`;
}

/** The "Cluster Error Status" header and one line per node, in the order the daemon reported them. */
export function clusterBlock(nodes: readonly NodeLine[]): string[] {
  return [`${INDENT}Cluster Error Status`, ...nodes.map(nodeLine)];
}

/**
 * Joins blocks of lines with one blank line between blocks, ending with a newline. Status-style
 * commands start with a blank line after the command (leadingBlank), as in every documented transcript.
 */
export function transcript(blocks: readonly (readonly string[])[], leadingBlank: boolean): string {
  const body = blocks
    .filter((block) => block.length > 0)
    .map((block) => block.join("\n"))
    .join("\n\n");
  return `${leadingBlank ? "\n" : ""}${body}\n`;
}
