// Runs a unary handler: rejects gated requests, maps every failure in one place, and logs one line per call.
import * as grpc from "@grpc/grpc-js";
import { inspect } from "node:util";
import { mapFailure } from "./errorMapping";
import { Logger } from "./logger";
import { RejectedRequest, rejection } from "./requestGate";

/** Fields a handler adds to its call's log line. Never key material. */
export interface CallLogFields {
  userId?: number;
  keyHandle?: number;
}

export interface CallContext {
  readonly metadata: grpc.Metadata;
  readonly log: CallLogFields;
  /** Aborted when the client cancels or the call's deadline passes. */
  readonly signal: AbortSignal;
  /** The client connection's address and port (grpc-js getPeer): one HTTP/2 connection. */
  readonly peer: string;
}

export type UnaryHandler<Req, Res> = (request: Req, context: CallContext) => Promise<Res> | Res;

/** Told about every finished call where its log line is written: the method, its status and how long it took. */
export type CallObserver = (method: string, code: grpc.status, seconds: number, kind: "unary" | "stream") => void;

/**
 * A logger that also reports every finished call to an observer (the metrics). Every handler module already
 * threads one Logger to its adapters, so the observer rides on it: the metrics count exactly the calls the
 * call log shows, measured once, and no handler is wrapped twice.
 */
export type CallLogger = Logger & { readonly callObserver?: CallObserver };

/** A child of `logger` (same output) whose adapters report to `observer`. */
export function observedLogger(logger: Logger, observer: CallObserver): CallLogger {
  return Object.assign(logger.child({}), { callObserver: observer });
}

export function unaryCall<Req, Res>(method: string, logger: CallLogger, handler: UnaryHandler<Req, Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    // The abort signal and the peer string are made on first use: most handlers read neither, and an
    // AbortController per call was a measurable share of a short call's daemon CPU.
    let controller: AbortController | undefined;
    let cancelled = false;
    let peer: string | undefined;
    const onCancelled = (): void => {
      cancelled = true;
      controller?.abort();
    };
    call.on("cancelled", onCancelled);
    const context: CallContext = {
      metadata: call.metadata,
      log: {},
      get signal(): AbortSignal {
        if (!controller) {
          controller = new AbortController();
          if (cancelled) controller.abort();
        }
        return controller.signal;
      },
      get peer(): string {
        return (peer ??= call.getPeer());
      },
    };
    const finish = (code: grpc.status, reason?: string): void => {
      call.off("cancelled", onCancelled);
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger.callObserver?.(method, code, durationMs / 1000, "unary");
      // Formatting a line winston would drop costs a measurable share of a call.
      if (!logger.isInfoEnabled()) return;
      logger.info("call", {
        method,
        status: grpc.status[code],
        duration_ms: Math.round(durationMs * 1000) / 1000,
        ...(context.log.userId !== undefined ? { user_id: context.log.userId } : {}),
        ...(context.log.keyHandle !== undefined ? { key_handle: context.log.keyHandle } : {}),
        ...(reason ? { reason } : {}),
      });
    };
    const fail = (err: unknown): void => {
      const failure = mapFailure(err);
      if (failure.unexpected !== undefined) {
        const e = failure.unexpected;
        logger.error("unexpected failure", { method, stack: e instanceof Error ? e.stack : inspect(e) });
      }
      finish(failure.code, failure.reason);
      callback(failure.status, null);
    };
    try {
      const request = call.request as unknown;
      if (request instanceof RejectedRequest) throw rejection(request);
      Promise.resolve(handler(request as Req, context)).then(
        (response) => {
          finish(grpc.status.OK);
          callback(null, response);
        },
        fail,
      );
    } catch (err) {
      fail(err);
    }
  };
}
