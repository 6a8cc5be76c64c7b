// aesWrapUnwrap's Cfm3WrapHostKey: the HSM wraps bytes the host sends under one of its AES keys and hands the blob back.
import { aesKeyWrapPkcs5 } from "../../common/keyWrap";
import { HsmError } from "./errors";
import { KeyGuards, requireCryptoUser } from "./keyGuards";
import { MAX_WRAPPED_KEY_BYTES } from "./keyOperations";
import { LoginSession } from "./sessions";

/** Smallest input: fewer than 8 bytes pad to one 8-byte block, and RFC 3394 needs two. */
export const MIN_HOST_WRAP_BYTES = 8;

/**
 * Largest input: PKCS#5 padding adds 1 to 8 bytes and the wrap 8 more, so 4080 bytes wrap to at most 4096, the
 * most UnwrapHostKey takes: whatever this wraps, aesWrapUnwrap -m 0 can unwrap.
 */
export const MAX_HOST_WRAP_BYTES = MAX_WRAPPED_KEY_BYTES - 16;

/**
 * Wraps with AES key wrap after CloudHSM's PKCS#5 padding (KMU mechanism 4), the same form UnwrapHostKey and
 * imSymKey read. Like UnwrapHostKey it is a crypto operation on data, not on a key object: not audited.
 */
export function wrapHostData(guards: KeyGuards, session: LoginSession, wrappingHandle: number, data: Buffer): Buffer {
  requireCryptoUser(session);
  if (data.length < MIN_HOST_WRAP_BYTES || data.length > MAX_HOST_WRAP_BYTES) {
    throw new HsmError("DATA_LENGTH_INVALID", `AES key wrap takes ${MIN_HOST_WRAP_BYTES} to ${MAX_HOST_WRAP_BYTES} bytes here`, {
      field: "data",
      length: data.length,
      min_length: MIN_HOST_WRAP_BYTES,
      max_length: MAX_HOST_WRAP_BYTES,
    });
  }
  const wrappingKey = guards.wrappingKey(session, wrappingHandle, ["wrap"]);
  return aesKeyWrapPkcs5(wrappingKey.material, data);
}
