// Block-cipher encryption the HSM offers (AES-GCM/CBC/CTR/ECB, 3DES-CBC/ECB) and the rules on their parameters.
import { CipherGCMTypes, createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { HsmError } from "../errors";

/** How Encrypt and Decrypt transform data; the names follow the proto's CipherMechanism. */
export type CipherMechanism = "AES_GCM" | "AES_CBC_PAD" | "AES_CBC" | "AES_CTR" | "AES_ECB" | "DES3_CBC_PAD" | "DES3_CBC" | "DES3_ECB" | "RSA_OAEP";
export type SymmetricMechanism = Exclude<CipherMechanism, "RSA_OAEP">;

/** Largest plaintext (or MAC input) one call takes, as the proto documents. */
export const MAX_DATA_BYTES = 65536;
/** The IV the HSM makes for every GCM encryption (NIST SP 800-38D's recommended 96 bits). */
export const GCM_IV_BYTES = 12;
export const GCM_MIN_TAG_BYTES = 12;
export const GCM_MAX_TAG_BYTES = 16;

interface ModeRules {
  readonly cipher: "AES" | "DES3";
  readonly mode: "gcm" | "cbc" | "ctr" | "ecb";
  readonly padded: boolean;
  readonly blockBytes: number;
  /** Length of the IV the caller gives; 0 when the caller gives none (ECB, and GCM whose IV the HSM makes). */
  readonly callerIvBytes: number;
}

const MODES: Readonly<Record<SymmetricMechanism, ModeRules>> = {
  AES_GCM: { cipher: "AES", mode: "gcm", padded: false, blockBytes: 16, callerIvBytes: 0 },
  AES_CBC_PAD: { cipher: "AES", mode: "cbc", padded: true, blockBytes: 16, callerIvBytes: 16 },
  AES_CBC: { cipher: "AES", mode: "cbc", padded: false, blockBytes: 16, callerIvBytes: 16 },
  AES_CTR: { cipher: "AES", mode: "ctr", padded: false, blockBytes: 16, callerIvBytes: 16 },
  AES_ECB: { cipher: "AES", mode: "ecb", padded: false, blockBytes: 16, callerIvBytes: 0 },
  DES3_CBC_PAD: { cipher: "DES3", mode: "cbc", padded: true, blockBytes: 8, callerIvBytes: 8 },
  DES3_CBC: { cipher: "DES3", mode: "cbc", padded: false, blockBytes: 8, callerIvBytes: 8 },
  DES3_ECB: { cipher: "DES3", mode: "ecb", padded: false, blockBytes: 8, callerIvBytes: 0 },
};

export function isSymmetricMechanism(mechanism: CipherMechanism): mechanism is SymmetricMechanism {
  return mechanism !== "RSA_OAEP";
}

/** The block cipher a symmetric mechanism needs its key to be for. */
export function cipherOf(mechanism: SymmetricMechanism): "AES" | "DES3" {
  return MODES[mechanism].cipher;
}

/** What Encrypt is given besides the key. Empty buffers mean "not given", as on the wire. */
export interface EncryptInput {
  readonly data: Buffer;
  readonly iv: Buffer;
  readonly aad: Buffer;
  /** GCM tag length in bytes; 0 means 16. */
  readonly tagLength: number;
}

export interface DecryptInput {
  readonly data: Buffer;
  readonly iv: Buffer;
  readonly aad: Buffer;
  readonly tag: Buffer;
}

export interface Encrypted {
  readonly ciphertext: Buffer;
  /** The IV used: the HSM's for GCM, the caller's for CBC and CTR, empty for ECB. */
  readonly iv: Buffer;
  /** The GCM tag; empty for other mechanisms. */
  readonly tag: Buffer;
}

function paramInvalid(mechanism: CipherMechanism, field: string, why: string, details: Record<string, number> = {}): HsmError {
  return new HsmError("MECHANISM_PARAM_INVALID", `${mechanism}: ${why}`, { mechanism, field, ...details });
}

function tooLarge(field: string, length: number, max: number): HsmError {
  return new HsmError("DATA_TOO_LARGE", `${field} is at most ${max} bytes`, { field, length, max_length: max });
}

function notWholeBlocks(mechanism: CipherMechanism, length: number, blockBytes: number): HsmError {
  return new HsmError("DATA_LENGTH_INVALID", `${mechanism} takes whole ${blockBytes}-byte blocks`, { mechanism, length, block_size: blockBytes });
}

/** The rules of a mechanism's IV, AAD and tag, shared by both directions; they depend on the request only. */
function checkCommon(mechanism: CipherMechanism, rules: ModeRules | undefined, iv: Buffer, aad: Buffer): void {
  if (aad.length > MAX_DATA_BYTES) throw tooLarge("aad", aad.length, MAX_DATA_BYTES);
  if (aad.length > 0 && rules?.mode !== "gcm") throw paramInvalid(mechanism, "aad", "additional authenticated data is for GCM only");
  if (rules?.mode === "gcm") return;
  // ECB and RSA take no IV.
  const ivBytes = rules?.callerIvBytes ?? 0;
  if (iv.length !== ivBytes) {
    throw ivBytes === 0
      ? paramInvalid(mechanism, "iv", "takes no IV", { iv_length: iv.length })
      : paramInvalid(mechanism, "iv", `takes a ${ivBytes}-byte IV`, { iv_length: iv.length, expected_length: ivBytes });
  }
}

/** Refuses what Encrypt cannot do with these parameters, before any key is looked at. */
export function checkEncryptInput(mechanism: CipherMechanism, input: EncryptInput): void {
  if (input.data.length > MAX_DATA_BYTES) throw tooLarge("plaintext", input.data.length, MAX_DATA_BYTES);
  const rules = isSymmetricMechanism(mechanism) ? MODES[mechanism] : undefined;
  checkCommon(mechanism, rules, input.iv, input.aad);
  if (rules?.mode === "gcm") {
    // CloudHSM makes GCM IVs itself, so no two encryptions under one key share one by a caller's mistake.
    if (input.iv.length > 0) throw paramInvalid(mechanism, "iv", "the HSM makes the GCM IV; give none", { iv_length: input.iv.length });
    if (input.tagLength !== 0 && (input.tagLength < GCM_MIN_TAG_BYTES || input.tagLength > GCM_MAX_TAG_BYTES)) {
      throw paramInvalid(mechanism, "tag_length", `the GCM tag is ${GCM_MIN_TAG_BYTES} to ${GCM_MAX_TAG_BYTES} bytes`, { tag_length: input.tagLength });
    }
    return;
  }
  if (input.tagLength !== 0) throw paramInvalid(mechanism, "tag_length", "a tag length is for GCM only", { tag_length: input.tagLength });
  if (rules && !rules.padded && rules.mode !== "ctr" && input.data.length % rules.blockBytes !== 0) {
    throw notWholeBlocks(mechanism, input.data.length, rules.blockBytes);
  }
}

/** Refuses what Decrypt cannot do with these parameters, before any key is looked at. */
export function checkDecryptInput(mechanism: CipherMechanism, input: DecryptInput): void {
  const rules = isSymmetricMechanism(mechanism) ? MODES[mechanism] : undefined;
  // Padding may add one block to the largest plaintext.
  const max = MAX_DATA_BYTES + (rules?.blockBytes ?? 0);
  if (input.data.length > max) throw tooLarge("ciphertext", input.data.length, max);
  checkCommon(mechanism, rules, input.iv, input.aad);
  if (rules?.mode === "gcm") {
    if (input.iv.length !== GCM_IV_BYTES) throw paramInvalid(mechanism, "iv", `takes the ${GCM_IV_BYTES}-byte IV Encrypt returned`, { iv_length: input.iv.length });
    if (input.tag.length < GCM_MIN_TAG_BYTES || input.tag.length > GCM_MAX_TAG_BYTES) {
      throw paramInvalid(mechanism, "tag", `the GCM tag is ${GCM_MIN_TAG_BYTES} to ${GCM_MAX_TAG_BYTES} bytes`, { tag_length: input.tag.length });
    }
    return;
  }
  if (input.tag.length > 0) throw paramInvalid(mechanism, "tag", "a tag is for GCM only", { tag_length: input.tag.length });
  if (rules && rules.mode !== "ctr" && (input.data.length % rules.blockBytes !== 0 || (rules.padded && input.data.length === 0))) {
    throw notWholeBlocks(mechanism, input.data.length, rules.blockBytes);
  }
}

function nodeCipherName(rules: ModeRules, key: Buffer): string {
  return rules.cipher === "AES" ? `aes-${key.length * 8}-${rules.mode}` : `des-ede3-${rules.mode}`;
}

function gcmName(key: Buffer): CipherGCMTypes {
  const bits = key.length * 8;
  if (bits !== 128 && bits !== 192 && bits !== 256) throw new RangeError("AES keys are 16, 24 or 32 bytes");
  return `aes-${bits}-gcm`;
}

/** AES-GCM with a given IV: exposed for known-answer tests; Encrypt always uses an IV the HSM made. */
export function gcmEncrypt(key: Buffer, iv: Buffer, plaintext: Buffer, aad: Buffer, tagLength: number): Encrypted {
  const cipher = createCipheriv(gcmName(key), key, iv, { authTagLength: tagLength });
  if (aad.length > 0) cipher.setAAD(aad);
  const ciphertext = cipher.update(plaintext);
  // GCM is a stream mode: final() returns nothing, so the usual Buffer.concat would only copy the whole ciphertext.
  const rest = cipher.final();
  return { ciphertext: rest.length === 0 ? ciphertext : Buffer.concat([ciphertext, rest]), iv, tag: cipher.getAuthTag() };
}

/** AES-GCM decryption; a tag that does not check is ENCRYPTED_DATA_INVALID and no plaintext is returned. */
export function gcmDecrypt(key: Buffer, iv: Buffer, ciphertext: Buffer, aad: Buffer, tag: Buffer): Buffer {
  const decipher = createDecipheriv(gcmName(key), key, iv, { authTagLength: tag.length });
  decipher.setAuthTag(tag);
  if (aad.length > 0) decipher.setAAD(aad);
  const unverified = decipher.update(ciphertext);
  try {
    decipher.final();
  } catch {
    unverified.fill(0);
    throw new HsmError("ENCRYPTED_DATA_INVALID", "the GCM tag does not match the ciphertext, IV and AAD", { mechanism: "AES_GCM" });
  }
  return unverified;
}

/** Encrypts with a checked mechanism and input (see checkEncryptInput). */
export function symmetricEncrypt(mechanism: SymmetricMechanism, key: Buffer, input: EncryptInput): Encrypted {
  const rules = MODES[mechanism];
  if (rules.mode === "gcm") return gcmEncrypt(key, randomBytes(GCM_IV_BYTES), input.data, input.aad, input.tagLength || GCM_MAX_TAG_BYTES);
  const cipher = createCipheriv(nodeCipherName(rules, key), key, rules.callerIvBytes > 0 ? input.iv : null).setAutoPadding(rules.padded);
  const ciphertext = Buffer.concat([cipher.update(input.data), cipher.final()]);
  return { ciphertext, iv: input.iv, tag: Buffer.alloc(0) };
}

/** Decrypts with a checked mechanism and input (see checkDecryptInput); bad padding is ENCRYPTED_DATA_INVALID. */
export function symmetricDecrypt(mechanism: SymmetricMechanism, key: Buffer, input: DecryptInput): Buffer {
  const rules = MODES[mechanism];
  if (rules.mode === "gcm") return gcmDecrypt(key, input.iv, input.data, input.aad, input.tag);
  const decipher = createDecipheriv(nodeCipherName(rules, key), key, rules.callerIvBytes > 0 ? input.iv : null).setAutoPadding(rules.padded);
  const head = decipher.update(input.data);
  try {
    return Buffer.concat([head, decipher.final()]);
  } catch {
    head.fill(0);
    throw new HsmError("ENCRYPTED_DATA_INVALID", "the padding of the last block is not valid PKCS#7", { mechanism });
  }
}
