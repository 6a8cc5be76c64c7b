// The one table from domain failure reasons to gRPC status codes, and the conversion of any thrown value.
import * as grpc from "@grpc/grpc-js";
import { HsmError, Reason } from "../hsm/errors";
import { RETURN_CODES, returnCodeMetadata } from "../../common/returnCodes";
import { richServiceError } from "./richStatus";

const S = grpc.status;

/** Every reason has exactly one status; a new reason without a row here does not compile. */
export const REASON_STATUS: Record<Reason, grpc.status> = {
  UNAUTHENTICATED: S.UNAUTHENTICATED,
  SESSION_EXPIRED: S.UNAUTHENTICATED,
  TOO_MANY_SESSIONS: S.RESOURCE_EXHAUSTED,
  LOGIN_FAILED: S.UNAUTHENTICATED,
  INVALID_USER_TYPE: S.PERMISSION_DENIED,
  USER_ALREADY_EXISTS: S.ALREADY_EXISTS,
  USERNAME_INVALID: S.INVALID_ARGUMENT,
  PASSWORD_INVALID: S.INVALID_ARGUMENT,
  ADMIN_SECRET_INVALID: S.UNAUTHENTICATED,
  USER_NOT_FOUND: S.NOT_FOUND,
  TOO_MANY_LOGINS: S.RESOURCE_EXHAUSTED,
  REQUEST_INVALID: S.INVALID_ARGUMENT,
  REQUEST_TOO_LARGE: S.RESOURCE_EXHAUSTED,
  LABEL_INVALID: S.INVALID_ARGUMENT,
  ID_INVALID: S.INVALID_ARGUMENT,
  TIMEOUT_WITHOUT_MIN_SRV: S.INVALID_ARGUMENT,
  MIN_SRV_INVALID: S.INVALID_ARGUMENT,
  SHARE_WITH_SELF: S.INVALID_ARGUMENT,
  SHARE_USER_UNKNOWN: S.INVALID_ARGUMENT,
  PAGE_TOKEN_INVALID: S.INVALID_ARGUMENT,
  PAGE_SIZE_INVALID: S.INVALID_ARGUMENT,
  KEY_TYPE_NOT_ALLOWED: S.INVALID_ARGUMENT,
  KEY_TYPE_FIPS_DISALLOWED: S.INVALID_ARGUMENT,
  KEY_LENGTH_INVALID: S.INVALID_ARGUMENT,
  KEY_NOT_FOUND: S.NOT_FOUND,
  INTERNAL_KEY_UNSUPPORTED: S.PERMISSION_DENIED,
  WRAPPING_KEY_NOT_AES: S.FAILED_PRECONDITION,
  WRAPPING_KEY_CANNOT_WRAP: S.FAILED_PRECONDITION,
  UNWRAP_INTEGRITY_FAILED: S.INVALID_ARGUMENT,
  ID_ALREADY_EXISTS: S.ALREADY_EXISTS,
  ATTRIBUTE_UNKNOWN: S.INVALID_ARGUMENT,
  ATTRIBUTE_NOT_PRESENT: S.INVALID_ARGUMENT,
  KEY_ACCESS_DENIED: S.PERMISSION_DENIED,
  KEY_LIMIT_REACHED: S.RESOURCE_EXHAUSTED,
  KEY_NOT_EXTRACTABLE: S.FAILED_PRECONDITION,
  ATTRIBUTE_READ_ONLY: S.INVALID_ARGUMENT,
  MIN_SRV_UNMET: S.UNAVAILABLE,
  CLUSTER_UNAVAILABLE: S.UNAVAILABLE,
  NODE_NOT_FOUND: S.NOT_FOUND,
  WATCH_COMPACTED: S.OUT_OF_RANGE,
  WATCHER_TOO_SLOW: S.RESOURCE_EXHAUSTED,
  TOO_MANY_WATCHES: S.RESOURCE_EXHAUSTED,
  SHUTTING_DOWN: S.UNAVAILABLE,
  SNAPSHOT_NAME_INVALID: S.INVALID_ARGUMENT,
  SNAPSHOT_NOT_FOUND: S.NOT_FOUND,
  SNAPSHOT_UNREADABLE: S.FAILED_PRECONDITION,
  SEED_NOT_CONFIGURED: S.FAILED_PRECONDITION,
  INTERNAL: S.INTERNAL,
};

/** What the adapter sends and logs for a failed call. */
export interface MappedFailure {
  readonly status: Partial<grpc.StatusObject>;
  readonly code: grpc.status;
  readonly reason: Reason;
  /** Set when the failure was not a domain error: log the stack, tell the client nothing. */
  readonly unexpected?: unknown;
}

/** Converts anything thrown by a handler; unknown errors become INTERNAL with a fixed message. */
export function mapFailure(err: unknown): MappedFailure {
  if (err instanceof HsmError) {
    const code = REASON_STATUS[err.reason];
    const metadata: Record<string, string> = returnCodeMetadata(err.returnCode);
    for (const [name, value] of Object.entries(err.details)) metadata[name] = String(value);
    return { status: richServiceError(code, err.message, err.reason, metadata), code, reason: err.reason };
  }
  return {
    status: richServiceError(S.INTERNAL, "internal error", "INTERNAL", returnCodeMetadata(RETURN_CODES.FUNCTION_FAILED)),
    code: S.INTERNAL,
    reason: "INTERNAL",
    unexpected: err,
  };
}
