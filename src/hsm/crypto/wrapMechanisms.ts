// The key-wrapping mechanisms of KMU -m 4, 5, 6, 7, 8 and 10 as pure functions over key bytes; the AES key wrap forms live in common/keyWrap.
import { constants, createCipheriv, createDecipheriv, KeyObject, privateDecrypt, publicEncrypt, randomBytes } from "node:crypto";
import { NODE_DIGEST_LENGTH, NodeHashName } from "./hashAlgorithms";
import {
  aesKeyUnwrap,
  aesKeyUnwrapPad,
  aesKeyUnwrapPkcs5,
  aesKeyWrap,
  aesKeyWrapPad,
  aesKeyWrapPkcs5,
  UnwrapIntegrityError,
} from "../../../common/keyWrap";

/** KMU -m numbers (equal to the proto's WrapMechanism values). */
export enum WrapMechanism {
  AES_KEY_WRAP_PAD_PKCS5 = 4,
  AES_KEY_WRAP_NO_PAD = 5,
  AES_KEY_WRAP_ZERO_PAD = 6,
  RSA_AES = 7,
  RSA_OAEP = 8,
  AES_GCM = 10,
}

/** Digests OAEP may use, by their node:crypto names. */
export type OaepHash = NodeHashName;


export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;
/** The ephemeral key of RSA-AES (PKCS#11 CKM_RSA_AES_KEY_WRAP with CKA_VALUE_LEN 32). */
const RSA_AES_EPHEMERAL_BYTES = 32;

/** Whether the mechanism wraps with an AES key (else with an RSA key pair). */
export function isAesMechanism(mechanism: WrapMechanism): boolean {
  return mechanism !== WrapMechanism.RSA_AES && mechanism !== WrapMechanism.RSA_OAEP;
}

/** The key an operation wraps or unwraps with: AES bytes, or an RSA public (wrap) or private (unwrap) key. */
export type WrapperKey = { readonly kind: "aes"; readonly material: Buffer } | { readonly kind: "rsa"; readonly key: KeyObject };

export interface WrapParams {
  readonly mechanism: WrapMechanism;
  /** AES-GCM only. */
  readonly aad: Buffer;
  /** RSA-OAEP and RSA-AES only. */
  readonly oaepHash: OaepHash;
}

/** The modulus size in bytes of an RSA key. */
export function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new TypeError("not an RSA key");
  return Math.ceil(bits / 8);
}

/** Largest plaintext RSA-OAEP takes with this modulus and hash (RFC 8017 section 7.1.1: k - 2hLen - 2). */
export function maxOaepBytes(modulus: number, hash: OaepHash): number {
  return modulus - 2 * NODE_DIGEST_LENGTH[hash] - 2;
}

/**
 * Why `length` bytes of key cannot be wrapped with the mechanism, or undefined when they can. RSA-OAEP's
 * limit depends on the wrapping key's modulus, given as `rsaModulusBytes`.
 */
export function wrapLengthProblem(mechanism: WrapMechanism, length: number, hash: OaepHash, rsaModulusBytes: number): string | undefined {
  if (length === 0) return "an empty key cannot be wrapped";
  switch (mechanism) {
    case WrapMechanism.AES_KEY_WRAP_PAD_PKCS5:
      // PKCS#5 padding of fewer than 8 bytes gives one 8-byte block; RFC 3394 needs at least two.
      return length < 8 ? "AES key wrap with PKCS#5 padding needs a key of at least 8 bytes" : undefined;
    case WrapMechanism.AES_KEY_WRAP_NO_PAD:
      return length < 16 || length % 8 !== 0 ? "AES key wrap without padding needs a multiple of 8 bytes, at least 16" : undefined;
    case WrapMechanism.RSA_OAEP: {
      const max = maxOaepBytes(rsaModulusBytes, hash);
      return length > max ? `RSA-OAEP with this key and hash wraps at most ${max} bytes` : undefined;
    }
    case WrapMechanism.AES_KEY_WRAP_ZERO_PAD:
    case WrapMechanism.RSA_AES:
    case WrapMechanism.AES_GCM:
      return undefined;
  }
}

