// Signature mechanisms over data or a digest: RSA PKCS#1 v1.5, RSA-PSS (MGF1 with the same hash) and ECDSA (DER or IEEE P1363 layout).
import { constants, createHash, privateDecrypt, privateEncrypt, publicDecrypt, publicEncrypt, randomBytes, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from "node:crypto";
import { promisify } from "node:util";
import { HsmError } from "../errors";
import { AsymmetricView } from "./asymmetricKeys";
import { ecdsaSignDigest, ecdsaVerifyDigest } from "./ecdsaDigest";
import { NODE_DIGEST_LENGTH, NodeHashName } from "./hashAlgorithms";

export type SignMechanism = "RSA_PKCS1_V15" | "RSA_PSS" | "ECDSA";
export type HashName = NodeHashName;
export type SignatureLayout = "der" | "raw";

export const HASH_BYTES = NODE_DIGEST_LENGTH;

/** DER of DigestInfo up to the digest (RFC 8017 9.2 note 1). */
const DIGEST_INFO_PREFIX: Readonly<Record<HashName, Buffer>> = {
  sha1: Buffer.from("3021300906052b0e03021a05000414", "hex"),
  sha224: Buffer.from("302d300d06096086480165030402040500041c", "hex"),
  sha256: Buffer.from("3031300d060960864801650304020105000420", "hex"),
  sha384: Buffer.from("3041300d060960864801650304020205000430", "hex"),
  sha512: Buffer.from("3051300d060960864801650304020305000440", "hex"),
};

/** What is signed or verified, and how. */
export interface SignatureSpec {
  readonly mechanism: SignMechanism;
  readonly hash: HashName;
  readonly input: { readonly kind: "data" | "digest"; readonly bytes: Buffer };
  /** PSS salt length in bytes; the hash's length when undefined. */
  readonly saltLength: number | undefined;
  readonly layout: SignatureLayout;
}

const signAsync = promisify(cryptoSign);
const verifyAsync = promisify(cryptoVerify);

/**
 * Checks what does not depend on the signature: digest length and PSS salt length. The key type
 * and class are the caller's to check.
 */
export function checkSpec(view: AsymmetricView, spec: SignatureSpec): void {
  if (spec.input.kind === "digest" && spec.input.bytes.length !== HASH_BYTES[spec.hash]) {
    throw new HsmError("DATA_LENGTH_INVALID", `a ${spec.hash} digest is ${HASH_BYTES[spec.hash]} bytes`, {
      digest_length: spec.input.bytes.length,
      expected: HASH_BYTES[spec.hash],
    });
  }
  if (spec.mechanism === "RSA_PSS" && view.facts.kind === "rsa") {
    const salt = saltOf(spec);
    const max = Math.ceil((view.facts.modulusBits - 1) / 8) - HASH_BYTES[spec.hash] - 2;
    if (salt > max) throw new HsmError("MECHANISM_PARAM_INVALID", `the PSS salt is at most ${max} bytes for this key and hash`, { salt_length: salt, max });
  }
}

/** Signs with the view's private key; runs node:crypto's one-shot sign off the event loop when it hashes the data. */
export async function signWith(view: AsymmetricView, spec: SignatureSpec): Promise<Buffer> {
  const key = view.privateKey;
  if (!key) throw new Error("signWith needs a private key");
  checkSpec(view, spec);
  const { mechanism, hash, input } = spec;
  if (input.kind === "data") {
    if (mechanism === "ECDSA") return signAsync(hash, input.bytes, { key, dsaEncoding: spec.layout === "raw" ? "ieee-p1363" : "der" });
    if (mechanism === "RSA_PSS") return signAsync(hash, input.bytes, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltOf(spec) });
    return signAsync(hash, input.bytes, { key, padding: constants.RSA_PKCS1_PADDING });
  }
  if (mechanism === "RSA_PKCS1_V15") {
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO_PREFIX[hash], input.bytes]));
  }
  if (mechanism === "RSA_PSS") {
    const facts = rsaFactsOf(view);
    const encoded = pssEncode(input.bytes, hash, saltOf(spec), facts.modulusBits - 1);
    // The raw RSA private operation on the encoded message is the PSS signature (RFC 8017 8.1.1).
    return privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, leftPad(encoded, facts.modulus.length));
  }
  const jwk = key.export({ format: "jwk" });
  const d = BigInt(`0x${Buffer.from(jwk.d ?? "", "base64url").toString("hex")}`);
  const facts = ecFactsOf(view);
  const { r, s } = ecdsaSignDigest(facts.curve, d, input.bytes);
  return spec.layout === "raw" ? Buffer.concat([intBytes(r, facts.fieldBytes), intBytes(s, facts.fieldBytes)]) : derSignature(r, s);
}

