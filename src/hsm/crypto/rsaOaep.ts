// RSA-OAEP (PKCS#1 v2.2, MGF1 over the same hash, empty label): encryption with a public key, decryption with a private key.
import { constants, KeyObject as CryptoKey, privateDecrypt, publicEncrypt } from "node:crypto";
import { HsmError } from "../errors";
import { DIGEST_LENGTH, HashAlgorithm, NODE_HASH_NAME } from "./hashAlgorithms";

function modulusBytes(key: CryptoKey): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new RangeError("not an RSA key");
  return Math.ceil(bits / 8);
}

/** Longest message OAEP takes under a modulus of `k` bytes: k - 2*hLen - 2. */
export function oaepMaxData(k: number, hash: HashAlgorithm): number {
  return k - 2 * DIGEST_LENGTH[hash] - 2;
}

export function oaepEncrypt(publicKey: CryptoKey, hash: HashAlgorithm, data: Buffer): Buffer {
  const max = oaepMaxData(modulusBytes(publicKey), hash);
  if (data.length > max) {
    throw new HsmError("DATA_TOO_LARGE", `RSA-OAEP with this key and ${hash} takes at most ${max} bytes`, { field: "plaintext", length: data.length, max_length: max });
  }
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: NODE_HASH_NAME[hash] }, data);
}

/** A ciphertext of the wrong length is DATA_LENGTH_INVALID; one that does not decode is ENCRYPTED_DATA_INVALID. */
export function oaepDecrypt(privateKey: CryptoKey, hash: HashAlgorithm, ciphertext: Buffer): Buffer {
  const k = modulusBytes(privateKey);
  if (ciphertext.length !== k) {
    throw new HsmError("DATA_LENGTH_INVALID", `an RSA-OAEP ciphertext under this key is ${k} bytes`, { mechanism: "RSA_OAEP", length: ciphertext.length, expected_length: k });
  }
  try {
    return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: NODE_HASH_NAME[hash] }, ciphertext);
  } catch {
    throw new HsmError("ENCRYPTED_DATA_INVALID", "the ciphertext does not decrypt with RSA-OAEP under this key and hash", { mechanism: "RSA_OAEP", hash });
  }
}
