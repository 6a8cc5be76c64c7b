// Host-side wrapping for imSymKey -wk: the key leaves the host only wrapped under the file key (KMU mechanism 4).
import { aesKeyWrapPkcs5 } from "../src/hsm/crypto/keyWrap";

/** Wraps `keyMaterial` with the plaintext AES `wrappingKey` (16, 24 or 32 bytes) the way key_mgmt_util -wk does. */
export function wrapOnHost(wrappingKey: Buffer, keyMaterial: Buffer): Buffer {
  return aesKeyWrapPkcs5(wrappingKey, keyMaterial);
}
