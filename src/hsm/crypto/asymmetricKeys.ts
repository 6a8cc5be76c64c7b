// RSA and EC key material: DER at rest (PKCS#8 private, SubjectPublicKeyInfo public), parsed once per key into node:crypto keys and public facts.
import { createHash, createPrivateKey, createPublicKey, KeyObject as CryptoKey } from "node:crypto";
import { HsmError } from "../errors";
import { KeyClass, KeyType } from "../keyTypes";

/** The curves the emulated HSM accepts (FIPS curves plus secp256k1, as genECCKeyPair documents). */
export type CurveName = "prime256v1" | "secp384r1" | "secp521r1" | "secp256k1";

interface CurveFacts {
  /** DER of the curve's OBJECT IDENTIFIER: the PKCS#11 CKA_EC_PARAMS value of a named curve. */
  readonly oidDer: Buffer;
  /** Bytes of one coordinate (and of ECDSA's r and s). */
  readonly fieldBytes: number;
}

export const CURVES: ReadonlyMap<CurveName, CurveFacts> = new Map<CurveName, CurveFacts>([
  ["prime256v1", { oidDer: Buffer.from("06082a8648ce3d030107", "hex"), fieldBytes: 32 }],
  ["secp384r1", { oidDer: Buffer.from("06052b81040022", "hex"), fieldBytes: 48 }],
  ["secp521r1", { oidDer: Buffer.from("06052b81040023", "hex"), fieldBytes: 66 }],
  ["secp256k1", { oidDer: Buffer.from("06052b8104000a", "hex"), fieldBytes: 32 }],
]);

/** RSA modulus sizes the HSM generates and imports (FIPS: no 1024-bit keys). */
export const RSA_MODULUS_BITS: readonly number[] = [2048, 3072, 4096];
export const RSA_MIN_IMPORT_BITS = 2048;
export const RSA_MAX_IMPORT_BITS = 4096;
/** The only public exponent accepted. */
export const RSA_PUBLIC_EXPONENT = 65537;

/** Public facts of an RSA or EC key, the same for both halves of a pair. */
export type PublicFacts =
  | {
      readonly kind: "rsa";
      /** Big-endian, no leading zero bytes (KMU OBJ_ATTR_MODULUS, findKey -m). */
      readonly modulus: Buffer;
      readonly modulusBits: number;
      /** Minimal big-endian bytes (OBJ_ATTR_PUBLIC_EXPONENT). */
      readonly publicExponent: Buffer;
    }
  | {
      readonly kind: "ec";
      readonly curve: CurveName;
      readonly fieldBytes: number;
      /** DER OBJECT IDENTIFIER of the curve (CKA_EC_PARAMS). */
      readonly ecParams: Buffer;
      /** DER OCTET STRING holding the uncompressed point (CKA_EC_POINT). */
      readonly ecPoint: Buffer;
    };

/** One key's parsed material: the node:crypto keys and its public facts. */
export interface AsymmetricView {
  readonly keyType: KeyType.RSA | KeyType.EC;
  readonly publicKey: CryptoKey;
  /** Present for private keys only. */
  readonly privateKey: CryptoKey | undefined;
  readonly facts: PublicFacts;
  /** DER SubjectPublicKeyInfo of the public half. */
  readonly spki: Buffer;
  /** First 3 bytes of SHA-1 over the SubjectPublicKeyInfo (AWS: "the SHA-1 hash of the public key"). */
  readonly kcv: Buffer;
}

/** The at-rest material and its view, from a node:crypto key of either class. */
export interface ParsedKey {
  readonly keyClass: KeyClass.PUBLIC | KeyClass.PRIVATE;
  readonly der: Buffer;
  readonly view: AsymmetricView;
}

/** Parsed views per at-rest material buffer: the buffer is shared by every copy of a key object, so parsing happens once. */
const views = new WeakMap<Buffer, AsymmetricView>();

/** The view of a stored key's material; parsed on first use and cached. */
export function asymmetricView(keyClass: KeyClass, material: Buffer): AsymmetricView {
  const cached = views.get(material);
  if (cached) return cached;
  const view = keyClass === KeyClass.PRIVATE ? viewOfPrivate(createPrivateKey({ key: material, format: "der", type: "pkcs8" })) : viewOfPublic(createPublicKey({ key: material, format: "der", type: "spki" }));
  views.set(material, view);
  return view;
}

/** The public facts of a stored key, undefined for a secret key. */
export function publicFacts(keyClass: KeyClass, material: Buffer): PublicFacts | undefined {
  return keyClass === KeyClass.SECRET ? undefined : asymmetricView(keyClass, material).facts;
}

/** Material and view for a node:crypto private key; the view is cached under the returned DER buffer. */
export function fromPrivateKey(privateKey: CryptoKey): ParsedKey {
  const der = privateKey.export({ format: "der", type: "pkcs8" });
  const view = viewOfPrivate(privateKey);
  views.set(der, view);
  return { keyClass: KeyClass.PRIVATE, der, view };
}

