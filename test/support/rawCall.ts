// Calls any method by path with exact request bytes and chosen metadata, and reports the outcome as data (never throws):
// the status code, the ErrorInfo if the daemon sent one, and the raw response bytes. Used by the fuzz and access tests.
import * as grpc from "@grpc/grpc-js";
import { errorInfoOf } from "../../clients";
import { ErrorInfo } from "../../clients/generated/google/rpc/error_details";

export interface RawOutcome {
  readonly code: grpc.status;
  /** The status message (details). */
  readonly details: string;
  /** The google.rpc.ErrorInfo from grpc-status-details-bin, if any. */
  readonly info: ErrorInfo | undefined;
  /** Response bytes of a successful unary call. */
  readonly response: Buffer | undefined;
  /** Messages a stream delivered before it ended or was cancelled. */
  readonly messages: Buffer[];
  /** True when this side cancelled the stream (after `until` matched), not the daemon. */
  readonly cancelledHere: boolean;
}

export interface CallOptions {
  readonly deadlineMs?: number;
}

const identity = (b: Buffer): Buffer => b;

/** One unary call with `body` as the request bytes. */
export function rawCall(client: grpc.Client, path: string, body: Buffer, metadata: grpc.Metadata, options: CallOptions = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(path, identity, identity, body, metadata, { deadline: Date.now() + (options.deadlineMs ?? 20_000) }, (err, res) => {
      if (err) resolve(failed(err, [], false));
      else resolve({ code: grpc.status.OK, details: "", info: undefined, response: res as Buffer, messages: [], cancelledHere: false });
    });
  });
}

export interface StreamOptions extends CallOptions {
  /** Cancels the stream (and resolves) once this holds for the messages received so far. */
  readonly until?: (messages: readonly Buffer[]) => boolean;
}

/** One server-streaming call; resolves when it ends, fails, passes its deadline, or `until` holds. */
export function rawStream(client: grpc.Client, path: string, body: Buffer, metadata: grpc.Metadata, options: StreamOptions = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const messages: Buffer[] = [];
    let cancelledHere = false;
    let settled = false;
    const call = client.makeServerStreamRequest<Buffer, Buffer>(path, identity, identity, body, metadata, {
      deadline: Date.now() + (options.deadlineMs ?? 20_000),
    });
    const settle = (outcome: RawOutcome): void => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    call.on("data", (message: Buffer) => {
      messages.push(message);
      if (!cancelledHere && options.until?.(messages)) {
        cancelledHere = true;
        call.cancel();
      }
    });
    call.on("error", (err: grpc.ServiceError) => settle(failed(err, messages, cancelledHere)));
    call.on("status", (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK) {
        settle({ code: grpc.status.OK, details: status.details, info: undefined, response: undefined, messages, cancelledHere });
      }
    });
  });
}

function failed(err: grpc.ServiceError, messages: Buffer[], cancelledHere: boolean): RawOutcome {
  return { code: err.code, details: err.details ?? "", info: errorInfoOf(err), response: undefined, messages, cancelledHere };
}

/** Metadata from name/value pairs (values that grpc-js would refuse are the caller's problem). */
export function metadataOf(entries: Record<string, string | undefined>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [name, value] of Object.entries(entries)) if (value !== undefined) md.set(name, value);
  return md;
}

/** `authorization: Bearer <token>`. */
export function bearerMetadata(token: string): grpc.Metadata {
  return metadataOf({ authorization: `Bearer ${token}` });
}

/** The session token inside a facade client's metadata. */
export function tokenOf(client: { metadata(): grpc.Metadata }): string {
  const value = client.metadata().get("authorization")[0];
  if (typeof value !== "string" || !value.startsWith("Bearer ")) throw new Error("the client is not logged in");
  return value.slice("Bearer ".length);
}

/** A short description of an outcome for failure messages and tallies. */
export function describeOutcome(outcome: RawOutcome): string {
  if (outcome.code === grpc.status.OK) return "OK";
  return `${grpc.status[outcome.code]}/${outcome.info?.reason ?? "(no ErrorInfo)"}`;
}
