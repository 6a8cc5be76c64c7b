// The openssl command line as an independent implementation for interop tests: enc (CBC, CTR, ECB, 3DES), mac (HMAC),
// and AES-GCM built from openssl's own CTR and ECB with a GHASH written here from NIST SP 800-38D (openssl enc refuses AEAD ciphers).
import { spawn } from "node:child_process";

/** Runs openssl with `input` on stdin; resolves with stdout, rejects with stderr on a non-zero exit. */
export function openssl(args: readonly string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`openssl ${args[0]} exited ${code}: ${Buffer.concat(err).toString()}`))));
    child.stdin.end(input);
  });
}

/** `openssl enc` with a raw key and IV (no salt, no password derivation). */
export function opensslEnc(cipher: string, key: Buffer, iv: Buffer | undefined, data: Buffer, options: { decrypt?: boolean; nopad?: boolean } = {}): Promise<Buffer> {
  const args = ["enc", `-${cipher}`, options.decrypt ? "-d" : "-e", "-K", key.toString("hex")];
  if (iv) args.push("-iv", iv.toString("hex"));
  if (options.nopad) args.push("-nopad");
  return openssl(args, data);
}

/** `openssl mac` HMAC with a hex key. */
export function opensslHmac(digest: string, key: Buffer, data: Buffer): Promise<Buffer> {
  return openssl(["mac", "-digest", digest, "-macopt", `hexkey:${key.toString("hex")}`, "-binary", "HMAC"], data);
}

// ---- AES-GCM from openssl's block cipher (SP 800-38D, 96-bit IV) ---------------------------------------------------------

const R = 0xe1n << 120n;

function toBig(block: Buffer): bigint {
  return BigInt(`0x${block.toString("hex") || "0"}`);
}

function toBlock(value: bigint): Buffer {
  return Buffer.from(value.toString(16).padStart(32, "0"), "hex");
}

/** Multiplication in GF(2^128) as SP 800-38D Algorithm 1 defines it (bit 0 is the leftmost bit). */
function gfMul(x: bigint, y: bigint): bigint {
  let z = 0n;
  let v = y;
  for (let i = 127n; i >= 0n; i--) {
    if ((x >> i) & 1n) z ^= v;
    v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
  }
  return z;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((16 - (data.length % 16)) % 16)]);
}

function ghash(h: bigint, aad: Buffer, ciphertext: Buffer): bigint {
  const lengths = Buffer.alloc(16);
  lengths.writeBigUInt64BE(BigInt(aad.length * 8), 0);
  lengths.writeBigUInt64BE(BigInt(ciphertext.length * 8), 8);
  const all = Buffer.concat([padded(aad), padded(ciphertext), lengths]);
  let y = 0n;
  for (let at = 0; at < all.length; at += 16) y = gfMul(y ^ toBig(all.subarray(at, at + 16)), h);
  return y;
}

/** The counter block with a 32-bit counter after a 12-byte IV. */
function counterBlock(iv: Buffer, counter: number): Buffer {
  const block = Buffer.alloc(16);
  iv.copy(block);
  block.writeUInt32BE(counter, 12);
  return block;
}

/** The GCM tag: GHASH under H = E_K(0) masked with E_K(J0), both blocks encrypted by openssl. */
async function gcmTag(key: Buffer, iv: Buffer, aad: Buffer, ciphertext: Buffer, tagLength: number): Promise<Buffer> {
  const ecb = `aes-${key.length * 8}-ecb`;
  const blocks = await opensslEnc(ecb, key, undefined, Buffer.concat([Buffer.alloc(16), counterBlock(iv, 1)]), { nopad: true });
  const s = ghash(toBig(blocks.subarray(0, 16)), aad, ciphertext);
  return toBlock(s ^ toBig(blocks.subarray(16, 32))).subarray(0, tagLength);
}

/** GCM encryption: openssl's CTR from counter 2 for the data, then the tag. */
export async function opensslGcmEncrypt(key: Buffer, iv: Buffer, plaintext: Buffer, aad: Buffer, tagLength = 16): Promise<{ ciphertext: Buffer; tag: Buffer }> {
  const ciphertext = await opensslEnc(`aes-${key.length * 8}-ctr`, key, counterBlock(iv, 2), plaintext);
  return { ciphertext, tag: await gcmTag(key, iv, aad, ciphertext, tagLength) };
}

/** GCM decryption; throws when the tag does not match. */
export async function opensslGcmDecrypt(key: Buffer, iv: Buffer, ciphertext: Buffer, aad: Buffer, tag: Buffer): Promise<Buffer> {
  const expected = await gcmTag(key, iv, aad, ciphertext, tag.length);
  if (!expected.equals(tag)) throw new Error("GCM tag mismatch");
  return opensslEnc(`aes-${key.length * 8}-ctr`, key, counterBlock(iv, 2), ciphertext);
}
