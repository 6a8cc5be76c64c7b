// The KMU return codes the daemon sends and the text key_mgmt_util prints after each, for clients (kmu's Error2String).
//
// This mirrors the README's return code table and src/hsm/returnCodes.ts; clients may not import src/hsm,
// so the table is data here and test/unit/cli/returnCodes.test.ts fails if the two drift apart.

/** One KMU return code and the text printed after it, e.g. 0xa8 "HSM Error: Invalid object handle ...". */
export interface KmuReturnCode {
  readonly code: number;
  readonly text: string;
  /** "aws": documented by AWS; "vendor": the same tool documented by another vendor; "project": this emulator's own. */
  readonly source: "aws" | "vendor" | "project";
}

/** Every code the emulator produces, in the README's order: documented values first, then the project's own. */
export const KMU_RETURN_CODES: readonly KmuReturnCode[] = [
  { code: 0x00, text: "HSM Return: SUCCESS", source: "aws" },
  { code: 0x90, text: "HSM Error: Invalid session handle passed in the command", source: "vendor" },
  { code: 0x9d, text: "HSM Error: user isn't initialized or user with this name doesn't exist", source: "aws" },
  { code: 0xa3, text: "HSM Error: RET_USER_LOGIN_FAILURE", source: "aws" },
  { code: 0xa8, text: "HSM Error: Invalid object handle is passed to this operation", source: "aws" },
  { code: 0xb3, text: "HSM Error: This operation violates the current configured/FIPS policies", source: "aws" },
  { code: 0xc6, text: "HSM Error: Key Access is denied.", source: "aws" },
  { code: 0xdb, text: "HSM Error: Invalid User Type.", source: "aws" },
  { code: 0x30000085, text: "HSM CLUSTER ERROR: Server in cluster is unavailable", source: "aws" },
  { code: 0x06, text: "HSM Error: Internal error in the emulated HSM", source: "project" },
  { code: 0x07, text: "HSM Error: Invalid input passed to this operation", source: "project" },
  { code: 0x10, text: "HSM Error: Attribute cannot be changed", source: "project" },
  { code: 0x12, text: "HSM Error: Attribute is not valid for this key", source: "project" },
  { code: 0x21, text: "HSM Error: Request is larger than the allowed size", source: "project" },
  { code: 0x30, text: "HSM Error: Key could not be synchronized to the minimum number of servers", source: "project" },
  { code: 0x31, text: "HSM Error: The cluster holds the maximum number of keys", source: "project" },
  { code: 0x62, text: "HSM Error: Key length is not valid for the key type", source: "project" },
  { code: 0x63, text: "HSM Error: Key type is not valid for this operation", source: "project" },
  { code: 0x68, text: "HSM Error: Key attributes do not permit this operation", source: "project" },
  { code: 0x6a, text: "HSM Error: Key is not extractable", source: "project" },
  { code: 0xb1, text: "HSM Error: The user has too many open sessions", source: "project" },
  { code: 0xd1, text: "HSM Error: Key ID is already in use in the cluster", source: "project" },
  { code: 0x103, text: "HSM Error: A user with this name already exists", source: "project" },
  { code: 0x104, text: "HSM Error: Admin secret is missing or wrong", source: "project" },
  { code: 0x105, text: "HSM Error: Too many logins in progress; retry later", source: "project" },
  { code: 0x110, text: "HSM Error: Unwrap integrity check failed", source: "project" },
];

/** Well-known codes by name, for code that branches on a specific one. */
export const KMU_CODE = {
  SUCCESS: 0x00,
  INVALID_SESSION: 0x90,
  INVALID_OBJECT_HANDLE: 0xa8,
  INVALID_USER_TYPE: 0xdb,
  SERVER_UNAVAILABLE: 0x30000085,
  FUNCTION_FAILED: 0x06,
  WRAPPED_KEY_INVALID: 0x110,
} as const;

/** The table entry of a code, or undefined for a code the emulator never sends. */
export function lookupReturnCode(code: number): KmuReturnCode | undefined {
  return KMU_RETURN_CODES.find((entry) => entry.code === code);
}

/** The text KMU prints after a code; unknown codes get the same generic text the daemon uses. */
export function kmuReturnText(code: number): string {
  return lookupReturnCode(code)?.text ?? "HSM Error: Unknown error";
}
