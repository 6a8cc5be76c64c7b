// The crypto floor: each crypto row's operation done directly with node:crypto (synchronously, one call at a time), and the checks every implementation's output must pass.
import { createCipheriv, createDecipheriv, createHash, createPublicKey, KeyObject, randomBytes, sign, verify } from "node:crypto";
import { CryptoMaterial, CryptoOp, GCM_IV_BYTES, GCM_PLAINTEXT_BYTES, GCM_TAG_BYTES, gcmPlaintext, RSA_SIGNATURE_BYTES, signingKey, signMessage } from "./cryptoMaterial";

/** One call of an operation, as a floor worker repeats it; returns nothing so the loop measures only the work. */
export type CryptoCall = () => void;

/** An implementation of one operation: the call to repeat and a one-off check that it does the right thing. */
export interface CryptoImplementation {
  readonly call: CryptoCall;
  /** The asynchronous form, when the implementation has one worth measuring (it is then measured instead of `call`). */
  readonly callAsync?: (done: (error: Error | null, signature?: Buffer) => void) => void;
  /** Runs the operation once and checks the result independently; a description of what is wrong, or undefined. */
  selfCheck(): string | undefined;
  close(): void;
}

/** AES-GCM output as the daemon returns it: ciphertext without the tag, the HSM-made IV, the tag. */
export interface GcmOutput {
  readonly ciphertext: Buffer;
  readonly iv: Buffer;
  readonly tag: Buffer;
}

/** node:crypto's AES-256-GCM with a fresh random 12-byte IV, as the daemon must make one per call. */
export function nodeGcmEncrypt(key: Buffer, plaintext: Buffer): GcmOutput {
  const iv = randomBytes(GCM_IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: GCM_TAG_BYTES });
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, iv, tag: cipher.getAuthTag() };
}

/** Why an AES-GCM output does not decrypt to the bench's plaintext under the bench's key, or undefined. */
export function checkGcmOutput(material: CryptoMaterial, out: GcmOutput): string | undefined {
  if (out.iv.length !== GCM_IV_BYTES) return `IV of ${out.iv.length} bytes, expected ${GCM_IV_BYTES}`;
  if (out.tag.length !== GCM_TAG_BYTES) return `tag of ${out.tag.length} bytes, expected ${GCM_TAG_BYTES}`;
  if (out.ciphertext.length !== GCM_PLAINTEXT_BYTES) return `ciphertext of ${out.ciphertext.length} bytes, expected ${GCM_PLAINTEXT_BYTES}`;
  try {
    const decipher = createDecipheriv("aes-256-gcm", Buffer.from(material.aesKeyHex, "hex"), out.iv, { authTagLength: GCM_TAG_BYTES });
    decipher.setAuthTag(out.tag);
    const plaintext = Buffer.concat([decipher.update(out.ciphertext), decipher.final()]);
    return plaintext.equals(gcmPlaintext()) ? undefined : "decrypts to other bytes";
  } catch {
    return "the tag does not check under the bench's key";
  }
}

/** Why a signature of the bench's message is not valid under the bench's public key, or undefined. */
export function checkSignature(material: CryptoMaterial, op: Exclude<CryptoOp, "aesGcmEncrypt">, signature: Buffer, encoding: "der" | "ieee-p1363" = "der"): string | undefined {
  if (op === "rsaSign" && signature.length !== RSA_SIGNATURE_BYTES) return `RSA signature of ${signature.length} bytes, expected ${RSA_SIGNATURE_BYTES}`;
  const publicKey = createPublicKey(signingKey(material, op));
  const key = op === "ecdsaSign" ? { key: publicKey, dsaEncoding: encoding } : publicKey;
  return verify("sha256", signMessage(), key, signature) ? undefined : "the signature does not verify under the bench's public key";
}

/** The SHA-256 digest of the message, for signers that take a digest (SoftHSM2's CKM_ECDSA). */
export function signMessageDigest(): Buffer {
  return createHash("sha256").update(signMessage()).digest();
}

/** Signatures in flight at once in the async rows: libuv's default thread pool size, what the daemon's signs share. */
export const ASYNC_IN_FLIGHT = 4;

/**
 * node:crypto's callback form of sign, which runs on libuv's thread pool: how the daemon signs data (it keeps its
 * event loop free). The difference to the synchronous floor is the cost of handing work to the pool and back.
 */
export function nodeAsyncImplementation(op: Exclude<CryptoOp, "aesGcmEncrypt">, material: CryptoMaterial): CryptoImplementation {
  const sync = nodeImplementation(op, material);
  const key = signingKey(material, op);
  const message = signMessage();
  return { ...sync, callAsync: (done) => sign("sha256", message, key, (err, signature) => done(err, signature)) };
}

/** node:crypto doing the operation itself: the cost floor any HSM implementation adds its overhead to. */
export function nodeImplementation(op: CryptoOp, material: CryptoMaterial): CryptoImplementation {
  if (op === "aesGcmEncrypt") {
    const key = Buffer.from(material.aesKeyHex, "hex");
    const plaintext = gcmPlaintext();
    return {
      call: () => void nodeGcmEncrypt(key, plaintext),
      selfCheck: () => checkGcmOutput(material, nodeGcmEncrypt(key, plaintext)),
      close: () => undefined,
    };
  }
  const key: KeyObject = signingKey(material, op);
  const message = signMessage();
  // RSA: PKCS#1 v1.5 is node's default padding for RSA keys; ECDSA: DER signatures, the daemon's default encoding.
  const once = (): Buffer => sign("sha256", message, key);
  return {
    call: () => void once(),
    selfCheck: () => checkSignature(material, op, once()),
    close: () => undefined,
  };
}
