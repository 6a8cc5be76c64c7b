// AES key wrap: RFC 3394 and RFC 5649 published vectors, and CloudHSM's PKCS#5-padded RFC 3394 (KMU -m 4).
import { randomBytes } from "node:crypto";
import {
  aesKeyUnwrap,
  aesKeyUnwrapPad,
  aesKeyUnwrapPkcs5,
  aesKeyWrap,
  aesKeyWrapPad,
  aesKeyWrapPkcs5,
  UnwrapIntegrityError,
} from "../../common/keyWrap";
import { hex } from "./support/harness";

const KEK_128 = hex("000102030405060708090A0B0C0D0E0F");
const KEK_192 = hex("000102030405060708090A0B0C0D0E0F1011121314151617");
const KEK_256 = hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
const DATA_128 = hex("00112233445566778899AABBCCDDEEFF");
const DATA_192 = hex("00112233445566778899AABBCCDDEEFF0001020304050607");
const DATA_256 = hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");

// RFC 3394 section 4, typed from the RFC text (64-bit groups as printed there).
const RFC3394_VECTORS = [
  { section: "4.1", kek: KEK_128, data: DATA_128, wrapped: hex("1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5") },
  { section: "4.2", kek: KEK_192, data: DATA_128, wrapped: hex("96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D") },
  { section: "4.3", kek: KEK_256, data: DATA_128, wrapped: hex("64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7") },
  {
    section: "4.4",
    kek: KEK_192,
    data: DATA_192,
    wrapped: hex("031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2"),
  },
  {
    section: "4.5",
    kek: KEK_256,
    data: DATA_192,
    wrapped: hex("A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1"),
  },
  {
    section: "4.6",
    kek: KEK_256,
    data: DATA_256,
    wrapped: hex("28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21"),
  },
];

// RFC 5649 section 6.
const RFC5649_KEK = hex("5840df6e29b02af1 ab493b705bf16ea1 ae8338f4dcc176a8");
const RFC5649_VECTORS = [
  {
    name: "20 octets",
    data: hex("c37b7e6492584340 bed1220780894115 5068f738"),
    wrapped: hex("138bdeaa9b8fa7fc 61f97742e72248ee 5ae6ae5360d1ae6a 5f54f373fa543b6a"),
  },
  { name: "7 octets", data: hex("466f7250617369"), wrapped: hex("afbeb0f07dfbf541 9200f2ccb50bb24f") },
];

function pkcs5Pad(data: Buffer): Buffer {
  const n = 8 - (data.length % 8);
  return Buffer.concat([data, Buffer.alloc(n, n)]);
}

function flipBit(buf: Buffer, byteIndex: number, bit = 0): Buffer {
  const out = Buffer.from(buf);
  out[byteIndex] = (out[byteIndex] ?? 0) ^ (1 << bit);
  return out;
}

describe("RFC 3394 AES key wrap", () => {
  test.each(RFC3394_VECTORS)("section $section: wrap gives the published ciphertext", ({ kek, data, wrapped }) => {
    expect(aesKeyWrap(kek, data).toString("hex")).toBe(wrapped.toString("hex"));
  });

  test.each(RFC3394_VECTORS)("section $section: unwrap gives the key data back", ({ kek, data, wrapped }) => {
    expect(aesKeyUnwrap(kek, wrapped).toString("hex")).toBe(data.toString("hex"));
  });

  test("unwrap under a wrong KEK fails the integrity check", () => {
    const v = RFC3394_VECTORS[5]!;
    const wrongKek = flipBit(v.kek, 31);
    expect(() => aesKeyUnwrap(wrongKek, v.wrapped)).toThrow(UnwrapIntegrityError);
  });

  test("any single flipped bit is detected", () => {
    const v = RFC3394_VECTORS[3]!;
    for (let i = 0; i < v.wrapped.length; i++) {
      expect(() => aesKeyUnwrap(v.kek, flipBit(v.wrapped, i, i % 8))).toThrow(UnwrapIntegrityError);
    }
  });

  test("truncated, extended and misaligned blobs fail the integrity check", () => {
    const v = RFC3394_VECTORS[0]!;
    expect(() => aesKeyUnwrap(v.kek, v.wrapped.subarray(0, 16))).toThrow(UnwrapIntegrityError);
    expect(() => aesKeyUnwrap(v.kek, v.wrapped.subarray(0, 23))).toThrow(UnwrapIntegrityError);
    expect(() => aesKeyUnwrap(v.kek, Buffer.concat([v.wrapped, Buffer.alloc(8)]))).toThrow(UnwrapIntegrityError);
    expect(() => aesKeyUnwrap(v.kek, Buffer.alloc(0))).toThrow(UnwrapIntegrityError);
  });

  test("input that is not a multiple of 8 bytes, or shorter than 16, is refused", () => {
    expect(() => aesKeyWrap(KEK_128, Buffer.alloc(8))).toThrow(RangeError);
    expect(() => aesKeyWrap(KEK_128, Buffer.alloc(20))).toThrow(RangeError);
  });

  test("a KEK that is not 16, 24 or 32 bytes is refused", () => {
    expect(() => aesKeyWrap(Buffer.alloc(15), DATA_128)).toThrow(RangeError);
    expect(() => aesKeyUnwrap(Buffer.alloc(33), RFC3394_VECTORS[0]!.wrapped)).toThrow(RangeError);
  });
});

