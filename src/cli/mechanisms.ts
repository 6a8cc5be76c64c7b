// KMU's numeric constants for mechanisms (-m of wrapKey, unWrapKey, sign, verify), hashes (-t) and curves (-i), and what each means here.
import { EcCurve, HashAlgorithm, SignMechanism, WrapMechanism } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { UsageError } from "./flagParser";
import { parseInteger } from "./flagValues";

/** wrapKey / unWrapKey -m: the documented values this emulator serves (11 CLOUDHSM_AES_GCM and 12 RSA_PKCS are not). */
export const WRAP_MECHANISMS: ReadonlyMap<number, { name: string; mechanism: WrapMechanism }> = new Map([
  [4, { name: "AES_KEY_WRAP_PAD_PKCS5", mechanism: WrapMechanism.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5 }],
  [5, { name: "NIST_AES_WRAP_NO_PAD", mechanism: WrapMechanism.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD }],
  [6, { name: "NIST_AES_WRAP_PAD", mechanism: WrapMechanism.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD }],
  [7, { name: "RSA_AES", mechanism: WrapMechanism.WRAP_MECHANISM_RSA_AES }],
  [8, { name: "RSA_OAEP", mechanism: WrapMechanism.WRAP_MECHANISM_RSA_OAEP }],
  [10, { name: "AES_GCM", mechanism: WrapMechanism.WRAP_MECHANISM_AES_GCM }],
]);

/** wrapKey / unWrapKey -t: the hash of RSA_OAEP and RSA_AES (KMU's 2019 list: 2 SHA1 ... 6 SHA224). */
export const HASH_TYPES: ReadonlyMap<number, { name: string; hash: HashAlgorithm }> = new Map([
  [2, { name: "SHA1", hash: HashAlgorithm.HASH_ALGORITHM_SHA1 }],
  [3, { name: "SHA256", hash: HashAlgorithm.HASH_ALGORITHM_SHA256 }],
  [4, { name: "SHA384", hash: HashAlgorithm.HASH_ALGORITHM_SHA384 }],
  [5, { name: "SHA512", hash: HashAlgorithm.HASH_ALGORITHM_SHA512 }],
  [6, { name: "SHA224", hash: HashAlgorithm.HASH_ALGORITHM_SHA224 }],
]);

/** sign / verify -m: the documented signing mechanisms, each one SignMechanism and one hash over the file's data. */
export const SIGN_MECHANISMS: ReadonlyMap<number, { name: string; mechanism: SignMechanism; hash: HashAlgorithm }> = new Map([
  [0, { name: "SHA1_RSA_PKCS", mechanism: SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15, hash: HashAlgorithm.HASH_ALGORITHM_SHA1 }],
  [1, { name: "SHA256_RSA_PKCS", mechanism: SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15, hash: HashAlgorithm.HASH_ALGORITHM_SHA256 }],
  [2, { name: "SHA384_RSA_PKCS", mechanism: SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15, hash: HashAlgorithm.HASH_ALGORITHM_SHA384 }],
  [3, { name: "SHA512_RSA_PKCS", mechanism: SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15, hash: HashAlgorithm.HASH_ALGORITHM_SHA512 }],
  [4, { name: "SHA224_RSA_PKCS", mechanism: SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15, hash: HashAlgorithm.HASH_ALGORITHM_SHA224 }],
  [5, { name: "SHA1_RSA_PKCS_PSS", mechanism: SignMechanism.SIGN_MECHANISM_RSA_PSS, hash: HashAlgorithm.HASH_ALGORITHM_SHA1 }],
  [6, { name: "SHA256_RSA_PKCS_PSS", mechanism: SignMechanism.SIGN_MECHANISM_RSA_PSS, hash: HashAlgorithm.HASH_ALGORITHM_SHA256 }],
  [7, { name: "SHA384_RSA_PKCS_PSS", mechanism: SignMechanism.SIGN_MECHANISM_RSA_PSS, hash: HashAlgorithm.HASH_ALGORITHM_SHA384 }],
  [8, { name: "SHA512_RSA_PKCS_PSS", mechanism: SignMechanism.SIGN_MECHANISM_RSA_PSS, hash: HashAlgorithm.HASH_ALGORITHM_SHA512 }],
  [9, { name: "SHA224_RSA_PKCS_PSS", mechanism: SignMechanism.SIGN_MECHANISM_RSA_PSS, hash: HashAlgorithm.HASH_ALGORITHM_SHA224 }],
  [15, { name: "ECDSA_SHA1", mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: HashAlgorithm.HASH_ALGORITHM_SHA1 }],
  [16, { name: "ECDSA_SHA224", mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: HashAlgorithm.HASH_ALGORITHM_SHA224 }],
  [17, { name: "ECDSA_SHA256", mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: HashAlgorithm.HASH_ALGORITHM_SHA256 }],
  [18, { name: "ECDSA_SHA384", mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: HashAlgorithm.HASH_ALGORITHM_SHA384 }],
  [19, { name: "ECDSA_SHA512", mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: HashAlgorithm.HASH_ALGORITHM_SHA512 }],
]);

/**
 * genECCKeyPair -i: the curve ids. 2, 14 and 16 are the documented ones; 3 (secp521r1) and the other OpenSSL NIDs
 * KMU's docs do not list are refused. Which number stands for P-521 is not documented, so it is not guessed;
 * P-521 keys come through importPrivateKey or the TypeScript client.
 */
export const EC_CURVES: ReadonlyMap<number, { name: string; curve: EcCurve }> = new Map([
  [2, { name: "NID_X9_62_prime256v1", curve: EcCurve.EC_CURVE_P256 }],
  [14, { name: "NID_secp384r1", curve: EcCurve.EC_CURVE_P384 }],
  [16, { name: "NID_secp256k1", curve: EcCurve.EC_CURVE_SECP256K1 }],
]);

/** A KMU constant that must be one of `table`'s keys. */
export function lookupConstant<T>(flag: string, raw: string, table: ReadonlyMap<number, T>): T {
  const value = parseInteger(flag, raw, 0);
  const entry = table.get(value);
  if (entry === undefined) throw new UsageError(`${flag} must be one of ${[...table.keys()].join(", ")}, got ${raw}`);
  return entry;
}

/** "0 SHA1_RSA_PKCS, 1 SHA256_RSA_PKCS, ..." for help texts. */
export function listConstants(table: ReadonlyMap<number, { name: string }>): string {
  return [...table].map(([id, { name }]) => `${id} ${name}`).join(", ");
}
