// Key check values (attribute 371): published vectors and values computed independently by the openssl CLI.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { KCV_LENGTH, keyCheckValue } from "../../src/hsm/crypto/kcv";
import { KeyType } from "../../src/hsm/keyTypes";
import { hex } from "./support/harness";

/** First 3 bytes of `openssl enc -e -nopad -K <key> -<cipher>-ecb` over one zero block, as hex. */
function opensslKcv(cipher: string, key: Buffer, blockLength: 8 | 16): string {
  const out = execFileSync("openssl", ["enc", "-e", "-nopad", "-K", key.toString("hex"), `-${cipher}-ecb`], {
    input: Buffer.alloc(blockLength),
  });
  expect(out).toHaveLength(blockLength);
  return out.subarray(0, 3).toString("hex");
}

function kcvHex(keyType: KeyType, key: Buffer): string | undefined {
  return keyCheckValue(keyType, key)?.toString("hex");
}

describe("keyCheckValue", () => {
  test.each([
    ["AES-128, all zeros", KeyType.AES, Buffer.alloc(16), "66e94b"],
    ["AES-256, all zeros", KeyType.AES, Buffer.alloc(32), "dc95c0"],
    ["AES-128, bytes 00..0f", KeyType.AES, hex("000102030405060708090a0b0c0d0e0f"), "c6a13b"],
    ["AES-256, bytes 00..1f", KeyType.AES, hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"), "f29000"],
    ["3DES, 0123456789abcdef23456789abcdef01456789abcdef0123", KeyType.DES3, hex("0123456789abcdef23456789abcdef01456789abcdef0123"), "4eba73"],
  ])("fact sheet vector: %s -> %s", (_name, keyType, key, expected) => {
    expect(kcvHex(keyType, key)).toBe(expected);
  });

  test("is 3 bytes long", () => {
    expect(KCV_LENGTH).toBe(3);
    expect(keyCheckValue(KeyType.AES, randomBytes(24))).toHaveLength(3);
    expect(keyCheckValue(KeyType.DES3, randomBytes(24))).toHaveLength(3);
  });

  describe("agrees with the openssl command line on random keys", () => {
    test.each([
      ["aes-128", 16],
      ["aes-192", 24],
      ["aes-256", 32],
    ] as const)("%s", (cipher, length) => {
      for (let i = 0; i < 3; i++) {
        const key = randomBytes(length);
        expect(kcvHex(KeyType.AES, key)).toBe(opensslKcv(cipher, key, 16));
      }
    });

    test("des-ede3 (8-byte zero block)", () => {
      for (let i = 0; i < 3; i++) {
        const key = randomBytes(24);
        expect(kcvHex(KeyType.DES3, key)).toBe(opensslKcv("des-ede3", key, 8));
      }
    });
  });

  test("the openssl helper itself reproduces a fact sheet vector", () => {
    expect(opensslKcv("aes-128", Buffer.alloc(16), 16)).toBe("66e94b");
    expect(opensslKcv("des-ede3", hex("0123456789abcdef23456789abcdef01456789abcdef0123"), 8)).toBe("4eba73");
  });

  test("generic secrets have no KCV", () => {
    expect(keyCheckValue(KeyType.GENERIC_SECRET, randomBytes(32))).toBeUndefined();
    expect(keyCheckValue(KeyType.GENERIC_SECRET, randomBytes(16))).toBeUndefined();
  });

  test("does not alter the key material", () => {
    const key = randomBytes(32);
    const copy = Buffer.from(key);
    keyCheckValue(KeyType.AES, key);
    expect(key.equals(copy)).toBe(true);
  });
});
