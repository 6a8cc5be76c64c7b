// Serializes Encrypt responses through one reused protobuf writer, so a ciphertext is not re-grown and copied on every call.
import * as grpc from "@grpc/grpc-js";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { EncryptResponse } from "../../clients/generated/localcloudhsm/v1/hsm_service";

/** A writer that grew past this for one large answer is dropped rather than held for the daemon's lifetime. */
const KEEP_WRITER_BYTES = 64 * 1024;

/**
 * The generated serializer starts each response in a fresh 128-byte writer that doubles up to the ciphertext's size
 * (about 16 KiB of short-lived buffers for a 4 KiB answer), then copies the result twice. Serialization is
 * synchronous, so one writer can serve every call: after the first answer it is already large enough, and its
 * finish() hands back a copy that is wrapped as a Buffer without copying again. Only Encrypt uses it: its answer
 * (ciphertext, IV, tag) is no secret, so the bytes that stay in the writer until the next call reveal nothing.
 */
export function withReusedEncryptWriter<T extends grpc.ServiceDefinition>(definition: T): T {
  const encrypt = definition["encrypt"];
  if (!encrypt) throw new Error("the service has no encrypt method");
  let writer = new BinaryWriter();
  const responseSerialize = (value: EncryptResponse): Buffer => {
    let bytes: Uint8Array;
    try {
      bytes = EncryptResponse.encode(value, writer).finish();
    } catch (err) {
      writer = new BinaryWriter(); // a half-written message must not prefix the next one
      throw err;
    }
    if (bytes.byteLength > KEEP_WRITER_BYTES) writer = new BinaryWriter();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
  return { ...definition, encrypt: { ...encrypt, responseSerialize } };
}
