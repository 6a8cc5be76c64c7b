// Typed client errors: the gRPC status code plus the ErrorInfo reason and metadata the daemon sends.
import * as grpc from "@grpc/grpc-js";
import { ErrorInfo } from "./generated/google/rpc/error_details";
import { Status } from "./generated/google/rpc/status";

const ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo";

/** A failed call. Branch on `reason` (stable), never on `message`. */
export class HsmClientError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly reason: string,
    readonly metadata: Readonly<Record<string, string>>,
    message: string,
  ) {
    super(message);
    this.name = "HsmClientError";
  }

  /** The KMU return code, e.g. 0xa8 for an invalid object handle; undefined if the daemon sent none. */
  get kmuReturnCode(): number | undefined {
    const text = this.metadata.kmu_return_code;
    return text === undefined ? undefined : Number.parseInt(text, 16);
  }
}

/** The ErrorInfo of a gRPC error, if it carries one. */
export function errorInfoOf(err: Partial<grpc.ServiceError>): ErrorInfo | undefined {
  const raw = err.metadata?.get("grpc-status-details-bin")[0];
  if (!Buffer.isBuffer(raw)) return undefined;
  try {
    const status = Status.decode(raw);
    const detail = status.details.find((d) => d.typeUrl === ERROR_INFO_TYPE);
    return detail ? ErrorInfo.decode(detail.value) : undefined;
  } catch {
    return undefined;
  }
}

/** Converts a grpc-js error into HsmClientError; anything else is returned unchanged. */
export function toClientError(err: Error): Error;
export function toClientError(err: unknown): unknown;
export function toClientError(err: unknown): unknown {
  if (!(err instanceof Error) || typeof (err as grpc.ServiceError).code !== "number") return err;
  const serviceError = err as grpc.ServiceError;
  const info = errorInfoOf(serviceError);
  return new HsmClientError(serviceError.code, info?.reason ?? grpc.status[serviceError.code] ?? "UNKNOWN", info?.metadata ?? {}, serviceError.details ?? err.message);
}
