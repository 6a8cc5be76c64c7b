// Console output of Error2String: `Error Code db maps to HSM Error: Invalid User Type.` (hex without 0x).
import { INDENT, transcript } from "./transcript";

export function formatError2String(code: number, text: string): string {
  return transcript([[`${INDENT}Error Code ${code.toString(16)} maps to ${text}`]], true);
}
