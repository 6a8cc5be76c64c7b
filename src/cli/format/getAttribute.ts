// Console output of getAttribute: the dump message (with size and count for 512) and the Cfm3GetAttribute line.
import { returnCodeText } from "../../../common/returnCodes";
import { stepLine, transcript } from "./transcript";

export interface GetAttributeView {
  /** The -out path as the user typed it (the docs' mismatched file names are editing errors). */
  readonly outFile: string;
  /** True for -a 512 (all attributes). */
  readonly all: boolean;
  /** Bytes written to the file. */
  readonly size: number;
  readonly attributeCount: number;
}

/** For 512, `got all attributes of size <bytes> attr cnt <count>` comes first (the older secret-key format). */
export function formatGetAttribute(view: GetAttributeView): string {
  const first = view.all ? [`got all attributes of size ${view.size} attr cnt ${view.attributeCount}`] : [];
  return transcript([[...first, `Attributes dumped into ${view.outFile} file`], [stepLine("Cfm3GetAttribute", 0, returnCodeText(0))]], false);
}
