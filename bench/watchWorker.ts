// Watcher worker process: opens N unfiltered WatchSyncStatus streams, checks every revision arrives once per watcher, measures lag.
import * as grpc from "@grpc/grpc-js";
import { performance } from "node:perf_hooks";
import { toClientError } from "../clients/errors";
import { HsmServiceService, WatchSyncStatusRequest } from "../clients/generated/localcloudhsm/v1/hsm_service";
import { LatencyHistogram } from "./latencyStats";
import { WatchParentMessage, WatchReport, WatchWorkerMessage, WatchWorkerSpec } from "./watchProtocol";
import { parseWatchResponse, ParsedResponse } from "./watchWire";

const WATCH = HsmServiceService.watchSyncStatus;
const CONNECT_TIMEOUT_MS = 30_000;
/**
 * HTTP/2 connection window of each channel. grpc-js leaves it at 64 KiB, shared by every stream on
 * the connection: hundreds of busy watch streams would wait on window updates, not on the daemon.
 */
const FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;

function send(message: WatchWorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with the daemon's Date.now() stamps. */
function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One stream's view: the next revision it must receive, and what went wrong. */
interface Watcher {
  call: grpc.ClientReadableStream<Buffer> | undefined;
  expected: number;
  received: number;
  ended: string | undefined;
  complete: boolean;
}

class Fleet {
  private readonly clients: grpc.Client[];
  private readonly watchers: Watcher[] = [];
  private readonly lag = new LatencyHistogram();
  private readonly baseEpochMs = nowEpochMs();
  private readonly buckets: number[] = [];
  private deliveries = 0;
  private missing = 0;
  private duplicates = 0;
  private progressNotices = 0;
  private firstProblem: string | undefined;
  private finishing = false;
  private lastRevision = Infinity;
  private completeCount = 0;
  private lastArrivalEpochMs = 0;
  private startedCount = 0;
  private onStarted: (() => void) | undefined;
  private onAllComplete: (() => void) | undefined;

  constructor(private readonly spec: WatchWorkerSpec) {
    // A local subchannel pool per client: separate TCP connections, not one shared subchannel.
    this.clients = Array.from(
      { length: spec.channels },
      () => new grpc.Client(spec.address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1, "grpc-node.flow_control_window": FLOW_CONTROL_WINDOW }),
    );
  }

  async connect(): Promise<{ connectMs: number; failedToConnect: number }> {
    const started = performance.now();
    await Promise.all(this.clients.map((c) => new Promise<void>((resolve, reject) => c.waitForReady(Date.now() + CONNECT_TIMEOUT_MS, (err) => (err ? reject(err) : resolve())))));
    const allStarted = new Promise<void>((resolve) => (this.onStarted = resolve));
    const request: WatchSyncStatusRequest = { startRevision: String(this.spec.startRevision), keyHandles: [], nodeIds: [], progressIntervalMs: 0, maxEventsPerResponse: this.spec.maxEventsPerResponse, untilNodesHolding: 0 };
    for (let i = 0; i < this.spec.watchers; i++) {
      const w: Watcher = { call: undefined, expected: this.spec.startRevision, received: 0, ended: undefined, complete: false };
      this.watchers.push(w);
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${this.spec.token}`);
      const call = this.clients[i % this.clients.length]!.makeServerStreamRequest(WATCH.path, WATCH.requestSerialize, (bytes: Buffer) => bytes, request, metadata, {});
      w.call = call;
      call.on("data", (bytes: Buffer) => this.onMessage(i, w, bytes));
      call.on("error", (err: Error) => this.onEnd(i, w, err));
      call.on("status", (status: grpc.StatusObject) => {
        if (status.code === grpc.status.OK) this.onEnd(i, w, undefined);
      });
    }
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, CONNECT_TIMEOUT_MS).unref());
    await Promise.race([allStarted, timeout]);
    return { connectMs: performance.now() - started, failedToConnect: this.watchers.filter((w) => w.received === 0).length };
  }

  /** Waits until every watcher has `lastRevision` (or the deadline), then cancels every stream. */
  async finish(lastRevision: number, lastEventEpochMs: number, deadlineMs: number): Promise<WatchReport> {
    const started = performance.now();
    this.lastRevision = lastRevision;
    for (const w of this.watchers) this.checkComplete(w);
    if (this.completeCount < this.watchers.length) {
      const allComplete = new Promise<void>((resolve) => (this.onAllComplete = resolve));
      await Promise.race([allComplete, new Promise<void>((resolve) => setTimeout(resolve, deadlineMs).unref())]);
    }
    const waitedForLastMs = performance.now() - started;
    const stoppedEpochMs = nowEpochMs();
    const cpu = process.cpuUsage();
    this.finishing = true;
    for (const w of this.watchers) w.call?.cancel();
    // What never arrived waited at least from the last event's time until now: a lower bound of its lag.
    const censoredLagMs = nowEpochMs() - lastEventEpochMs;
    let undelivered = 0;
    for (const w of this.watchers) {
      const left = Math.max(0, lastRevision - w.expected + 1);
      undelivered += left;
      for (let i = 0; i < left; i++) this.lag.record(censoredLagMs);
    }
    for (const c of this.clients) c.close();
    const ended: Record<string, number> = {};
    for (const w of this.watchers) if (w.ended !== undefined) ended[w.ended] = (ended[w.ended] ?? 0) + 1;
    for (const w of this.watchers) {
      if (!w.complete && w.ended === undefined) this.problem(`a watcher still waited for revision ${w.expected} (last ${lastRevision}) at the deadline`);
    }
    return {
      watchers: this.watchers.length,
      deliveries: this.deliveries,
      complete: this.completeCount,
      missing: this.missing,
      duplicates: this.duplicates,
      ended,
      firstProblem: this.firstProblem,
      progressNotices: this.progressNotices,
      lag: this.lag.data(),
      buckets: { baseEpochMs: this.baseEpochMs, bucketMs: this.spec.bucketMs, counts: this.buckets },
      connectMs: NaN,
      waitedForLastMs,
      lastArrivalEpochMs: this.completeCount === this.watchers.length ? this.lastArrivalEpochMs : null,
      undelivered,
      stoppedEpochMs,
      cpuMicros: cpu.user + cpu.system,
    };
  }

  /**
   * The last response parsed. Watchers with one view get byte-identical batches at each tick, so a
   * response equal to the previous one reuses its parse: the check that every watcher gets every
   * revision once, and each delivery's lag, still run per watcher, without decoding the same bytes
   * a thousand times.
   */
  private lastParsed: { bytes: Buffer; parsed: ParsedResponse } | undefined;

  private onMessage(index: number, w: Watcher, bytes: Buffer): void {
    const receivedAt = nowEpochMs();
    let parsed: ParsedResponse;
    if (this.lastParsed?.bytes.equals(bytes)) parsed = this.lastParsed.parsed;
    else {
      try {
        parsed = parseWatchResponse(bytes);
      } catch (err) {
        this.problem(`watcher ${index}: unreadable response (${(err as Error).message})`);
        return;
      }
      this.lastParsed = { bytes, parsed };
    }
    if (parsed.revisions.length > 0) this.onEvents(index, w, parsed, receivedAt);
    if (parsed.progress !== undefined) this.onProgress(index, w, parsed.progress);
  }

  private onProgress(index: number, w: Watcher, r: number): void {
    this.progressNotices += 1;
    // Unfiltered: every revision matches, so "delivered up to r" with r >= expected means events were skipped.
    if (r >= w.expected) {
      this.missing += r - w.expected + 1;
      this.problem(`watcher ${index}: progress says ${r} delivered, but ${w.expected} never arrived`);
      w.expected = r + 1;
    }
  }

  private onEvents(index: number, w: Watcher, parsed: ParsedResponse, receivedAt: number): void {
    const { revisions, timesMs } = parsed;
    const n = revisions.length;
    for (let i = 0; i < n; i++) {
      const stamped = timesMs[i]!;
      if (Number.isNaN(stamped)) this.problem(`watcher ${index}: event ${revisions[i]} has no time`);
      else this.lag.record(receivedAt - stamped);
    }
    this.deliveries += n;
    const bucket = Math.floor((receivedAt - this.baseEpochMs) / this.spec.bucketMs);
    while (this.buckets.length <= bucket) this.buckets.push(0);
    this.buckets[bucket]! += n;
    if (w.received === 0) this.started();
    w.received += n;
    if (parsed.contiguous && revisions[0] === w.expected) w.expected = revisions[n - 1]! + 1;
    else for (const revision of revisions) this.checkRevision(index, w, revision);
    this.checkComplete(w, receivedAt);
  }

  private checkRevision(index: number, w: Watcher, revision: number): void {
    if (revision === w.expected) w.expected += 1;
    else if (revision > w.expected) {
      this.missing += revision - w.expected;
      this.problem(`watcher ${index}: expected revision ${w.expected}, got ${revision}`);
      w.expected = revision + 1;
    } else {
      this.duplicates += 1;
      this.problem(`watcher ${index}: expected revision ${w.expected}, got ${revision} again or out of order`);
    }
  }

  private onEnd(index: number, w: Watcher, err: Error | undefined): void {
    if (this.finishing || w.ended !== undefined) return;
    const clientError = err ? (toClientError(err) as { reason?: string; message: string }) : undefined;
    w.ended = clientError ? (clientError.reason ?? "UNKNOWN") : "ENDED_OK";
    this.problem(`watcher ${index}: stream ended (${w.ended}${clientError ? `: ${clientError.message}` : ""}) waiting for revision ${w.expected}`);
    if (w.received === 0) this.started();
    this.checkAll();
  }

  private started(): void {
    this.startedCount += 1;
    if (this.startedCount === this.spec.watchers) this.onStarted?.();
  }

  private checkComplete(w: Watcher, receivedAt = nowEpochMs()): void {
    if (w.complete || w.expected <= this.lastRevision) return;
    w.complete = true;
    this.completeCount += 1;
    this.lastArrivalEpochMs = receivedAt;
    this.checkAll();
  }

  private checkAll(): void {
    const ended = this.watchers.filter((w) => w.ended !== undefined && !w.complete).length;
    if (this.completeCount + ended === this.watchers.length) this.onAllComplete?.();
  }

  private problem(text: string): void {
    this.firstProblem ??= text;
  }
}

function main(): void {
  if (!process.send) {
    process.stderr.write("watchWorker is started by the benchmark with an IPC channel\n");
    process.exit(2);
  }
  let fleet: Fleet | undefined;
  let connectMs = NaN;
  const fail = async (err: unknown): Promise<void> => {
    await send({ type: "failed", error: String((err as Error)?.stack ?? err) });
    process.disconnect();
  };
  process.on("message", (message: WatchParentMessage) => {
    if (message.type === "start") {
      fleet = new Fleet(message.spec);
      fleet.connect().then(async (r) => {
        connectMs = r.connectMs;
        await send({ type: "ready", ...r });
      }, fail);
    } else if (message.type === "finish") {
      if (!fleet) return void fail(new Error("finish before start"));
      fleet.finish(message.lastRevision, message.lastEventEpochMs, message.deadlineMs).then(async (report) => {
        await send({ type: "report", report: { ...report, connectMs } });
        process.disconnect();
      }, fail);
    }
  });
}

main();