/** Wraps key bytes; the caller has checked the length with wrapLengthProblem and the key kind with isAesMechanism. */
export function wrapKeyBytes(wrapper: WrapperKey, params: WrapParams, plaintext: Buffer): Buffer {
  switch (params.mechanism) {
    case WrapMechanism.AES_KEY_WRAP_PAD_PKCS5:
      return aesKeyWrapPkcs5(aesKey(wrapper), plaintext);
    case WrapMechanism.AES_KEY_WRAP_NO_PAD:
      return aesKeyWrap(aesKey(wrapper), plaintext);
    case WrapMechanism.AES_KEY_WRAP_ZERO_PAD:
      return aesKeyWrapPad(aesKey(wrapper), plaintext);
    case WrapMechanism.AES_GCM:
      return gcmWrap(aesKey(wrapper), plaintext, params.aad);
    case WrapMechanism.RSA_OAEP:
      return oaepWrap(rsaKey(wrapper), params.oaepHash, plaintext);
    case WrapMechanism.RSA_AES:
      return rsaAesWrap(rsaKey(wrapper), params.oaepHash, plaintext);
  }
}

/** Unwraps a blob; any failed integrity check (wrong key, damaged blob, wrong AAD or hash) is an UnwrapIntegrityError. */
export function unwrapKeyBytes(wrapper: WrapperKey, params: WrapParams, blob: Buffer): Buffer {
  switch (params.mechanism) {
    case WrapMechanism.AES_KEY_WRAP_PAD_PKCS5:
      return aesKeyUnwrapPkcs5(aesKey(wrapper), blob);
    case WrapMechanism.AES_KEY_WRAP_NO_PAD:
      return aesKeyUnwrap(aesKey(wrapper), blob);
    case WrapMechanism.AES_KEY_WRAP_ZERO_PAD:
      return aesKeyUnwrapPad(aesKey(wrapper), blob);
    case WrapMechanism.AES_GCM:
      return gcmUnwrap(aesKey(wrapper), blob, params.aad);
    case WrapMechanism.RSA_OAEP:
      return oaepUnwrap(rsaKey(wrapper), params.oaepHash, blob);
    case WrapMechanism.RSA_AES:
      return rsaAesUnwrap(rsaKey(wrapper), params.oaepHash, blob);
  }
}

/**
 * Why a blob cannot have been made by the mechanism, judged by its length alone, or undefined. `rsaModulusBytes`
 * is the unwrapping key's modulus size for the RSA mechanisms.
 */
export function wrappedLengthProblem(mechanism: WrapMechanism, length: number, rsaModulusBytes: number): string | undefined {
  switch (mechanism) {
    case WrapMechanism.AES_KEY_WRAP_PAD_PKCS5:
    case WrapMechanism.AES_KEY_WRAP_NO_PAD:
      return length < 24 || length % 8 !== 0 ? "an RFC 3394 blob is a multiple of 8 bytes, at least 24" : undefined;
    case WrapMechanism.AES_KEY_WRAP_ZERO_PAD:
      return length < 16 || length % 8 !== 0 ? "an RFC 5649 blob is a multiple of 8 bytes, at least 16" : undefined;
    case WrapMechanism.AES_GCM:
      return length <= GCM_IV_BYTES + GCM_TAG_BYTES ? `an AES-GCM blob is the ${GCM_IV_BYTES}-byte IV, the ciphertext and the ${GCM_TAG_BYTES}-byte tag` : undefined;
    case WrapMechanism.RSA_OAEP:
      return length !== rsaModulusBytes ? `an RSA-OAEP blob is exactly ${rsaModulusBytes} bytes with this key` : undefined;
    case WrapMechanism.RSA_AES:
      return length < rsaModulusBytes + 16 || (length - rsaModulusBytes) % 8 !== 0
        ? `an RSA-AES blob is ${rsaModulusBytes} bytes of RSA-OAEP and then an RFC 5649 blob`
        : undefined;
  }
}

