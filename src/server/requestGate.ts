// Decodes requests so that oversized or malformed bytes reach the handler as a rejection, not a transport error.
import * as grpc from "@grpc/grpc-js";
import { HsmError } from "../hsm/errors";

/** A request the gate refused before decoding; the call adapter answers it with a reasoned status. */
export class RejectedRequest {
  constructor(
    readonly why: "TOO_LARGE" | "MALFORMED",
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {}
}

/** Transport-level cap: far above the application limit so the gate, not grpc-js, answers most oversize requests. */
export function transportLimit(maxMessageBytes: number): number {
  return Math.max(16 * 1024 * 1024, maxMessageBytes * 4);
}

/**
 * A copy of a generated service definition whose request decoders return RejectedRequest for a
 * message over `maxMessageBytes` or one that is not valid protobuf; grpc-js would otherwise answer
 * those with statuses that carry no ErrorInfo (and INTERNAL for a client's garbage).
 */
export function gateService<T extends grpc.ServiceDefinition>(definition: T, maxMessageBytes: number): T {
  const gated: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    gated[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        if (bytes.length > maxMessageBytes) return new RejectedRequest("TOO_LARGE", bytes.length, maxMessageBytes);
        try {
          return method.requestDeserialize(bytes);
        } catch {
          return new RejectedRequest("MALFORMED", bytes.length, maxMessageBytes);
        }
      },
    };
  }
  return gated as T;
}

/** The domain error a rejected request is answered with. */
export function rejection(request: RejectedRequest): HsmError {
  if (request.why === "TOO_LARGE") {
    return new HsmError("REQUEST_TOO_LARGE", "the request is larger than the daemon accepts", {
      size_bytes: request.sizeBytes,
      max_bytes: request.limitBytes,
    });
  }
  return new HsmError("REQUEST_INVALID", "the request is not a valid protobuf message of this method's type", {
    size_bytes: request.sizeBytes,
  });
}
