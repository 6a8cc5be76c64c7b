// AES key wrap in its three forms: RFC 3394, RFC 5649, and CloudHSM's PKCS#5-padded RFC 3394 (KMU mechanism 4), for the HSM and the host (-wk) alike.
import { createCipheriv, createDecipheriv } from "node:crypto";

/** RFC 3394 section 2.2.3.1 default initial value. */
const RFC3394_IV = Buffer.from("a6a6a6a6a6a6a6a6", "hex");
/** RFC 5649 section 3 alternative initial value (the 32-bit constant; node appends the length). */
const RFC5649_IV = Buffer.from("a65959a6", "hex");

/** Raised when unwrapping fails its integrity check: wrong key or damaged blob. */
export class UnwrapIntegrityError extends Error {
  constructor() {
    super("AES key unwrap integrity check failed");
    this.name = "UnwrapIntegrityError";
  }
}

function kekBits(kek: Buffer): 128 | 192 | 256 {
  switch (kek.length) {
    case 16:
      return 128;
    case 24:
      return 192;
    case 32:
      return 256;
    default:
      throw new RangeError(`AES wrapping key must be 16, 24 or 32 bytes, got ${kek.length}`);
  }
}

function run(cipher: { update(b: Buffer): Buffer; final(): Buffer }, input: Buffer): Buffer {
  return Buffer.concat([cipher.update(input), cipher.final()]);
}

/** RFC 3394 wrap; the input must be a multiple of 8 bytes and at least 16 bytes. */
export function aesKeyWrap(kek: Buffer, plaintext: Buffer): Buffer {
  if (plaintext.length < 16 || plaintext.length % 8 !== 0) {
    throw new RangeError("RFC 3394 input must be a multiple of 8 bytes and at least 16 bytes");
  }
  return run(createCipheriv(`id-aes${kekBits(kek)}-wrap`, kek, RFC3394_IV), plaintext);
}

/** RFC 3394 unwrap; throws UnwrapIntegrityError when the integrity check fails. */
export function aesKeyUnwrap(kek: Buffer, wrapped: Buffer): Buffer {
  if (wrapped.length < 24 || wrapped.length % 8 !== 0) throw new UnwrapIntegrityError();
  try {
    return run(createDecipheriv(`id-aes${kekBits(kek)}-wrap`, kek, RFC3394_IV), wrapped);
  } catch (err) {
    if (err instanceof RangeError) throw err;
    throw new UnwrapIntegrityError();
  }
}

/** RFC 5649 wrap with padding; any non-empty input length. */
export function aesKeyWrapPad(kek: Buffer, plaintext: Buffer): Buffer {
  if (plaintext.length === 0) throw new RangeError("RFC 5649 input must not be empty");
  return run(createCipheriv(`id-aes${kekBits(kek)}-wrap-pad`, kek, RFC5649_IV), plaintext);
}

/** RFC 5649 unwrap; throws UnwrapIntegrityError when the integrity check fails. */
export function aesKeyUnwrapPad(kek: Buffer, wrapped: Buffer): Buffer {
  if (wrapped.length < 16 || wrapped.length % 8 !== 0) throw new UnwrapIntegrityError();
  try {
    return run(createDecipheriv(`id-aes${kekBits(kek)}-wrap-pad`, kek, RFC5649_IV), wrapped);
  } catch (err) {
    if (err instanceof RangeError) throw err;
    throw new UnwrapIntegrityError();
  }
}

/**
 * CloudHSM "AES key wrap with PKCS#5 padding" (KMU -m 4): pad to a multiple of 8 with
 * PKCS#5 (always 1 to 8 bytes, so an aligned key grows by 8), then RFC 3394.
 */
export function aesKeyWrapPkcs5(kek: Buffer, plaintext: Buffer): Buffer {
  if (plaintext.length === 0) throw new RangeError("key material must not be empty");
  const padLength = 8 - (plaintext.length % 8);
  return aesKeyWrap(kek, Buffer.concat([plaintext, Buffer.alloc(padLength, padLength)]));
}

/** Inverse of aesKeyWrapPkcs5; a bad pad is an integrity failure like a bad RFC 3394 check. */
export function aesKeyUnwrapPkcs5(kek: Buffer, wrapped: Buffer): Buffer {
  const padded = aesKeyUnwrap(kek, wrapped);
  const padLength = padded[padded.length - 1] ?? 0;
  if (padLength < 1 || padLength > 8 || padLength >= padded.length) {
    padded.fill(0);
    throw new UnwrapIntegrityError();
  }
  for (let i = padded.length - padLength; i < padded.length; i++) {
    if (padded[i] !== padLength) {
      padded.fill(0);
      throw new UnwrapIntegrityError();
    }
  }
  const key = Buffer.from(padded.subarray(0, padded.length - padLength));
  padded.fill(0);
  return key;
}
