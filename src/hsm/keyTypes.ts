// KMU key type and class constants and the key sizes each type allows.

/** KMU key types (-t), equal to the PKCS#11 CKK_* numbers. */
export enum KeyType {
  RSA = 0,
  EC = 3,
  GENERIC_SECRET = 16,
  DES3 = 21,
  AES = 31,
}

/** KMU key classes (-c), equal to the PKCS#11 CKO_* numbers. */
export enum KeyClass {
  PUBLIC = 2,
  PRIVATE = 3,
  SECRET = 4,
}

/** Documented key types that exist in KMU but are refused on a FIPS-mode HSM (RC4). */
export const FIPS_DISALLOWED_KEY_TYPES: ReadonlySet<number> = new Set([18]);

/** Generic secrets: "< 3584" bytes per the genSymKey page. */
export const GENERIC_SECRET_MAX_BYTES = 3583;

/** Whether `size` bytes is a valid key length for the type. */
export function isValidKeySize(keyType: KeyType, size: number): boolean {
  switch (keyType) {
    case KeyType.AES:
      return size === 16 || size === 24 || size === 32;
    case KeyType.DES3:
      return size === 24;
    case KeyType.GENERIC_SECRET:
      return Number.isInteger(size) && size >= 1 && size <= GENERIC_SECRET_MAX_BYTES;
    case KeyType.RSA:
    case KeyType.EC:
      // Asymmetric keys are sized by modulus or curve, never by a byte count.
      return false;
  }
}

const SYMMETRIC_KEY_TYPES: ReadonlySet<number> = new Set([KeyType.AES, KeyType.DES3, KeyType.GENERIC_SECRET]);

export function isSymmetricKeyType(value: number): value is KeyType {
  return SYMMETRIC_KEY_TYPES.has(value);
}
