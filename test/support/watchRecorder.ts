// A raw WatchSyncStatus stream that records what arrives, for tests that need pause/cancel control:
// await conditions on the received messages (never sleep), pause and resume reading, cancel, and see how it ended.
import * as grpc from "@grpc/grpc-js";
import { eventsIn, HsmClient, HsmClientError, hsmProto, toClientError, WatchOptions, watchRequest } from "../../clients";

type SyncEvent = hsmProto.SyncEvent;
type WatchResponse = hsmProto.WatchSyncStatusResponse;

/** What to watch: the client facade's watch options (the recorder is ended by cancel, not by a signal). */
export type WatchRequest = Omit<WatchOptions, "signal">;

/** How a stream ended: OK (undefined error), or with a status (as HsmClientError, so reason and metadata are there). */
export interface WatchEnd {
  readonly error: HsmClientError | undefined;
}

interface Waiter {
  readonly check: () => boolean;
  readonly what: string;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class WatchRecorder {
  readonly call: grpc.ClientReadableStream<WatchResponse>;
  readonly messages: WatchResponse[] = [];
  /** The events received so far, in order. */
  readonly events: SyncEvent[] = [];
  /** The progress revisions received so far, in order. */
  readonly progress: number[] = [];
  /** The highest revision known delivered: the last event's or progress message's. */
  delivered = 0;
  /** Settles once the stream has ended and every message that arrived before the end was recorded. */
  readonly ended: Promise<WatchEnd>;
  private end: WatchEnd | undefined;
  private waiters: Waiter[] = [];

  private constructor(client: HsmClient, request: WatchRequest, paused: boolean, metadata: grpc.Metadata) {
    this.call = client.raw.watchSyncStatus(
      watchRequest(request),
      metadata,
    );
    if (paused) this.call.pause();
    this.ended = new Promise<WatchEnd>((resolve) => {
      let error: HsmClientError | undefined;
      let finishing = false;
      const finish = (): void => {
        if (finishing) return;
        finishing = true;
        // grpc-js emits 'error' right after pushing the end of the stream; let buffered messages arrive first.
        setImmediate(() => {
          this.end = { error };
          for (const w of this.waiters) w.reject(new Error(`the watch stream ended (${error ? `${grpc.status[error.code]} ${error.reason}` : "OK"}) before ${w.what}; got ${this.describe()}`));
          this.waiters = [];
          resolve(this.end);
        });
      };
      this.call.on("error", (err) => {
        error = toClientError(err) as HsmClientError;
        finish();
      });
      this.call.on("end", finish);
      this.call.on("status", finish);
    });
    this.call.on("data", (message: WatchResponse) => {
      this.messages.push(message);
      const events = eventsIn(message);
      if (events.length > 0) {
        this.events.push(...events);
        this.delivered = Math.max(this.delivered, Number(events[events.length - 1]!.revision));
      } else if (message.message?.$case === "progress") {
        this.progress.push(Number(message.message.value.revision));
        this.delivered = Math.max(this.delivered, Number(message.message.value.revision));
      }
      this.poke();
    });
  }

  /** Opens a watch as `client`'s session. With `paused`, nothing is read until resume(). */
  static open(client: HsmClient, request: WatchRequest = {}, options: { paused?: boolean; metadata?: grpc.Metadata } = {}): WatchRecorder {
    return new WatchRecorder(client, request, options.paused ?? false, options.metadata ?? client.metadata());
  }

  /** The revisions of the events received so far. */
  get revisions(): number[] {
    return this.events.map((e) => Number(e.revision));
  }

  /** Resolves once `check()` holds; rejects if the stream ends first. */
  until(check: () => boolean, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    if (this.end) return Promise.reject(new Error(`the watch stream had ended before ${what}; got ${this.describe()}`));
    return new Promise<void>((resolve, reject) => this.waiters.push({ check, what, resolve, reject }));
  }

  /** Resolves once an event (or a progress message) at or above `revision` has arrived. */
  untilRevision(revision: number): Promise<void> {
    return this.until(() => this.delivered >= revision, `revision ${revision}`);
  }

  /** Resolves with the first received event matching `predicate` (already received ones count). */
  async untilEvent(predicate: (e: SyncEvent) => boolean, what: string): Promise<SyncEvent> {
    await this.until(() => this.events.some(predicate), what);
    return this.events.find(predicate)!;
  }

  pause(): void {
    this.call.pause();
  }

  resume(): void {
    this.call.resume();
  }

  /** Cancels the call and waits until it has ended. */
  async cancel(): Promise<WatchEnd> {
    this.call.cancel();
    return this.ended;
  }

  private poke(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  private describe(): string {
    const revisions = this.revisions;
    return `${revisions.length} events${revisions.length > 0 ? ` (${revisions[0]}..${revisions[revisions.length - 1]})` : ""}`;
  }
}

/** Revisions `from`..`to` inclusive. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** Yields to the event loop once (lets servers and streams make progress between in-process writes). */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
