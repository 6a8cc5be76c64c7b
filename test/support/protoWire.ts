// A protobuf wire-format writer that can say what a well-behaved encoder never would: 64-bit varints in 32-bit fields,
// negative enums, invalid UTF-8 in string fields, wrong wire types, repeated occurrences of singular fields, and packed
// or unpacked repeated fields of any length. The fuzz tests build request bytes with it.

/** One field occurrence on the wire. */
export type WireField =
  | { readonly no: number; readonly wire: "varint"; readonly value: bigint }
  | { readonly no: number; readonly wire: "bytes"; readonly value: Uint8Array }
  | { readonly no: number; readonly wire: "fixed32"; readonly value: number }
  | { readonly no: number; readonly wire: "fixed64"; readonly value: bigint }
  /** A packed repeated varint field: one length-delimited occurrence holding every value. */
  | { readonly no: number; readonly wire: "packed"; readonly values: readonly bigint[] }
  /** A packed repeated varint field holding start, start+1, ... (`count` values; cheap to describe, long on the wire). */
  | { readonly no: number; readonly wire: "packed-range"; readonly start: bigint; readonly count: number }
  /** `count` unpacked occurrences of one varint value. */
  | { readonly no: number; readonly wire: "repeat"; readonly value: bigint; readonly count: number };

const U64 = (1n << 64n) - 1n;

/** Appends the varint encoding of `value` (negative values as their 64-bit two's complement, 10 bytes). */
export function pushVarint(out: number[], value: bigint): void {
  if (value >= 0n && value <= 0xffffffffn) {
    // The common case, without bigint arithmetic.
    let n = Number(value);
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return;
  }
  let v = value & U64;
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function tag(out: number[], no: number, wireType: number): void {
  pushVarint(out, (BigInt(no) << 3n) | BigInt(wireType));
}

/** Encodes fields in the order given. */
export function encodeFields(fields: readonly WireField[]): Buffer {
  const chunks: Buffer[] = [];
  for (const f of fields) {
    const out: number[] = [];
    switch (f.wire) {
      case "varint":
        tag(out, f.no, 0);
        pushVarint(out, f.value);
        chunks.push(Buffer.from(out));
        break;
      case "bytes":
        tag(out, f.no, 2);
        pushVarint(out, BigInt(f.value.length));
        chunks.push(Buffer.from(out), Buffer.from(f.value));
        break;
      case "fixed32": {
        tag(out, f.no, 5);
        const b = Buffer.alloc(4);
        b.writeUInt32LE(f.value >>> 0);
        chunks.push(Buffer.from(out), b);
        break;
      }
      case "fixed64": {
        tag(out, f.no, 1);
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(f.value & U64);
        chunks.push(Buffer.from(out), b);
        break;
      }
      case "packed": {
        const body: number[] = [];
        for (const v of f.values) pushVarint(body, v);
        tag(out, f.no, 2);
        pushVarint(out, BigInt(body.length));
        chunks.push(Buffer.from(out), Buffer.from(body));
        break;
      }
      case "packed-range": {
        const body = packedRange(f.start, f.count);
        tag(out, f.no, 2);
        pushVarint(out, BigInt(body.length));
        chunks.push(Buffer.from(out), body);
        break;
      }
      case "repeat": {
        const one: number[] = [];
        tag(one, f.no, 0);
        pushVarint(one, f.value);
        const all = Buffer.allocUnsafe(one.length * f.count);
        for (let i = 0, at = 0; i < f.count; i++) for (const b of one) all[at++] = b;
        chunks.push(all);
        break;
      }
    }
  }
  return Buffer.concat(chunks);
}

/** Varints start, start+1, ... written straight into a buffer (100,000 of them must be cheap). */
function packedRange(start: bigint, count: number): Buffer {
  if (start < 0n || start + BigInt(count) > 0xffffffffn) {
    const body: number[] = [];
    for (let i = 0; i < count; i++) pushVarint(body, start + BigInt(i));
    return Buffer.from(body);
  }
  const buf = Buffer.allocUnsafe(count * 5);
  let at = 0;
  for (let i = 0, v = Number(start); i < count; i++, v++) {
    let n = v >>> 0;
    while (n >= 0x80) {
      buf[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[at++] = n;
  }
  return buf.subarray(0, at);
}

/** Byte sequences that are not valid UTF-8, to splice into string fields. */
export const INVALID_UTF8: readonly Buffer[] = [
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0xc0, 0x80]), // overlong NUL
  Buffer.from([0xc3]), // truncated 2-byte sequence
  Buffer.from([0xe2, 0x82]), // truncated 3-byte sequence
  Buffer.from([0xed, 0xa0, 0x80]), // UTF-16 surrogate D800 encoded in UTF-8
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
  Buffer.from([0x80]), // lone continuation byte
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), // 5-byte form
];
