// Key check values (KMU attribute 371): the first 3 bytes of the key's encryption of one zero block.
import { createCipheriv } from "node:crypto";
import { KeyType } from "../keyTypes";

/** Length of a KMU key check value in bytes. */
export const KCV_LENGTH = 3;

/** The KCV of a symmetric key, or undefined for types that have none (generic secrets). */
export function keyCheckValue(keyType: KeyType, material: Buffer): Buffer | undefined {
  switch (keyType) {
    case KeyType.AES: {
      const cipher = createCipheriv(`aes-${material.length * 8}-ecb`, material, null).setAutoPadding(false);
      return cipher.update(Buffer.alloc(16)).subarray(0, KCV_LENGTH);
    }
    case KeyType.DES3: {
      const cipher = createCipheriv("des-ede3-ecb", material, null).setAutoPadding(false);
      return cipher.update(Buffer.alloc(8)).subarray(0, KCV_LENGTH);
    }
    case KeyType.GENERIC_SECRET:
      // AWS documents KCVs as "not supported" for HMAC (generic secret) keys.
      return undefined;
  }
}
