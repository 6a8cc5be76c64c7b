// Builds the grpc-status-details-bin trailer: a google.rpc.Status holding one google.rpc.ErrorInfo.
import * as grpc from "@grpc/grpc-js";
import { ErrorInfo } from "../../clients/generated/google/rpc/error_details";
import { Status } from "../../clients/generated/google/rpc/status";

/** The ErrorInfo domain of every reason this daemon sends. */
export const ERROR_DOMAIN = "localcloudhsm.dev";
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/** A gRPC error carrying an ErrorInfo in its trailers. */
export function richServiceError(
  code: grpc.status,
  message: string,
  reason: string,
  metadata: Record<string, string>,
): Partial<grpc.StatusObject> {
  const info = ErrorInfo.encode({ reason, domain: ERROR_DOMAIN, metadata }).finish();
  const status = Status.encode({
    code,
    message,
    details: [{ typeUrl: "type.googleapis.com/google.rpc.ErrorInfo", value: Buffer.from(info) }],
  }).finish();
  const trailers = new grpc.Metadata();
  trailers.set(STATUS_DETAILS_KEY, Buffer.from(status));
  return { code, details: message, metadata: trailers };
}
