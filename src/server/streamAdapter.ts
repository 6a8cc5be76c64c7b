// Runs a server-streaming handler as an async iterable: honours write() backpressure, cancellation and shutdown.
import * as grpc from "@grpc/grpc-js";
import { inspect } from "node:util";
import { once } from "node:events";
import { HsmError } from "../hsm/errors";
import { CallLogFields, CallLogger } from "./callAdapter";
import { mapFailure } from "./errorMapping";
import { RejectedRequest, rejection } from "./requestGate";

export interface StreamContext {
  readonly metadata: grpc.Metadata;
  readonly log: CallLogFields;
  /** Aborted when the client cancels, the deadline passes, the daemon shuts down, or the stream ends. */
  readonly signal: AbortSignal;
}

export interface OutboundStream<Res, Item> {
  /** What the handler produces, turned into messages by `toMessage` as each is written. */
  readonly items: AsyncIterable<Item>;
  readonly toMessage: (item: Item) => Res;
  /**
   * Runs while a write waits for the client to drain; rejecting ends the stream with that
   * error (e.g. a watcher that fell too far behind). Must settle once `signal` aborts.
   */
  readonly whileBlocked?: (signal: AbortSignal) => Promise<void>;
}

export type StreamHandler<Req, Res, Item> = (request: Req, context: StreamContext) => OutboundStream<Res, Item>;

/** Tracks open streams so shutdown can end them instead of waiting for clients that never hang up. */
export class OpenStreams {
  private readonly controllers = new Set<AbortController>();
  private closing = false;

  open(): AbortController {
    const controller = new AbortController();
    if (this.closing) controller.abort(shuttingDown());
    this.controllers.add(controller);
    return controller;
  }

  release(controller: AbortController): void {
    this.controllers.delete(controller);
  }

  /** Ends every open stream with SHUTTING_DOWN. */
  closeAll(): void {
    this.closing = true;
    for (const c of this.controllers) c.abort(shuttingDown());
  }
}

function shuttingDown(): HsmError {
  return new HsmError("SHUTTING_DOWN", "the daemon is shutting down; reconnect and resume");
}

export function serverStreamingCall<Req, Res, Item>(
  method: string,
  logger: CallLogger,
  streams: OpenStreams,
  handler: StreamHandler<Req, Res, Item>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const started = process.hrtime.bigint();
    const controller = streams.open();
    const onCancelled = (): void => controller.abort(new Error("cancelled by the client"));
    call.on("cancelled", onCancelled);
    const context: StreamContext = { metadata: call.metadata, log: {}, signal: controller.signal };
    let sent = 0;

    const finish = (code: grpc.status, reason?: string): void => {
      call.off("cancelled", onCancelled);
      streams.release(controller);
      // Whatever the handler tied to the stream's signal (a session hold) is let go.
      controller.abort(new Error("the stream has ended"));
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger.callObserver?.(method, code, durationMs / 1000, "stream");
      logger.info("call", {
        method,
        status: grpc.status[code],
        duration_ms: Math.round(durationMs * 1000) / 1000,
        messages: sent,
        ...(context.log.userId !== undefined ? { user_id: context.log.userId } : {}),
        ...(reason ? { reason } : {}),
      });
    };

    const run = async (): Promise<void> => {
      const request = call.request as unknown;
      if (request instanceof RejectedRequest) throw rejection(request);
      const stream = handler(request as Req, context);
      for await (const item of stream.items) {
        if (controller.signal.aborted) break;
        sent += 1;
        if (!call.write(stream.toMessage(item))) await drained(call, controller.signal, stream.whileBlocked);
      }
    };

    run().then(
      () => {
        const reason = controller.signal.reason as unknown;
        if (reason instanceof HsmError) return fail(reason);
        if (call.cancelled) return finish(grpc.status.CANCELLED);
        finish(grpc.status.OK);
        call.end();
      },
      (err: unknown) => fail(controller.signal.reason instanceof HsmError ? controller.signal.reason : err),
    );

    function fail(err: unknown): void {
      if (call.cancelled) return finish(grpc.status.CANCELLED);
      const failure = mapFailure(err);
      if (failure.unexpected !== undefined) {
        const e = failure.unexpected;
        logger.error("unexpected failure", { method, stack: e instanceof Error ? e.stack : inspect(e) });
      }
      finish(failure.code, failure.reason);
      call.emit("error", failure.status);
    }
  };
}

/** Waits for 'drain', for the stream's own blocked-guard to reject, or for abort. */
async function drained(call: grpc.ServerWritableStream<unknown, unknown>, signal: AbortSignal, whileBlocked?: (s: AbortSignal) => Promise<void>): Promise<void> {
  const local = new AbortController();
  const onAbort = (): void => local.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const waits: Promise<unknown>[] = [once(call, "drain", { signal: local.signal }).catch(() => undefined)];
    if (whileBlocked) waits.push(whileBlocked(local.signal));
    await Promise.race(waits);
  } finally {
    signal.removeEventListener("abort", onAbort);
    local.abort();
  }
}