/** Checks a signature with the view's public key; SIGNATURE_LENGTH_INVALID or SIGNATURE_INVALID when it does not verify. */
export async function verifyWith(view: AsymmetricView, spec: SignatureSpec, signature: Buffer): Promise<void> {
  checkSpec(view, spec);
  checkSignatureLength(view, spec, signature);
  if (!(await verifies(view, spec, signature))) throw new HsmError("SIGNATURE_INVALID", "the signature does not verify");
}

function checkSignatureLength(view: AsymmetricView, spec: SignatureSpec, signature: Buffer): void {
  const facts = view.facts;
  let expected: number | undefined;
  if (facts.kind === "rsa") expected = facts.modulus.length;
  else if (spec.layout === "raw") expected = 2 * facts.fieldBytes;
  if (expected !== undefined && signature.length !== expected) {
    throw new HsmError("SIGNATURE_LENGTH_INVALID", `the signature must be ${expected} bytes`, { signature_length: signature.length, expected });
  }
  // A DER ECDSA signature is a SEQUENCE of two integers of at most the field size each.
  if (facts.kind === "ec" && spec.layout === "der" && (signature.length < 8 || signature.length > 2 * facts.fieldBytes + 9)) {
    throw new HsmError("SIGNATURE_LENGTH_INVALID", "the DER signature has an impossible length", { signature_length: signature.length });
  }
}

async function verifies(view: AsymmetricView, spec: SignatureSpec, signature: Buffer): Promise<boolean> {
  const key = view.publicKey;
  const { mechanism, hash, input } = spec;
  if (input.kind === "data") {
    if (mechanism === "ECDSA") return verifyAsync(hash, input.bytes, { key, dsaEncoding: spec.layout === "raw" ? "ieee-p1363" : "der" }, signature);
    if (mechanism === "RSA_PSS") return verifyAsync(hash, input.bytes, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltOf(spec) }, signature);
    return verifyAsync(hash, input.bytes, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  }
  if (mechanism === "RSA_PKCS1_V15") {
    let recovered: Buffer;
    try {
      recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
    } catch {
      return false;
    }
    const expected = Buffer.concat([DIGEST_INFO_PREFIX[hash], input.bytes]);
    return recovered.length === expected.length && timingSafeEqual(recovered, expected);
  }
  if (mechanism === "RSA_PSS") {
    const facts = rsaFactsOf(view);
    let opened: Buffer;
    try {
      opened = publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, signature);
    } catch {
      return false; // the signature is not smaller than the modulus
    }
    return pssVerify(input.bytes, opened, hash, saltOf(spec), facts.modulusBits - 1);
  }
  const facts = ecFactsOf(view);
  const rs = spec.layout === "raw" ? splitRaw(signature, facts.fieldBytes) : parseDerSignature(signature);
  if (!rs) return false;
  const point = facts.ecPoint.subarray(facts.ecPoint.length - 2 * facts.fieldBytes);
  const qx = toBigInt(point.subarray(0, facts.fieldBytes));
  const qy = toBigInt(point.subarray(facts.fieldBytes));
  return ecdsaVerifyDigest(facts.curve, qx, qy, input.bytes, rs.r, rs.s);
}

function saltOf(spec: SignatureSpec): number {
  return spec.saltLength ?? HASH_BYTES[spec.hash];
}

function rsaFactsOf(view: AsymmetricView): Extract<AsymmetricView["facts"], { kind: "rsa" }> {
  if (view.facts.kind !== "rsa") throw new Error("not an RSA key");
  return view.facts;
}

function ecFactsOf(view: AsymmetricView): Extract<AsymmetricView["facts"], { kind: "ec" }> {
  if (view.facts.kind !== "ec") throw new Error("not an EC key");
  return view.facts;
}

