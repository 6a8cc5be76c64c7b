// HMAC (RFC 2104) over generic-secret keys: compute, and check in constant time.
import { createHmac, timingSafeEqual } from "node:crypto";
import { DIGEST_LENGTH, HashAlgorithm, NODE_HASH_NAME } from "./hashAlgorithms";

export function hmac(hash: HashAlgorithm, key: Buffer, data: Buffer): Buffer {
  return createHmac(NODE_HASH_NAME[hash], key).update(data).digest();
}

/**
 * Whether `mac` is the full-length HMAC of `data`. The comparison takes the same time wherever the bytes differ, so
 * a caller cannot find a valid MAC byte by byte; a MAC of another length is never equal (callers refuse it first).
 */
export function hmacMatches(hash: HashAlgorithm, key: Buffer, data: Buffer, mac: Buffer): boolean {
  if (mac.length !== DIGEST_LENGTH[hash]) return false;
  return timingSafeEqual(hmac(hash, key, data), mac);
}
