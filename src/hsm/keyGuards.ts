// The checks key operations run before they act: who may use a key, which keys may wrap, valid types and lengths, whom a key may be shared with.
import { UnwrapIntegrityError, aesKeyUnwrapPkcs5 } from "../../common/keyWrap";
import { HsmError } from "./errors";
import { INTERNAL_KEY_HANDLE, isVisibleTo, KeyObject } from "./key";
import { KeyRegistry } from "./keyRegistry";
import { FIPS_DISALLOWED_KEY_TYPES, isSymmetricKeyType, isValidKeySize, KeyType } from "./keyTypes";
import { LoginSession } from "./sessions";
import { UserRole } from "./users";

/** What a wrapping key is used for: each needs its attribute (OBJ_ATTR_WRAP, OBJ_ATTR_UNWRAP) set. */
export type WrappingUse = "wrap" | "unwrap";

export class KeyGuards {
  constructor(
    private readonly keys: KeyRegistry,
    private readonly users: { isCryptoUser(userId: number): boolean },
  ) {}

  /** A key the caller may use, else the documented answer for the internal key or a missing key. */
  usableKey(session: LoginSession, handle: number): KeyObject {
    if (handle === INTERNAL_KEY_HANDLE) {
      throw new HsmError("INTERNAL_KEY_UNSUPPORTED", "key handle 4 is an unsupported internal key", { key_handle: handle });
    }
    const key = this.keys.get(handle);
    // An invisible key answers exactly like one that does not exist.
    if (!key || !isVisibleTo(key, session.userId, session.sessionId)) {
      throw new HsmError("KEY_NOT_FOUND", "invalid object handle", { key_handle: handle });
    }
    return key;
  }

  /** A visible key the caller owns; a visible key of someone else is "Key Access is denied" (0xc6). */
  ownedKey(session: LoginSession, handle: number, why: string): KeyObject {
    const key = this.usableKey(session, handle);
    if (key.ownerId !== session.userId) throw new HsmError("KEY_ACCESS_DENIED", why, { key_handle: handle });
    return key;
  }

  /** A usable AES key with the attribute of every use set (WRAP=1 to wrap, UNWRAP=1 to unwrap). */
  wrappingKey(session: LoginSession, handle: number, uses: readonly WrappingUse[]): KeyObject {
    const key = this.usableKey(session, handle);
    if (key.keyType !== KeyType.AES) {
      throw new HsmError("WRAPPING_KEY_NOT_AES", "only AES keys can be wrapping keys", { key_handle: handle, key_type: key.keyType });
    }
    if (!uses.every((use) => (use === "wrap" ? key.flags.wrap : key.flags.unwrap))) {
      const needed = uses.map((use) => `OBJ_ATTR_${use.toUpperCase()}=1`).join(" and ");
      throw new HsmError("WRAPPING_KEY_CANNOT_WRAP", `the wrapping key needs ${needed}`, {
        key_handle: handle,
        wrap: key.flags.wrap,
        unwrap: key.flags.unwrap,
      });
    }
    return key;
  }

  /** Users a key may be shared with: existing crypto users, not the caller, each once. */
  checkShareList(session: LoginSession, userIds: readonly number[]): void {
    const seen = new Set<number>();
    for (const userId of userIds) {
      if (userId === session.userId) throw new HsmError("SHARE_WITH_SELF", "do not share a key with yourself", { user_id: userId });
      if (!this.users.isCryptoUser(userId)) {
        throw new HsmError("SHARE_USER_UNKNOWN", "keys are shared only with existing crypto users", { user_id: userId });
      }
      if (seen.has(userId)) throw new HsmError("REQUEST_INVALID", "a user is listed twice", { user_id: userId });
      seen.add(userId);
    }
  }
}

/** Key operations are for crypto users only. */
export function requireCryptoUser(session: LoginSession): void {
  if (session.role !== UserRole.CU) {
    throw new HsmError("INVALID_USER_TYPE", "only crypto users can manage keys", { user_type: session.role });
  }
}

/** A key type the operation accepts; FIPS-disallowed types are refused with their own reason. */
export function checkKeyType(value: number, allowed: readonly KeyType[]): KeyType {
  if (FIPS_DISALLOWED_KEY_TYPES.has(value)) {
    throw new HsmError("KEY_TYPE_FIPS_DISALLOWED", `key type ${value} violates the FIPS policy`, { key_type: value });
  }
  if (!isSymmetricKeyType(value) || !allowed.includes(value)) {
    throw new HsmError("KEY_TYPE_NOT_ALLOWED", `key type ${value} is not allowed here`, {
      key_type: value,
      allowed: allowed.join(","),
    });
  }
  return value;
}

export function checkMaterialLength(keyType: KeyType, length: number): void {
  if (!isValidKeySize(keyType, length)) {
    throw new HsmError("KEY_LENGTH_INVALID", `a ${length}-byte key is not valid for key type ${keyType}`, {
      key_type: keyType,
      key_length: length,
    });
  }
}

/** Unwraps `blob` with the wrapping key; a blob wrapped under another key fails `step`'s integrity check. */
export function unwrapWith(wrappingKey: KeyObject, blob: Buffer, step: string): Buffer {
  try {
    return aesKeyUnwrapPkcs5(wrappingKey.material, blob);
  } catch (err) {
    if (!(err instanceof UnwrapIntegrityError)) throw err;
    throw new HsmError("UNWRAP_INTEGRITY_FAILED", "the wrapped key does not unwrap with the wrapping key", {
      step,
      wrapping_key_handle: wrappingKey.handle,
    });
  }
}
