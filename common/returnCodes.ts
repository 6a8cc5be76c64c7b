// The one table of KMU return codes and their texts, used by the daemon (src/hsm) and by the clients and kmu alike.

/** One KMU return code and the text key_mgmt_util prints after it. */
export interface ReturnCode {
  readonly code: number;
  readonly text: string;
  /** Where the value comes from: "aws" (documented by AWS), "vendor" (same tool, other vendor), "project". */
  readonly source: "aws" | "vendor" | "project";
}

function rc(code: number, text: string, source: ReturnCode["source"]): ReturnCode {
  return { code, text, source };
}

/**
 * Every return code this emulator produces. Project codes take PKCS#11 CKR_* values of the
 * same meaning and never reuse a value AWS documents for KMU.
 */
export const RETURN_CODES = {
  SUCCESS: rc(0x00, "HSM Return: SUCCESS", "aws"),
  INVALID_SESSION: rc(0x90, "HSM Error: Invalid session handle passed in the command", "vendor"),
  USER_NOT_FOUND: rc(0x9d, "HSM Error: user isn't initialized or user with this name doesn't exist", "aws"),
  LOGIN_FAILURE: rc(0xa3, "HSM Error: RET_USER_LOGIN_FAILURE", "aws"),
  INVALID_OBJECT_HANDLE: rc(0xa8, "HSM Error: Invalid object handle is passed to this operation", "aws"),
  FIPS_POLICY: rc(0xb3, "HSM Error: This operation violates the current configured/FIPS policies", "aws"),
  KEY_ACCESS_DENIED: rc(0xc6, "HSM Error: Key Access is denied.", "aws"),
  INVALID_USER_TYPE: rc(0xdb, "HSM Error: Invalid User Type.", "aws"),
  SERVER_UNAVAILABLE: rc(0x30000085, "HSM CLUSTER ERROR: Server in cluster is unavailable", "aws"),
  FUNCTION_FAILED: rc(0x06, "HSM Error: Internal error in the emulated HSM", "project"),
  ARGUMENTS_BAD: rc(0x07, "HSM Error: Invalid input passed to this operation", "project"),
  ATTRIBUTE_READ_ONLY: rc(0x10, "HSM Error: Attribute cannot be changed", "project"),
  ATTRIBUTE_TYPE_INVALID: rc(0x12, "HSM Error: Attribute is not valid for this key", "project"),
  DATA_LEN_RANGE: rc(0x21, "HSM Error: Request is larger than the allowed size", "project"),
  DEVICE_ERROR: rc(0x30, "HSM Error: Key could not be synchronized to the minimum number of servers", "project"),
  DEVICE_MEMORY: rc(0x31, "HSM Error: The cluster holds the maximum number of keys", "project"),
  SESSION_COUNT: rc(0xb1, "HSM Error: The user has too many open sessions", "project"),
  KEY_SIZE_RANGE: rc(0x62, "HSM Error: Key length is not valid for the key type", "project"),
  KEY_TYPE_INCONSISTENT: rc(0x63, "HSM Error: Key type is not valid for this operation", "project"),
  KEY_FUNCTION_NOT_PERMITTED: rc(0x68, "HSM Error: Key attributes do not permit this operation", "project"),
  KEY_UNEXTRACTABLE: rc(0x6a, "HSM Error: Key is not extractable", "project"),
  TEMPLATE_INCONSISTENT: rc(0xd1, "HSM Error: Key ID is already in use in the cluster", "project"),
  USER_ALREADY_EXISTS: rc(0x103, "HSM Error: A user with this name already exists", "project"),
  ADMIN_AUTH_FAILED: rc(0x104, "HSM Error: Admin secret is missing or wrong", "project"),
  WRAPPED_KEY_INVALID: rc(0x110, "HSM Error: Unwrap integrity check failed", "project"),
  LOGINS_BUSY: rc(0x105, "HSM Error: Too many logins in progress; retry later", "project"),
  WATCH_COUNT: rc(0x111, "HSM Error: The session has too many open watches", "project"),
  ENCRYPTED_DATA_INVALID: rc(0x40, "HSM Error: Ciphertext, tag or padding does not check", "project"),
  MECHANISM_INVALID: rc(0x70, "HSM Error: Mechanism is not valid for this operation", "project"),
  MECHANISM_PARAM_INVALID: rc(0x71, "HSM Error: Mechanism parameter (IV, tag length, AAD, hash) is not valid", "project"),
  SIGNATURE_INVALID: rc(0xc0, "HSM Error: Signature or MAC does not verify", "project"),
  SIGNATURE_LEN_RANGE: rc(0xc1, "HSM Error: Signature or MAC length is not valid", "project"),
  KEY_ENCODING_INVALID: rc(0x131, "HSM Error: Key data could not be parsed", "project"),
} as const satisfies Record<string, ReturnCode>;

export type ReturnCodeName = keyof typeof RETURN_CODES;

/** The table entry of a code, or undefined for a code the emulator never sends. */
export function lookupReturnCode(code: number): ReturnCode | undefined {
  return Object.values(RETURN_CODES).find((entry: ReturnCode) => entry.code === code);
}

/** The text KMU prints after a code, e.g. "HSM Return: SUCCESS"; unknown codes get a generic text. */
export function returnCodeText(code: number): string {
  return lookupReturnCode(code)?.text ?? "HSM Error: Unknown error";
}

/** A code as KMU prints it after "returned:": at least two hex digits, e.g. 0x00, 0xa8, 0x110, 0x30000085. */
export function hexReturnCode(code: number): string {
  return `0x${code.toString(16).padStart(2, "0")}`;
}

/** The ErrorInfo metadata entries that carry a return code, as the daemon sends them and clients read them. */
export function returnCodeMetadata(rc: ReturnCode): { kmu_return_code: string; kmu_return_text: string } {
  return { kmu_return_code: hexReturnCode(rc.code), kmu_return_text: rc.text };
}
