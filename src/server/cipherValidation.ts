// Pure checks for Encrypt, Decrypt, Mac and VerifyMac: proto enums to domain mechanisms and hashes, requests to domain parameters.
import {
  CipherMechanism as ProtoCipherMechanism,
  DecryptRequest,
  EncryptRequest,
  HashAlgorithm as ProtoHashAlgorithm,
  MacRequest,
  VerifyMacRequest,
} from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { CipherMechanism, DecryptParams, EncryptParams, HashAlgorithm, MacParams, VerifyMacParams } from "../hsm/cluster";
import { HsmError } from "../hsm/errors";
import { NODE_HASH_NAME, NodeHashName } from "../hsm/crypto/hashAlgorithms";

const MECHANISMS: ReadonlyMap<number, CipherMechanism> = new Map<number, CipherMechanism>([
  [ProtoCipherMechanism.CIPHER_MECHANISM_AES_GCM, "AES_GCM"],
  [ProtoCipherMechanism.CIPHER_MECHANISM_AES_CBC_PAD, "AES_CBC_PAD"],
  [ProtoCipherMechanism.CIPHER_MECHANISM_AES_CBC, "AES_CBC"],
  [ProtoCipherMechanism.CIPHER_MECHANISM_AES_CTR, "AES_CTR"],
  [ProtoCipherMechanism.CIPHER_MECHANISM_AES_ECB, "AES_ECB"],
  [ProtoCipherMechanism.CIPHER_MECHANISM_DES3_CBC_PAD, "DES3_CBC_PAD"],
  [ProtoCipherMechanism.CIPHER_MECHANISM_DES3_CBC, "DES3_CBC"],
  [ProtoCipherMechanism.CIPHER_MECHANISM_DES3_ECB, "DES3_ECB"],
  [ProtoCipherMechanism.CIPHER_MECHANISM_RSA_OAEP, "RSA_OAEP"],
]);

const HASHES: ReadonlyMap<number, HashAlgorithm> = new Map<number, HashAlgorithm>([
  [ProtoHashAlgorithm.HASH_ALGORITHM_SHA1, "SHA1"],
  [ProtoHashAlgorithm.HASH_ALGORITHM_SHA224, "SHA224"],
  [ProtoHashAlgorithm.HASH_ALGORITHM_SHA256, "SHA256"],
  [ProtoHashAlgorithm.HASH_ALGORITHM_SHA384, "SHA384"],
  [ProtoHashAlgorithm.HASH_ALGORITHM_SHA512, "SHA512"],
]);

/** The domain mechanism of a proto value; unspecified or unknown numbers are MECHANISM_INVALID. */
export function cipherMechanismOf(value: ProtoCipherMechanism): CipherMechanism {
  const mechanism = MECHANISMS.get(value);
  if (!mechanism) throw new HsmError("MECHANISM_INVALID", "name a cipher mechanism", { field: "mechanism", value });
  return mechanism;
}

/** The domain hash of a proto value; unspecified gives `fallback` where the call has one, otherwise MECHANISM_INVALID. */
export function hashAlgorithmOf(value: ProtoHashAlgorithm, field: string, fallback?: HashAlgorithm): HashAlgorithm {
  if (value === ProtoHashAlgorithm.HASH_ALGORITHM_UNSPECIFIED && fallback) return fallback;
  const hash = HASHES.get(value);
  if (!hash) throw new HsmError("MECHANISM_INVALID", "name a hash algorithm", { field, value });
  return hash;
}

/** node:crypto's name of a proto hash (signatures and OAEP use these); undefined for unspecified or unknown values. */
export function nodeHashNameOf(value: ProtoHashAlgorithm): NodeHashName | undefined {
  const hash = HASHES.get(value);
  return hash === undefined ? undefined : NODE_HASH_NAME[hash];
}

/** RSA-OAEP's digest when the caller names none, as the proto documents. */
const DEFAULT_OAEP_HASH: HashAlgorithm = "SHA256";

export function validateEncrypt(request: EncryptRequest): EncryptParams {
  return {
    handle: request.keyHandle,
    mechanism: cipherMechanismOf(request.mechanism),
    data: request.plaintext,
    iv: request.iv,
    aad: request.aad,
    tagLength: request.tagLength,
    oaepHash: hashAlgorithmOf(request.oaepHash, "oaep_hash", DEFAULT_OAEP_HASH),
  };
}

export function validateDecrypt(request: DecryptRequest): DecryptParams {
  return {
    handle: request.keyHandle,
    mechanism: cipherMechanismOf(request.mechanism),
    data: request.ciphertext,
    iv: request.iv,
    aad: request.aad,
    tag: request.tag,
    oaepHash: hashAlgorithmOf(request.oaepHash, "oaep_hash", DEFAULT_OAEP_HASH),
  };
}

export function validateMac(request: MacRequest): MacParams {
  return { handle: request.keyHandle, hash: hashAlgorithmOf(request.hash, "hash"), data: request.data };
}

export function validateVerifyMac(request: VerifyMacRequest): VerifyMacParams {
  return { ...validateMac(request), mac: request.mac };
}
