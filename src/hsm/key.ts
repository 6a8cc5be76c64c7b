// The key object: its KMU attributes, its owner and sharing, and the set of nodes holding it.
import { KeyClass, KeyType } from "./keyTypes";

/** Boolean PKCS#11-style flags of a key, named after their KMU attributes. */
export interface KeyFlags {
  token: boolean;
  private: boolean;
  encrypt: boolean;
  decrypt: boolean;
  wrap: boolean;
  unwrap: boolean;
  sign: boolean;
  verify: boolean;
  derive: boolean;
  local: boolean;
  sensitive: boolean;
  extractable: boolean;
  neverExtractable: boolean;
  alwaysSensitive: boolean;
  trusted: boolean;
  wrapWithTrusted: boolean;
  destroyable: boolean;
}

/** A key as the emulated cluster holds it. `material` is plaintext and lives only in memory. */
export interface KeyObject {
  readonly handle: number;
  readonly ownerId: number;
  readonly keyClass: KeyClass;
  readonly keyType: KeyType;
  readonly label: string;
  readonly id: string;
  readonly flags: Readonly<KeyFlags>;
  readonly valueLen: number;
  readonly kcv: Buffer | undefined;
  /** Crypto users the key is shared with; changed only by the cluster (ShareKey). */
  readonly sharedWith: Set<number>;
  /** Login session that owns a session key (TOKEN=0); undefined for token keys. */
  readonly sessionId: string | undefined;
  /** Node ids that hold the key; grows as replication delivers it. A session key is held by one node. */
  readonly nodes: Set<number>;
  readonly material: Buffer;
}

/**
 * Where a key loaded from the store keeps its material until first use: the sealed form (not yet read) or the
 * plaintext Buffer (read). Set by the store; absent on keys made in this process, whose material is plaintext.
 */
export const MATERIAL_UNTIL_USED: unique symbol = Symbol("key material until first use");

/** Zeroes a key's plaintext in memory, without unsealing material nothing has read yet (there is none to zero). */
export function wipeMaterial(key: KeyObject): void {
  const held = (key as { [MATERIAL_UNTIL_USED]?: unknown })[MATERIAL_UNTIL_USED];
  if (held !== undefined && !Buffer.isBuffer(held)) return;
  key.material.fill(0);
}

/** The handle of the HSM's internal key-encryption key: it exists, and no user may use it. */
export const INTERNAL_KEY_HANDLE = 4;

/**
 * Defaults of a key of the given type and class, per DESIGN.md semantics 4 and the facts sheet 4.3. Asymmetric keys
 * follow the genRSAKeyPair/genECCKeyPair dumps: a public key verifies (RSA also encrypts and wraps), is not sensitive
 * and is always extractable; a private key signs (RSA also decrypts and unwraps).
 * Generic secrets (type 16) are HMAC keys: SIGN=1 and VERIFY=1, ENCRYPT=0 and DECRYPT=0. The AWS docs show SIGN and
 * VERIFY 0 on KMU keys and have users set them with cloudhsm_mgmt_util before HMAC use; this emulator has no CMU
 * setAttribute for them (KMU's sets OBJ_ATTR_TOKEN only), and issue 11 asks that `genSymKey -t 16` keys be usable for
 * Mac/VerifyMac as made, so a generic secret is born ready for HMAC and for nothing else.
 */
export function defaultFlags(
  keyType: KeyType,
  options: { session: boolean; local: boolean; extractable: boolean },
  keyClass: KeyClass = KeyClass.SECRET,
): KeyFlags {
  if (keyClass === KeyClass.PUBLIC) return publicKeyFlags(keyType, options);
  const secret = keyClass === KeyClass.SECRET;
  const hmacKey = secret && keyType === KeyType.GENERIC_SECRET;
  const wraps = keyType === KeyType.AES || keyType === KeyType.RSA;
  const rsa = keyType === KeyType.RSA;
  return {
    token: !options.session,
    private: true,
    encrypt: secret && !hmacKey,
    decrypt: secret ? !hmacKey : rsa,
    wrap: secret && wraps,
    unwrap: wraps,
    sign: !secret || hmacKey,
    verify: hmacKey,
    derive: false,
    local: options.local,
    sensitive: true,
    extractable: options.extractable,
    // PKCS#11: a generated key that was never extractable; imported keys were outside the HSM.
    neverExtractable: options.local && !options.extractable,
    alwaysSensitive: options.local,
    trusted: false,
    wrapWithTrusted: false,
    destroyable: true,
  };
}

function publicKeyFlags(keyType: KeyType, options: { session: boolean; local: boolean }): KeyFlags {
  const rsa = keyType === KeyType.RSA;
  return {
    token: !options.session,
    // The genRSAKeyPair dump shows OBJ_ATTR_PRIVATE 0x00 for the public key.
    private: false,
    encrypt: rsa,
    decrypt: false,
    wrap: rsa,
    unwrap: false,
    sign: false,
    verify: true,
    derive: false,
    local: options.local,
    sensitive: false,
    // "Public keys are always extractable" (genRSAKeyPair -nex).
    extractable: true,
    neverExtractable: false,
    alwaysSensitive: false,
    trusted: false,
    wrapWithTrusted: false,
    destroyable: true,
  };
}

/** Whether `userId` may see and use the key: owners and users it is shared with. */
export function isVisibleTo(key: KeyObject, userId: number, sessionId: string): boolean {
  if (key.sessionId !== undefined && key.sessionId !== sessionId) return false;
  return key.ownerId === userId || key.sharedWith.has(userId);
}
