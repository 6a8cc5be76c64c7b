// Per-node FIFO queues of keys waiting to replicate, each released after that node's delay.
import { Clock } from "./clock";
import { NodeTable } from "./nodes";
import { TimerHandle, Timers } from "./timers";

const RETRY_AFTER_FAILURE_MS = 1000;

interface Pending {
  readonly handle: number;
  readonly enqueuedAt: number;
}

/**
 * A key reaches node n `delay(n)` after it was queued, in queue order, and only while n
 * receives replication; a node that was down, partitioned or paused catches up with
 * everything queued meanwhile as soon as it receives again. `deliver` gets every due
 * handle of one node at once so the store can commit them in one transaction.
 */
export class ReplicationQueues {
  private readonly queues: Pending[][];
  private readonly timers: (TimerHandle | undefined)[];
  private closed = false;

  constructor(
    private readonly nodes: NodeTable,
    private readonly clock: Clock,
    private readonly timerSource: Timers,
    private readonly deliver: (nodeId: number, handles: number[]) => void,
    private readonly onError: (err: unknown, nodeId: number) => void = () => undefined,
  ) {
    this.queues = Array.from({ length: nodes.count }, () => []);
    this.timers = new Array<TimerHandle | undefined>(nodes.count);
  }

  enqueue(handle: number, nodeIds: readonly number[]): void {
    const now = this.clock.now();
    for (const nodeId of nodeIds) {
      const queue = this.queues[nodeId];
      if (!queue) continue;
      queue.push({ handle, enqueuedAt: now });
      if (queue.length === 1) this.schedule(nodeId);
    }
  }

  /** Forgets a key everywhere (it was tombstoned or deleted). */
  drop(handle: number): void {
    for (let nodeId = 0; nodeId < this.queues.length; nodeId++) {
      const queue = this.queues[nodeId]!;
      const at = queue.findIndex((p) => p.handle === handle);
      if (at >= 0) {
        queue.splice(at, 1);
        if (at === 0) this.schedule(nodeId);
      }
    }
  }

  pending(nodeId: number): number {
    return this.queues[nodeId]?.length ?? 0;
  }

  /** When the oldest key still queued for a node was queued; undefined when none is. */
  oldestEnqueuedAt(nodeId: number): number | undefined {
    return this.queues[nodeId]?.[0]?.enqueuedAt;
  }

  /** Re-evaluates every node's timer after a state, delay or pause change. */
  reschedule(): void {
    for (let nodeId = 0; nodeId < this.queues.length; nodeId++) this.schedule(nodeId);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) t?.cancel();
  }

  private schedule(nodeId: number): void {
    this.timers[nodeId]?.cancel();
    this.timers[nodeId] = undefined;
    const head = this.queues[nodeId]![0];
    if (this.closed || !head || !this.nodes.receives(nodeId)) return;
    const due = head.enqueuedAt + this.nodes.get(nodeId).replicationDelayMs;
    this.timers[nodeId] = this.timerSource.after(Math.max(0, due - this.clock.now()), () => this.release(nodeId));
  }

  private release(nodeId: number): void {
    this.timers[nodeId] = undefined;
    if (this.closed || !this.nodes.receives(nodeId)) return;
    const queue = this.queues[nodeId]!;
    const now = this.clock.now();
    const delay = this.nodes.get(nodeId).replicationDelayMs;
    let count = 0;
    while (count < queue.length && queue[count]!.enqueuedAt + delay <= now) count++;
    const released = queue.splice(0, count);
    try {
      if (released.length > 0) this.deliver(nodeId, released.map((p) => p.handle));
    } catch (err) {
      // Nothing was delivered: keep the keys queued, in order, and try again after a pause.
      queue.unshift(...released);
      this.onError(err, nodeId);
      this.timers[nodeId] = this.timerSource.after(RETRY_AFTER_FAILURE_MS, () => this.release(nodeId));
      return;
    }
    this.schedule(nodeId);
  }
}
