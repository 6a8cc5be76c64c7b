// Console output of listUsers: the count, the documented fixed-width table, and the Cfm3ListUsers line.
import { returnCodeText } from "../../../common/returnCodes";
import { INDENT, stepLine, transcript } from "./transcript";

export interface UserRow {
  readonly userId: number;
  /** "CU" or "CO". */
  readonly userType: string;
  readonly username: string;
  readonly loginFailureCount: number;
}

export const USERS_HEADER = "Index       User ID     User Type       User Name           MofnPubKey    LoginFailureCnt         2FA";

/**
 * Columns as in the documented table: index left in 5, user id right-aligned to column 17, then type,
 * name, MofnPubKey and the failure count at the documented offsets (24, 40, 66, 83, 99).
 */
export function userRow(index: number, user: UserRow): string {
  return (
    String(index).padEnd(5) +
    String(user.userId).padStart(13) +
    " ".repeat(6) +
    user.userType.padEnd(16) +
    user.username.padEnd(26) +
    "NO".padEnd(17) +
    String(user.loginFailureCount).padEnd(16) +
    "NO"
  );
}

export function formatListUsers(users: readonly UserRow[]): string {
  return transcript(
    [
      [`${INDENT}Number Of Users found ${users.length}`],
      [`${INDENT}${USERS_HEADER}`, ...users.map((u, i) => `${INDENT}${userRow(i + 1, u)}`)],
      [stepLine("Cfm3ListUsers", 0, returnCodeText(0))],
    ],
    true,
  );
}
