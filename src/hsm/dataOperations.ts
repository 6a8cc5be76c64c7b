// Encrypt, Decrypt, Mac and VerifyMac: a crypto user applies a key it owns or has shared to data, as the key's type and flags allow.
import { CipherMechanism, checkDecryptInput, checkEncryptInput, cipherOf, DecryptInput, Encrypted, EncryptInput, isSymmetricMechanism, MAX_DATA_BYTES, symmetricDecrypt, symmetricEncrypt } from "./crypto/ciphers";
import { asymmetricView } from "./crypto/asymmetricKeys";
import { DIGEST_LENGTH, HashAlgorithm } from "./crypto/hashAlgorithms";
import { hmac, hmacMatches } from "./crypto/hmac";
import { oaepDecrypt, oaepEncrypt } from "./crypto/rsaOaep";
import { HsmError } from "./errors";
import { KeyObject } from "./key";
import { KeyGuards, requireCryptoUser } from "./keyGuards";
import { KeyClass, KeyType } from "./keyTypes";
import { LoginSession } from "./sessions";

export interface EncryptParams extends EncryptInput {
  readonly handle: number;
  readonly mechanism: CipherMechanism;
  /** The OAEP digest for RSA_OAEP (SHA-256 when the caller names none). */
  readonly oaepHash: HashAlgorithm;
}

export interface DecryptParams extends DecryptInput {
  readonly handle: number;
  readonly mechanism: CipherMechanism;
  readonly oaepHash: HashAlgorithm;
}

export interface MacParams {
  readonly handle: number;
  readonly hash: HashAlgorithm;
  readonly data: Buffer;
}

export interface VerifyMacParams extends MacParams {
  readonly mac: Buffer;
}

type Use = "encrypt" | "decrypt" | "sign" | "verify";

/** The attribute each use needs set, as KMU names it in getAttribute. */
const FLAG_NAMES: Readonly<Record<Use, string>> = { encrypt: "OBJ_ATTR_ENCRYPT", decrypt: "OBJ_ATTR_DECRYPT", sign: "OBJ_ATTR_SIGN", verify: "OBJ_ATTR_VERIFY" };

/**
 * Every operation checks, in this order: a crypto user; the request alone (sizes, IV, AAD, tag, MAC length), so a
 * malformed request tells nothing about any key; a key the caller may use (one it cannot see is KEY_NOT_FOUND, as if
 * missing); the key's type against the mechanism; the key's usage flag. Nothing is stored or changed, so a refusal
 * changes nothing. Nothing here is audited: CloudHSM's audit log records management commands, not each use of a key.
 * Errors and their details never hold key material, plaintext or MACs.
 */
export class DataOperations {
  constructor(private readonly guards: KeyGuards) {}

  encrypt(session: LoginSession, params: EncryptParams): Encrypted {
    requireCryptoUser(session);
    checkEncryptInput(params.mechanism, params);
    const key = this.cipherKey(session, params.handle, params.mechanism, "encrypt");
    if (!isSymmetricMechanism(params.mechanism)) {
      const ciphertext = oaepEncrypt(asymmetricView(key.keyClass, key.material).publicKey, params.oaepHash, params.data);
      return { ciphertext, iv: Buffer.alloc(0), tag: Buffer.alloc(0) };
    }
    return symmetricEncrypt(params.mechanism, key.material, params);
  }

  decrypt(session: LoginSession, params: DecryptParams): Buffer {
    requireCryptoUser(session);
    checkDecryptInput(params.mechanism, params);
    const key = this.cipherKey(session, params.handle, params.mechanism, "decrypt");
    if (!isSymmetricMechanism(params.mechanism)) {
      const privateKey = asymmetricView(key.keyClass, key.material).privateKey;
      // cipherKey admitted a private RSA key only, whose view always has its private half.
      if (!privateKey) throw new HsmError("INTERNAL", "an RSA private key without its private half", { key_handle: key.handle });
      return oaepDecrypt(privateKey, params.oaepHash, params.data);
    }
    return symmetricDecrypt(params.mechanism, key.material, params);
  }

  mac(session: LoginSession, params: MacParams): Buffer {
    requireCryptoUser(session);
    checkMacData(params.data);
    const key = this.macKey(session, params.handle, "sign");
    return hmac(params.hash, key.material, params.data);
  }

  /** Resolves when the MAC matches; SIGNATURE_INVALID when it does not. */
  verifyMac(session: LoginSession, params: VerifyMacParams): void {
    requireCryptoUser(session);
    checkMacData(params.data);
    const expected = DIGEST_LENGTH[params.hash];
    if (params.mac.length !== expected) {
      throw new HsmError("SIGNATURE_LENGTH_INVALID", `an HMAC-${params.hash} is ${expected} bytes`, { hash: params.hash, mac_length: params.mac.length, expected_length: expected });
    }
    const key = this.macKey(session, params.handle, "verify");
    if (!hmacMatches(params.hash, key.material, params.data, params.mac)) {
      throw new HsmError("SIGNATURE_INVALID", "the MAC does not match the data", { key_handle: params.handle, hash: params.hash });
    }
  }

  /** A usable key of the type the mechanism needs, with the flag of the use set. */
  private cipherKey(session: LoginSession, handle: number, mechanism: CipherMechanism, use: "encrypt" | "decrypt"): KeyObject {
    const key = this.guards.usableKey(session, handle);
    const fits = isSymmetricMechanism(mechanism)
      ? key.keyClass === KeyClass.SECRET && key.keyType === (cipherOf(mechanism) === "AES" ? KeyType.AES : KeyType.DES3)
      : key.keyType === KeyType.RSA && key.keyClass === (use === "encrypt" ? KeyClass.PUBLIC : KeyClass.PRIVATE);
    if (!fits) {
      throw new HsmError("KEY_TYPE_MISMATCH", `${mechanism} cannot ${use} with a key of type ${key.keyType}, class ${key.keyClass}`, {
        key_handle: handle,
        mechanism,
        key_type: key.keyType,
        key_class: key.keyClass,
      });
    }
    requireFlag(key, use);
    return key;
  }

  private macKey(session: LoginSession, handle: number, use: "sign" | "verify"): KeyObject {
    const key = this.guards.usableKey(session, handle);
    if (key.keyType !== KeyType.GENERIC_SECRET) {
      throw new HsmError("KEY_TYPE_MISMATCH", `HMAC takes a generic-secret key (type ${KeyType.GENERIC_SECRET}), not type ${key.keyType}`, {
        key_handle: handle,
        key_type: key.keyType,
      });
    }
    requireFlag(key, use);
    return key;
  }
}

function requireFlag(key: KeyObject, use: Use): void {
  if (!key.flags[use]) {
    throw new HsmError("KEY_FUNCTION_NOT_PERMITTED", `the key's ${FLAG_NAMES[use]} is 0`, { key_handle: key.handle, attribute: FLAG_NAMES[use] });
  }
}

function checkMacData(data: Buffer): void {
  if (data.length > MAX_DATA_BYTES) throw new HsmError("DATA_TOO_LARGE", `data is at most ${MAX_DATA_BYTES} bytes`, { field: "data", length: data.length, max_length: MAX_DATA_BYTES });
}
