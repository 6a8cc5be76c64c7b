// The reused Encrypt writer: every answer decodes to exactly what was sent, whatever the size of the one before.
import { EncryptResponse, HsmServiceService } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { withReusedEncryptWriter } from "../../src/server/responseEncoding";

describe("withReusedEncryptWriter", () => {
  const encrypt = withReusedEncryptWriter(HsmServiceService).encrypt;

  test("answers of falling and rising sizes serialize like the generated serializer", () => {
    const sizes = [4096, 16, 0, 70_000, 4096, 1];
    for (const [i, size] of sizes.entries()) {
      const response: EncryptResponse = {
        ciphertext: Buffer.alloc(size, i + 1),
        iv: Buffer.alloc(12, 0xa0 + i),
        tag: Buffer.alloc(size > 0 ? 16 : 0, 0xb0 + i),
      };
      const bytes = encrypt.responseSerialize(response);
      expect(bytes.equals(HsmServiceService.encrypt.responseSerialize(response))).toBe(true);
      expect(EncryptResponse.decode(bytes)).toEqual(response);
    }
  });

  test("a returned buffer is not changed by the next serialization", () => {
    const first = encrypt.responseSerialize({ ciphertext: Buffer.alloc(64, 1), iv: Buffer.alloc(12, 2), tag: Buffer.alloc(16, 3) });
    const copy = Buffer.from(first);
    encrypt.responseSerialize({ ciphertext: Buffer.alloc(64, 9), iv: Buffer.alloc(12, 8), tag: Buffer.alloc(16, 7) });
    expect(first.equals(copy)).toBe(true);
  });
});