/** Material and view for a node:crypto public key. */
export function fromPublicKey(publicKey: CryptoKey): ParsedKey {
  const view = viewOfPublic(publicKey);
  const der = Buffer.from(view.spki);
  views.set(der, view);
  return { keyClass: KeyClass.PUBLIC, der, view };
}

/** A PEM public key (SubjectPublicKeyInfo or PKCS#1 RSA), checked against the sizes and curves the HSM takes. */
export function parsePublicPem(pem: string): ParsedKey {
  let key: CryptoKey;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch {
    throw new HsmError("KEY_ENCODING_INVALID", "the PEM is not a public key");
  }
  // createPublicKey also derives a public key from a private PEM: refuse that, the caller sent a secret.
  if (/PRIVATE KEY-----/.test(pem)) throw new HsmError("KEY_ENCODING_INVALID", "the PEM holds a private key, not a public key");
  return fromPublicKey(checkSupported(key));
}

/** A private key in PEM (PKCS#8, PKCS#1 or SEC1) or PKCS#8 DER. Encrypted PEMs are refused. */
export function parsePrivateKey(input: { pem: string } | { der: Buffer }): ParsedKey {
  let key: CryptoKey;
  try {
    key = "pem" in input ? createPrivateKey({ key: input.pem, format: "pem", passphrase: "" }) : createPrivateKey({ key: input.der, format: "der", type: "pkcs8" });
  } catch {
    throw new HsmError("KEY_ENCODING_INVALID", "the private key does not parse");
  }
  return fromPrivateKey(checkSupported(key));
}

/** RSA 2048..4096 bits with e = 65537, or EC on a supported curve. */
export function checkSupported(key: CryptoKey): CryptoKey {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa") {
    const bits = details.modulusLength ?? 0;
    if (bits < RSA_MIN_IMPORT_BITS || bits > RSA_MAX_IMPORT_BITS) {
      throw new HsmError("KEY_LENGTH_INVALID", `RSA keys are ${RSA_MIN_IMPORT_BITS} to ${RSA_MAX_IMPORT_BITS} bits`, { modulus_bits: bits });
    }
    if (details.publicExponent !== BigInt(RSA_PUBLIC_EXPONENT)) {
      throw new HsmError("KEY_ENCODING_INVALID", "only RSA keys with public exponent 65537 are accepted");
    }
    return key;
  }
  if (key.asymmetricKeyType === "ec") {
    if (!CURVES.has(details.namedCurve as CurveName)) {
      throw new HsmError("KEY_TYPE_FIPS_DISALLOWED", "the curve is not one the HSM supports", { curve: details.namedCurve ?? "unknown" });
    }
    return key;
  }
  throw new HsmError("KEY_TYPE_NOT_ALLOWED", "only RSA and EC keys are accepted", { key_kind: key.asymmetricKeyType ?? "unknown" });
}

function viewOfPrivate(privateKey: CryptoKey): AsymmetricView {
  return { ...viewOfPublic(createPublicKey(privateKey)), privateKey };
}

function viewOfPublic(publicKey: CryptoKey): AsymmetricView {
  const spki = publicKey.export({ format: "der", type: "spki" });
  const jwk = publicKey.export({ format: "jwk" });
  const kcv = createHash("sha1").update(spki).digest().subarray(0, 3);
  if (publicKey.asymmetricKeyType === "rsa") {
    const modulus = stripZeros(b64url(jwk.n));
    const facts: PublicFacts = { kind: "rsa", modulus, modulusBits: publicKey.asymmetricKeyDetails?.modulusLength ?? modulus.length * 8, publicExponent: stripZeros(b64url(jwk.e)) };
    return { keyType: KeyType.RSA, publicKey, privateKey: undefined, facts, spki, kcv };
  }
  const curve = publicKey.asymmetricKeyDetails?.namedCurve as CurveName;
  const curveFacts = CURVES.get(curve);
  if (!curveFacts) throw new HsmError("KEY_TYPE_FIPS_DISALLOWED", "unsupported curve", { curve });
  const point = Buffer.concat([Buffer.from([4]), pad(b64url(jwk.x), curveFacts.fieldBytes), pad(b64url(jwk.y), curveFacts.fieldBytes)]);
  const facts: PublicFacts = { kind: "ec", curve, fieldBytes: curveFacts.fieldBytes, ecParams: curveFacts.oidDer, ecPoint: derOctetString(point) };
  return { keyType: KeyType.EC, publicKey, privateKey: undefined, facts, spki, kcv };
}

function b64url(value: string | undefined): Buffer {
  return Buffer.from(value ?? "", "base64url");
}

function stripZeros(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i);
}

function pad(bytes: Buffer, length: number): Buffer {
  return bytes.length >= length ? bytes : Buffer.concat([Buffer.alloc(length - bytes.length), bytes]);
}

/** DER OCTET STRING of `content` (short or long length form). */
export function derOctetString(content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([0x04]), length, content]);
}
