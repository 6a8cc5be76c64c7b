// Key check values computed independently of the daemon, with node:crypto: ECB encryption of one zero block, first 3 bytes.
import { createCipheriv } from "node:crypto";

/** The AES KCV of a 16, 24 or 32-byte key, as 6 lowercase hex digits. */
export function aesKcv(key: Buffer): string {
  return createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false).update(Buffer.alloc(16)).subarray(0, 3).toString("hex");
}

/** The 3DES KCV of a 24-byte key, as 6 lowercase hex digits. */
export function des3Kcv(key: Buffer): string {
  return createCipheriv("des-ede3-ecb", key, null).setAutoPadding(false).update(Buffer.alloc(8)).subarray(0, 3).toString("hex");
}
