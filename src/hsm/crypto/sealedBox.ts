// Encryption at rest: AES-256-GCM under the daemon's master key, bound to the row it belongs to.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** A ciphertext as stored: nonce, GCM tag and encrypted bytes. */
export interface SealedBytes {
  nonce: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export const MASTER_KEY_LENGTH = 32;
const GCM_TAG_LENGTH = 16;

/** Raised when a stored ciphertext does not authenticate under the master key. */
export class SealedBoxOpenError extends Error {
  constructor() {
    super("stored key material does not authenticate under the master key");
    this.name = "SealedBoxOpenError";
  }
}

/** Seals and opens byte strings; the associated data binds each ciphertext to its owner row. */
export class SealedBox {
  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== MASTER_KEY_LENGTH) throw new RangeError("master key must be 32 bytes");
  }

  seal(plaintext: Buffer, associatedData: string): SealedBytes {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.masterKey, nonce, { authTagLength: GCM_TAG_LENGTH });
    cipher.setAAD(Buffer.from(associatedData, "utf8"));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { nonce, tag: cipher.getAuthTag(), ciphertext };
  }

  open(sealed: SealedBytes, associatedData: string): Buffer {
    try {
      // A fixed tag length: Node would otherwise accept a truncated tag and check only its prefix.
      if (sealed.tag.length !== GCM_TAG_LENGTH) throw new SealedBoxOpenError();
      const decipher = createDecipheriv("aes-256-gcm", this.masterKey, sealed.nonce, { authTagLength: GCM_TAG_LENGTH });
      decipher.setAAD(Buffer.from(associatedData, "utf8"));
      decipher.setAuthTag(sealed.tag);
      return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
    } catch {
      throw new SealedBoxOpenError();
    }
  }
}
