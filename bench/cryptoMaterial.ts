// The crypto rows' keys and inputs: made once per run with node:crypto and given to the daemon, SoftHSM2 and the node:crypto floor alike.
import { createPrivateKey, generateKeyPairSync, KeyObject, randomBytes } from "node:crypto";

/** The three operations the crypto rows measure, named as the daemon scenarios that run them. */
export type CryptoOp = "aesGcmEncrypt" | "ecdsaSign" | "rsaSign";

export const CRYPTO_OPS: readonly CryptoOp[] = ["aesGcmEncrypt", "ecdsaSign", "rsaSign"];

/** What one call of each operation does, the same in every implementation. */
export const CRYPTO_OP_TITLES: Record<CryptoOp, string> = {
  aesGcmEncrypt: "AES-256-GCM encrypt 4 KiB",
  ecdsaSign: "ECDSA P-256 sign, SHA-256 of 256 B",
  rsaSign: "RSA-2048 sign, PKCS#1 v1.5 SHA-256 of 256 B",
};

export const GCM_PLAINTEXT_BYTES = 4096;
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;
export const SIGN_MESSAGE_BYTES = 256;
export const RSA_MODULUS_BITS = 2048;
export const RSA_SIGNATURE_BYTES = RSA_MODULUS_BITS / 8;

/**
 * The run's keys as text (PKCS#8 PEM, the AES key as hex), so they cross the fork() IPC channel to the worker
 * processes unchanged. Bench keys protect nothing, but they are still never printed.
 */
export interface CryptoMaterial {
  readonly aesKeyHex: string;
  readonly rsaPem: string;
  readonly ecPem: string;
}

/** Fresh keys: AES-256, RSA-2048 with e = 65537 (the only exponent the daemon accepts), EC on P-256. */
export function makeCryptoMaterial(): CryptoMaterial {
  const privateKeyEncoding = { type: "pkcs8", format: "pem" } as const;
  const publicKeyEncoding = { type: "spki", format: "pem" } as const;
  const rsa = generateKeyPairSync("rsa", { modulusLength: RSA_MODULUS_BITS, publicExponent: 65537, privateKeyEncoding, publicKeyEncoding });
  const ec = generateKeyPairSync("ec", { namedCurve: "prime256v1", privateKeyEncoding, publicKeyEncoding });
  return { aesKeyHex: randomBytes(32).toString("hex"), rsaPem: rsa.privateKey, ecPem: ec.privateKey };
}

/** The message every sign row signs: the same fixed bytes everywhere (the cost does not depend on them). */
export function signMessage(): Buffer {
  return Buffer.from(Array.from({ length: SIGN_MESSAGE_BYTES }, (_, i) => i & 0xff));
}

/** The plaintext every AES-GCM row encrypts. */
export function gcmPlaintext(): Buffer {
  return Buffer.alloc(GCM_PLAINTEXT_BYTES, 0x5a);
}

/** The private key of a sign operation as a node:crypto KeyObject. */
export function signingKey(material: CryptoMaterial, op: Exclude<CryptoOp, "aesGcmEncrypt">): KeyObject {
  return createPrivateKey(op === "rsaSign" ? material.rsaPem : material.ecPem);
}
