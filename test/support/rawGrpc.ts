// Byte-level calls for the integration tests: exact request bytes on a method path, and unary calls with chosen metadata.
import * as grpc from "@grpc/grpc-js";
import { toClientError } from "../../clients";

/** A fresh metadata object carrying `authorization: Bearer <token>` (any string, also a bogus one). */
export function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${token}`);
  return md;
}

/**
 * Sends `body` as-is (identity serializer) to `path`, e.g. "/localcloudhsm.v1.HsmService/ImportSymKey".
 * Resolves with the raw response bytes; rejects with the HsmClientError the facade would throw.
 */
export function rawUnary(client: grpc.Client, path: string, body: Buffer, metadata: grpc.Metadata = new grpc.Metadata()): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      path,
      (b) => b,
      (b) => b,
      body,
      metadata,
      { deadline: Date.now() + 10_000 },
      (err, res) => (err ? reject(toClientError(err)) : resolve(res as Buffer)),
    );
  });
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;
type UnaryMethod<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: Callback<Res>) => grpc.ClientUnaryCall;

/** Calls a generated client's unary method (bound to its client) with explicit metadata; rejects with HsmClientError. */
export function unaryWith<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, metadata: grpc.Metadata): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(request, metadata, { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(toClientError(err)) : resolve(res)));
  });
}

/** `message` with the first occurrence of `find` replaced by `replace` (same length, so no length prefix changes). */
export function patchBytes(message: Uint8Array, find: Buffer, replace: Buffer): Buffer {
  if (find.length !== replace.length) throw new Error("patchBytes keeps the length: find and replace must be the same size");
  const out = Buffer.from(message);
  const at = out.indexOf(find);
  if (at < 0) throw new Error(`bytes ${find.toString("hex")} not found in the encoded message`);
  replace.copy(out, at);
  return out;
}