/** MGF1 (RFC 8017 B.2.1). */
function mgf1(seed: Buffer, length: number, hash: HashName): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * HASH_BYTES[hash] < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(createHash(hash).update(seed).update(c).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** EMSA-PSS-ENCODE (RFC 8017 9.1.1) of a message hash. */
export function pssEncode(mHash: Buffer, hash: HashName, saltLength: number, emBits: number): Buffer {
  const hLen = HASH_BYTES[hash];
  const emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(saltLength);
  const H = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - saltLength - hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(H, emLen - hLen - 1, hash);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] ?? 0) ^ (mask[i] ?? 0);
  db[0] = (db[0] ?? 0) & (0xff >> (8 * emLen - emBits));
  return Buffer.concat([db, H, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY (RFC 8017 9.1.2); `opened` is the k-byte result of the public RSA operation. */
export function pssVerify(mHash: Buffer, opened: Buffer, hash: HashName, saltLength: number, emBits: number): boolean {
  const hLen = HASH_BYTES[hash];
  const emLen = Math.ceil(emBits / 8);
  if (opened.length < emLen || opened.subarray(0, opened.length - emLen).some((b) => b !== 0)) return false;
  const em = opened.subarray(opened.length - emLen);
  if (emLen < hLen + saltLength + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const H = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if (((maskedDb[0] ?? 0) & ~topMask & 0xff) !== 0) return false;
  const mask = mgf1(H, maskedDb.length, hash);
  const db = Buffer.from(maskedDb.map((b, i) => b ^ (mask[i] ?? 0)));
  db[0] = (db[0] ?? 0) & topMask;
  const psLength = emLen - hLen - saltLength - 2;
  if (db.subarray(0, psLength).some((b) => b !== 0) || db[psLength] !== 1) return false;
  const salt = db.subarray(db.length - saltLength);
  const expected = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return timingSafeEqual(expected, H);
}

function leftPad(bytes: Buffer, length: number): Buffer {
  return bytes.length >= length ? bytes : Buffer.concat([Buffer.alloc(length - bytes.length), bytes]);
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString("hex")}`);
}

function intBytes(v: bigint, length: number): Buffer {
  return Buffer.from(v.toString(16).padStart(length * 2, "0"), "hex");
}

function splitRaw(signature: Buffer, fieldBytes: number): { r: bigint; s: bigint } {
  return { r: toBigInt(signature.subarray(0, fieldBytes)), s: toBigInt(signature.subarray(fieldBytes)) };
}

/** DER INTEGER content of a positive value: minimal, with a 0x00 when the top bit is set. */
function derInteger(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, "hex");
  const content = (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return Buffer.concat([Buffer.from([0x02]), derLength(content.length), content]);
}

function derLength(n: number): Buffer {
  return n < 0x80 ? Buffer.from([n]) : Buffer.from([0x81, n]);
}

/** X9.62 Ecdsa-Sig-Value: SEQUENCE { r INTEGER, s INTEGER }. */
function derSignature(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** Strict DER parse of an ECDSA signature; undefined for anything else. */
export function parseDerSignature(der: Buffer): { r: bigint; s: bigint } | undefined {
  let at = 0;
  const readLength = (): number | undefined => {
    const first = der[at++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    if (first !== 0x81) return undefined;
    const n = der[at++];
    return n !== undefined && n >= 0x80 ? n : undefined;
  };
  const readInteger = (): bigint | undefined => {
    if (der[at++] !== 0x02) return undefined;
    const n = readLength();
    if (n === undefined || n === 0 || at + n > der.length) return undefined;
    const content = der.subarray(at, at + n);
    at += n;
    // Negative or non-minimal integers are not DER.
    if ((content[0] ?? 0) & 0x80) return undefined;
    if (content.length > 1 && content[0] === 0 && ((content[1] ?? 0) & 0x80) === 0) return undefined;
    return toBigInt(content);
  };
  if (der[at++] !== 0x30) return undefined;
  const total = readLength();
  if (total === undefined || at + total !== der.length) return undefined;
  const r = readInteger();
  const s = readInteger();
  if (r === undefined || s === undefined || at !== der.length) return undefined;
  return { r, s };
}
