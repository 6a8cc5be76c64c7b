// Console output of getKeyInfo: the Cfm3GetKey line, the owner, and the users the key is shared with.
import { returnCodeText } from "../../../common/returnCodes";
import { INDENT, stepLine, transcript } from "./transcript";

export interface KeyInfoView {
  readonly owner: number;
  readonly sharedWith: readonly number[];
}

/** The "also, shared to ..." block appears only when the key is shared (as for a public key, owner line only). */
export function formatKeyInfo(view: KeyInfoView): string {
  const shared =
    view.sharedWith.length === 0
      ? []
      : [[`${INDENT}also, shared to following ${view.sharedWith.length} user(s):`], [`${INDENT}         ${view.sharedWith.join(", ")}`]];
  return transcript([[stepLine("Cfm3GetKey", 0, returnCodeText(0))], [`${INDENT}Owned by user ${view.owner}`], ...shared], true);
}