function aesKey(wrapper: WrapperKey): Buffer {
  if (wrapper.kind !== "aes") throw new TypeError("the mechanism needs an AES key");
  return wrapper.material;
}

function rsaKey(wrapper: WrapperKey): KeyObject {
  if (wrapper.kind !== "rsa") throw new TypeError("the mechanism needs an RSA key");
  return wrapper.key;
}

/** AES-GCM with a fresh 12-byte IV made here (as the HSM makes it), laid out iv || ciphertext || 16-byte tag. */
export function gcmWrap(kek: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(GCM_IV_BYTES);
  const cipher = createCipheriv(gcmName(kek), kek, iv, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

export function gcmUnwrap(kek: Buffer, blob: Buffer, aad: Buffer): Buffer {
  if (blob.length <= GCM_IV_BYTES + GCM_TAG_BYTES) throw new UnwrapIntegrityError();
  const iv = blob.subarray(0, GCM_IV_BYTES);
  const tag = blob.subarray(blob.length - GCM_TAG_BYTES);
  const decipher = createDecipheriv(gcmName(kek), kek, iv, { authTagLength: GCM_TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const body = decipher.update(blob.subarray(GCM_IV_BYTES, blob.length - GCM_TAG_BYTES));
  try {
    return Buffer.concat([body, decipher.final()]);
  } catch {
    // The tag did not verify: the bytes decrypted so far are not the key and must not linger.
    body.fill(0);
    throw new UnwrapIntegrityError();
  }
}

function gcmName(kek: Buffer): "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm" {
  switch (kek.length) {
    case 16:
      return "aes-128-gcm";
    case 24:
      return "aes-192-gcm";
    case 32:
      return "aes-256-gcm";
    default:
      throw new RangeError(`AES wrapping key must be 16, 24 or 32 bytes, got ${kek.length}`);
  }
}

/** RSA-OAEP with MGF1 over the same hash as the label hash (PKCS#11 CKM_RSA_PKCS_OAEP with matching CKG_MGF1). */
export function oaepWrap(publicKey: KeyObject, hash: OaepHash, plaintext: Buffer): Buffer {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, plaintext);
}

export function oaepUnwrap(privateKey: KeyObject, hash: OaepHash, blob: Buffer): Buffer {
  try {
    return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, blob);
  } catch {
    throw new UnwrapIntegrityError();
  }
}

/**
 * PKCS#11 CKM_RSA_AES_KEY_WRAP: a fresh AES-256 key wrapped with RSA-OAEP, followed by the target key
 * wrapped under that AES key with RFC 5649. The ephemeral key is wiped once used.
 */
export function rsaAesWrap(publicKey: KeyObject, hash: OaepHash, plaintext: Buffer): Buffer {
  const ephemeral = randomBytes(RSA_AES_EPHEMERAL_BYTES);
  try {
    return Buffer.concat([oaepWrap(publicKey, hash, ephemeral), aesKeyWrapPad(ephemeral, plaintext)]);
  } finally {
    ephemeral.fill(0);
  }
}

export function rsaAesUnwrap(privateKey: KeyObject, hash: OaepHash, blob: Buffer): Buffer {
  const split = modulusBytes(privateKey);
  if (blob.length <= split) throw new UnwrapIntegrityError();
  const ephemeral = oaepUnwrap(privateKey, hash, blob.subarray(0, split));
  try {
    // PKCS#11 lets the ephemeral key be any AES size; this side makes 32 bytes but accepts the others.
    if (ephemeral.length !== 16 && ephemeral.length !== 24 && ephemeral.length !== 32) throw new UnwrapIntegrityError();
    return aesKeyUnwrapPad(ephemeral, blob.subarray(split));
  } finally {
    ephemeral.fill(0);
  }
}