describe("RFC 5649 AES key wrap with padding", () => {
  test.each(RFC5649_VECTORS)("$name: wrap gives the published ciphertext", ({ data, wrapped }) => {
    expect(aesKeyWrapPad(RFC5649_KEK, data).toString("hex")).toBe(wrapped.toString("hex"));
  });

  test.each(RFC5649_VECTORS)("$name: unwrap gives the key data back", ({ data, wrapped }) => {
    expect(aesKeyUnwrapPad(RFC5649_KEK, wrapped).toString("hex")).toBe(data.toString("hex"));
  });

  test.each(RFC5649_VECTORS)("$name: wrong KEK and tampered blob fail the integrity check", ({ wrapped }) => {
    expect(() => aesKeyUnwrapPad(flipBit(RFC5649_KEK, 0), wrapped)).toThrow(UnwrapIntegrityError);
    for (let i = 0; i < wrapped.length; i++) {
      expect(() => aesKeyUnwrapPad(RFC5649_KEK, flipBit(wrapped, i, 7))).toThrow(UnwrapIntegrityError);
    }
  });

  test("empty input is refused", () => {
    expect(() => aesKeyWrapPad(RFC5649_KEK, Buffer.alloc(0))).toThrow(RangeError);
  });
});

describe("CloudHSM AES key wrap with PKCS#5 padding (mechanism 4)", () => {
  test.each([
    [16, 32],
    [24, 40],
    [32, 48],
  ])("a %i-byte key wraps to %i bytes", (inputLength, outputLength) => {
    expect(aesKeyWrapPkcs5(KEK_256, randomBytes(inputLength))).toHaveLength(outputLength);
  });

  test.each([8, 15, 16, 20, 24, 31, 32, 33, 64])("a %i-byte key round-trips", (length) => {
    const kek = randomBytes(32);
    const key = randomBytes(length);
    const wrapped = aesKeyWrapPkcs5(kek, key);
    expect(wrapped.length).toBe(Math.floor(length / 8) * 8 + 8 + 8);
    expect(aesKeyUnwrapPkcs5(kek, wrapped).equals(key)).toBe(true);
  });

  test.each([16, 24, 32])("with a %i-byte KEK it is RFC 3394 over the PKCS#5-padded key", (kekLength) => {
    const kek = randomBytes(kekLength);
    for (const length of [16, 20, 24, 32]) {
      const key = randomBytes(length);
      expect(aesKeyWrapPkcs5(kek, key).toString("hex")).toBe(aesKeyWrap(kek, pkcs5Pad(key)).toString("hex"));
    }
  });

  test("an aligned key gets a full block of 0x08 padding", () => {
    const key = DATA_128;
    const unwrappedRaw = aesKeyUnwrap(KEK_128, aesKeyWrapPkcs5(KEK_128, key));
    expect(unwrappedRaw.toString("hex")).toBe(key.toString("hex") + "08".repeat(8));
  });

  test("unwrap under a wrong KEK throws UnwrapIntegrityError", () => {
    const kek = randomBytes(32);
    const wrapped = aesKeyWrapPkcs5(kek, randomBytes(32));
    expect(() => aesKeyUnwrapPkcs5(randomBytes(32), wrapped)).toThrow(UnwrapIntegrityError);
    expect(() => aesKeyUnwrapPkcs5(flipBit(kek, 5), wrapped)).toThrow(UnwrapIntegrityError);
  });

  test("a tampered blob throws UnwrapIntegrityError, whichever bit is flipped", () => {
    const kek = randomBytes(16);
    const wrapped = aesKeyWrapPkcs5(kek, randomBytes(24));
    for (let i = 0; i < wrapped.length; i++) {
      expect(() => aesKeyUnwrapPkcs5(kek, flipBit(wrapped, i, (i * 3) % 8))).toThrow(UnwrapIntegrityError);
    }
    expect(() => aesKeyUnwrapPkcs5(kek, wrapped.subarray(0, wrapped.length - 8))).toThrow(UnwrapIntegrityError);
  });

  test("a blob that passes RFC 3394 but carries a bad PKCS#5 pad throws UnwrapIntegrityError", () => {
    const kek = randomBytes(32);
    const body = randomBytes(16);
    const badPads = [
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]), // pad length 0
      Buffer.from([9, 9, 9, 9, 9, 9, 9, 9]), // pad length above 8
      Buffer.from([1, 2, 3, 4, 5, 3, 2, 3]), // pad bytes disagree
      Buffer.from([7, 7, 7, 7, 7, 7, 6, 7]),
    ];
    for (const pad of badPads) {
      const wrapped = aesKeyWrap(kek, Buffer.concat([body, pad]));
      expect(() => aesKeyUnwrapPkcs5(kek, wrapped)).toThrow(UnwrapIntegrityError);
    }
  });

  test("empty key material is refused", () => {
    expect(() => aesKeyWrapPkcs5(KEK_128, Buffer.alloc(0))).toThrow(RangeError);
  });
});
