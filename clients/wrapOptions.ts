// The options of HsmClient.wrapKey and HsmClient.unwrapKey: mechanism, its parameters, and the unwrapped key's attributes.
import { HashAlgorithm, WrapMechanism } from "./generated/localcloudhsm/v1/hsm_service";
import type { NewKeyOptions } from "./hsmClient";

/** KMU key classes (-kc) that unwrapKey creates. */
export const KEY_CLASS = { PUBLIC: 2, PRIVATE: 3, SECRET: 4 } as const;

/** How wrapKey wraps; without options it is exSymKey's mechanism 4 (AES key wrap with PKCS#5 padding). */
export interface WrapOptions {
  /** -m; WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5 when absent. */
  readonly mechanism?: WrapMechanism;
  /** -aad: additional authenticated data, AES-GCM only. */
  readonly aad?: Buffer;
  /** -t: the OAEP hash for RSA-OAEP and RSA-AES; SHA-256 when absent. */
  readonly oaepHash?: HashAlgorithm;
}

/** KMU unWrapKey: how the blob was wrapped and what the new key is. */
export interface UnwrapOptions extends NewKeyOptions {
  /** -w: the AES key (AES mechanisms) or RSA private key (RSA mechanisms) that unwraps; needs UNWRAP=1. */
  readonly wrappingKey: number;
  /** -m: the mechanism that wrapped the blob (required). */
  readonly mechanism: WrapMechanism;
  /** -kc: KEY_CLASS.SECRET (default) or KEY_CLASS.PRIVATE. */
  readonly keyClass?: number;
  /** -kt: 16, 21 or 31 for a secret key; 0 (RSA) or 3 (EC) for a private key. */
  readonly keyType: number;
  readonly aad?: Buffer;
  readonly oaepHash?: HashAlgorithm;
  /** -nex: the new key cannot be wrapped again. */
  readonly nonExtractable?: boolean;
}
