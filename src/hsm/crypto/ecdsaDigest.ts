// ECDSA over a digest the caller computed (PKCS#11 CKM_ECDSA): node:crypto only signs data it hashes itself, so the curve arithmetic is done here with BigInt.
import { randomBytes } from "node:crypto";
import { CurveName } from "./asymmetricKeys";

interface Curve {
  readonly p: bigint;
  readonly a: bigint;
  readonly n: bigint;
  readonly gx: bigint;
  readonly gy: bigint;
}

const h = (hex: string): bigint => BigInt(`0x${hex}`);

/** Domain parameters of the supported curves (SEC 2 / FIPS 186-4; as `openssl ecparam -param_enc explicit` prints them). */
const CURVE_PARAMS: Readonly<Record<CurveName, Curve>> = {
  prime256v1: {
    p: h("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"),
    a: h("ffffffff00000001000000000000000000000000fffffffffffffffffffffffc"),
    n: h("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
    gx: h("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"),
    gy: h("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"),
  },
  secp384r1: {
    p: h("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff"),
    a: h("fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffc"),
    n: h("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"),
    gx: h("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7"),
    gy: h("3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f"),
  },
  secp521r1: {
    p: h("01" + "ff".repeat(65)),
    a: h("01" + "ff".repeat(64) + "fc"),
    n: h("01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"),
    gx: h("00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66"),
    gy: h("011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650"),
  },
  secp256k1: {
    p: h("fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f"),
    a: 0n,
    n: h("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
    gx: h("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"),
    gy: h("483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"),
  },
};

/** A point in Jacobian coordinates; z = 0 is the point at infinity. */
interface Jacobian {
  readonly x: bigint;
  readonly y: bigint;
  readonly z: bigint;
}

const INFINITY: Jacobian = { x: 1n, y: 1n, z: 0n };

function mod(v: bigint, m: bigint): bigint {
  const r = v % m;
  return r < 0n ? r + m : r;
}

/** Modular inverse by the extended Euclidean algorithm; `v` must be non-zero mod `m`. */
function inverse(v: bigint, m: bigint): bigint {
  let [a, b] = [mod(v, m), m];
  let [x0, x1] = [1n, 0n];
  while (b !== 0n) {
    const q = a / b;
    [a, b] = [b, a - q * b];
    [x0, x1] = [x1, x0 - q * x1];
  }
  return mod(x0, m);
}

function double(c: Curve, P: Jacobian): Jacobian {
  if (P.z === 0n || P.y === 0n) return INFINITY;
  const { p } = c;
  const yy = mod(P.y * P.y, p);
  const s = mod(4n * P.x * yy, p);
  const zz = mod(P.z * P.z, p);
  const m = mod(3n * P.x * P.x + c.a * zz * zz, p);
  const x = mod(m * m - 2n * s, p);
  const y = mod(m * (s - x) - 8n * yy * yy, p);
  return { x, y, z: mod(2n * P.y * P.z, p) };
}

function add(c: Curve, P: Jacobian, Q: Jacobian): Jacobian {
  if (P.z === 0n) return Q;
  if (Q.z === 0n) return P;
  const { p } = c;
  const z1z1 = mod(P.z * P.z, p);
  const z2z2 = mod(Q.z * Q.z, p);
  const u1 = mod(P.x * z2z2, p);
  const u2 = mod(Q.x * z1z1, p);
  const s1 = mod(P.y * Q.z * z2z2, p);
  const s2 = mod(Q.y * P.z * z1z1, p);
  if (u1 === u2) return s1 === s2 ? double(c, P) : INFINITY;
  const hh = mod(u2 - u1, p);
  const r = mod(s2 - s1, p);
  const h2 = mod(hh * hh, p);
  const h3 = mod(h2 * hh, p);
  const x = mod(r * r - h3 - 2n * u1 * h2, p);
  const y = mod(r * (u1 * h2 - x) - s1 * h3, p);
  return { x, y, z: mod(hh * P.z * Q.z, p) };
}

function multiply(c: Curve, k: bigint, P: Jacobian): Jacobian {
  let result = INFINITY;
  for (let i = BigInt(k.toString(2).length - 1); i >= 0n; i--) {
    result = double(c, result);
    if ((k >> i) & 1n) result = add(c, result, P);
  }
  return result;
}

/** The affine x coordinate, or undefined for the point at infinity. */
function affineX(c: Curve, P: Jacobian): bigint | undefined {
  if (P.z === 0n) return undefined;
  const zi = inverse(P.z, c.p);
  return mod(P.x * zi * zi, c.p);
}

/** The digest as an integer, cut to the bit length of n (SEC 1 4.1.3 step 5). */
function digestInteger(c: Curve, digest: Buffer): bigint {
  const nBits = c.n.toString(2).length;
  const z = digest.length === 0 ? 0n : BigInt(`0x${digest.toString("hex")}`);
  const extra = digest.length * 8 - nBits;
  return extra > 0 ? z >> BigInt(extra) : z;
}

function randomScalar(n: bigint): bigint {
  const bytes = Math.ceil(n.toString(2).length / 8);
  const bits = n.toString(2).length;
  for (;;) {
    const candidate = BigInt(`0x${randomBytes(bytes).toString("hex")}`) >> BigInt(bytes * 8 - bits);
    if (candidate > 0n && candidate < n) return candidate;
  }
}

/** ECDSA signature (r, s) of a digest with private scalar `d`. */
export function ecdsaSignDigest(curve: CurveName, d: bigint, digest: Buffer): { r: bigint; s: bigint } {
  const c = CURVE_PARAMS[curve];
  const z = digestInteger(c, digest);
  const G: Jacobian = { x: c.gx, y: c.gy, z: 1n };
  for (;;) {
    const k = randomScalar(c.n);
    const x = affineX(c, multiply(c, k, G));
    if (x === undefined) continue;
    const r = mod(x, c.n);
    if (r === 0n) continue;
    const s = mod(inverse(k, c.n) * (z + r * d), c.n);
    if (s !== 0n) return { r, s };
  }
}

/** Whether (r, s) is a valid ECDSA signature of `digest` for the public point (qx, qy). */
export function ecdsaVerifyDigest(curve: CurveName, qx: bigint, qy: bigint, digest: Buffer, r: bigint, s: bigint): boolean {
  const c = CURVE_PARAMS[curve];
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const z = digestInteger(c, digest);
  const w = inverse(s, c.n);
  const u1 = mod(z * w, c.n);
  const u2 = mod(r * w, c.n);
  const X = add(c, multiply(c, u1, { x: c.gx, y: c.gy, z: 1n }), multiply(c, u2, { x: qx, y: qy, z: 1n }));
  const x = affineX(c, X);
  return x !== undefined && mod(x, c.n) === r;
}
