// Per-node replication queues on a fake clock: each node's delay, creation order, batching, nodes that do not
// receive (down, partitioned, paused) catching up, drops, delay changes, failed writes retried, close.
import { NodeTable } from "../../src/hsm/nodes";
import { ReplicationQueues } from "../../src/hsm/replicationQueues";
import { expectHsmErrorSync, FakeClock } from "./support/harness";

/** Lets zero-delay fake timers (setImmediate) fire. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

class Rig {
  readonly clock = new FakeClock();
  readonly nodes: NodeTable;
  readonly deliveries: { nodeId: number; handles: number[]; at: number }[] = [];
  readonly errors: { err: unknown; nodeId: number }[] = [];
  failNext = 0;
  readonly queues: ReplicationQueues;

  constructor(nodeCount = 3, delayMs = 100) {
    this.nodes = new NodeTable(nodeCount, delayMs);
    this.queues = new ReplicationQueues(
      this.nodes,
      this.clock,
      this.clock,
      (nodeId, handles) => {
        if (this.failNext > 0) {
          this.failNext -= 1;
          throw new Error("disk full");
        }
        this.deliveries.push({ nodeId, handles: [...handles], at: this.clock.now() - this.start });
      },
      (err, nodeId) => this.errors.push({ err, nodeId }),
    );
  }

  /** The fake clock's time when the rig was built; deliveries are recorded relative to it. */
  readonly start = this.clock.now();

  /** Handles delivered to `nodeId`, in delivery order. */
  delivered(nodeId: number): number[] {
    return this.deliveries.filter((d) => d.nodeId === nodeId).flatMap((d) => d.handles);
  }
}

describe("ReplicationQueues", () => {
  let rig: Rig;
  beforeEach(() => {
    rig = new Rig();
  });
  afterEach(() => rig.queues.close());

  test("a key reaches each node exactly its delay after it was queued, not a millisecond before", () => {
    rig.queues.enqueue(6, [1, 2]);
    rig.clock.advance(99);
    expect(rig.deliveries).toEqual([]);
    expect([rig.queues.pending(1), rig.queues.pending(2)]).toEqual([1, 1]);
    rig.clock.advance(1);
    expect(rig.deliveries).toEqual([
      { nodeId: 1, handles: [6], at: 100 },
      { nodeId: 2, handles: [6], at: 100 },
    ]);
    expect([rig.queues.pending(0), rig.queues.pending(1), rig.queues.pending(2)]).toEqual([0, 0, 0]);
  });

  test("every node has its own delay", () => {
    rig.nodes.setDelay(2, 250);
    rig.queues.enqueue(6, [1, 2]);
    rig.clock.advance(100);
    expect(rig.delivered(1)).toEqual([6]);
    expect(rig.delivered(2)).toEqual([]);
    rig.clock.advance(149);
    expect(rig.delivered(2)).toEqual([]);
    rig.clock.advance(1);
    expect(rig.deliveries.find((d) => d.nodeId === 2)).toEqual({ nodeId: 2, handles: [6], at: 250 });
  });

  test("keys reach a node in the order they were queued; keys due together arrive in one batch", () => {
    rig.queues.enqueue(6, [1]);
    rig.queues.enqueue(7, [1]);
    rig.clock.advance(30);
    rig.queues.enqueue(8, [1]);
    rig.clock.advance(70);
    expect(rig.deliveries).toEqual([{ nodeId: 1, handles: [6, 7], at: 100 }]);
    rig.clock.advance(30);
    expect(rig.deliveries).toEqual([
      { nodeId: 1, handles: [6, 7], at: 100 },
      { nodeId: 1, handles: [8], at: 130 },
    ]);
  });

  test("an unknown node id is ignored", () => {
    rig.queues.enqueue(6, [7]);
    rig.clock.advance(1000);
    expect(rig.deliveries).toEqual([]);
  });

  test.each(["DOWN", "PARTITIONED"] as const)("a %s node receives nothing, then catches up with everything in order as soon as it is up", async (state) => {
    rig.nodes.setState(2, state);
    rig.queues.reschedule();
    rig.queues.enqueue(6, [1, 2]);
    rig.clock.advance(50);
    rig.queues.enqueue(7, [1, 2]);
    rig.clock.advance(10_000);
    expect(rig.delivered(1)).toEqual([6, 7]);
    expect(rig.delivered(2)).toEqual([]);
    expect(rig.queues.pending(2)).toBe(2);
    rig.nodes.setState(2, "UP");
    rig.queues.reschedule();
    // Long overdue: delivered at once (a zero-delay timer), in one batch, in creation order.
    await settle();
    expect(rig.deliveries.filter((d) => d.nodeId === 2)).toEqual([{ nodeId: 2, handles: [6, 7], at: 10_050 }]);
    expect(rig.queues.pending(2)).toBe(0);
  });

  test("a node that goes down while a key is on its way does not get it until it is up", async () => {
    rig.queues.enqueue(6, [1]);
    rig.clock.advance(60);
    rig.nodes.setState(1, "DOWN");
    rig.queues.reschedule();
    rig.clock.advance(1000);
    expect(rig.delivered(1)).toEqual([]);
    rig.nodes.setState(1, "UP");
    rig.queues.reschedule();
    await settle();
    expect(rig.delivered(1)).toEqual([6]);
  });

  test("a pause stops every node; resuming delivers what is due and keeps the delay of what is not", async () => {
    rig.nodes.setPaused(true);
    rig.queues.reschedule();
    rig.queues.enqueue(6, [0, 1, 2]);
    rig.clock.advance(500);
    rig.queues.enqueue(7, [0, 1, 2]);
    rig.clock.advance(20);
    expect(rig.deliveries).toEqual([]);
    rig.nodes.setPaused(false);
    rig.queues.reschedule();
    await settle();
    expect([0, 1, 2].map((n) => rig.delivered(n))).toEqual([[6], [6], [6]]);
    rig.clock.advance(79);
    expect(rig.delivered(0)).toEqual([6]);
    rig.clock.advance(1);
    expect([0, 1, 2].map((n) => rig.delivered(n))).toEqual([
      [6, 7],
      [6, 7],
      [6, 7],
    ]);
  });

  test("a dropped key is forgotten on every node; the key behind it keeps its own due time", () => {
    rig.queues.enqueue(6, [1, 2]);
    rig.clock.advance(40);
    rig.queues.enqueue(7, [1, 2]);
    rig.queues.drop(6);
    expect([rig.queues.pending(1), rig.queues.pending(2)]).toEqual([1, 1]);
    rig.clock.advance(60);
    expect(rig.deliveries).toEqual([]);
    rig.clock.advance(40);
    expect(rig.deliveries).toEqual([
      { nodeId: 1, handles: [7], at: 140 },
      { nodeId: 2, handles: [7], at: 140 },
    ]);
  });

  test("dropping a key from the middle of a queue leaves the order of the others", () => {
    rig.queues.enqueue(6, [1]);
    rig.queues.enqueue(7, [1]);
    rig.queues.enqueue(8, [1]);
    rig.queues.drop(7);
    rig.clock.advance(100);
    expect(rig.delivered(1)).toEqual([6, 8]);
  });

  test("a longer delay postpones what is queued; a shorter one delivers sooner", async () => {
    rig.queues.enqueue(6, [1, 2]);
    rig.clock.advance(50);
    rig.nodes.setDelay(1, 60_000);
    rig.nodes.setDelay(2, 10);
    rig.queues.reschedule();
    // Node 2's key is already overdue under its new delay.
    await settle();
    expect(rig.delivered(2)).toEqual([6]);
    rig.clock.advance(59_949);
    expect(rig.delivered(1)).toEqual([]);
    rig.clock.advance(1);
    expect(rig.delivered(1)).toEqual([6]);
  });

  test("a failed delivery keeps the keys queued in order, reports the failure, and is retried", () => {
    rig.queues.enqueue(6, [1]);
    rig.queues.enqueue(7, [1]);
    rig.failNext = 1;
    rig.clock.advance(100);
    expect(rig.deliveries).toEqual([]);
    expect(rig.errors).toHaveLength(1);
    expect(rig.errors[0]!.nodeId).toBe(1);
    expect(rig.queues.pending(1)).toBe(2);
    rig.clock.advance(5_000);
    expect(rig.delivered(1)).toEqual([6, 7]);
    expect(rig.queues.pending(1)).toBe(0);
  });

  test("after close nothing is delivered", async () => {
    rig.queues.enqueue(6, [1, 2]);
    rig.queues.close();
    rig.clock.advance(10_000);
    rig.queues.reschedule();
    await settle();
    expect(rig.deliveries).toEqual([]);
  });
});

describe("NodeTable", () => {
  test("down nodes neither answer nor receive; partitioned nodes answer but do not receive; a pause stops receiving", () => {
    const nodes = new NodeTable(3, 20);
    expect([0, 1, 2].map((n) => [nodes.answers(n), nodes.receives(n)])).toEqual([
      [true, true],
      [true, true],
      [true, true],
    ]);
    expect(nodes.setState(1, "DOWN")).toBe(true);
    expect(nodes.setState(1, "DOWN")).toBe(false);
    expect(nodes.setState(2, "PARTITIONED")).toBe(true);
    expect([0, 1, 2].map((n) => [nodes.answers(n), nodes.receives(n)])).toEqual([
      [true, true],
      [false, false],
      [true, false],
    ]);
    expect(nodes.setPaused(true)).toBe(true);
    expect(nodes.setPaused(true)).toBe(false);
    expect(nodes.receives(0)).toBe(false);
    expect(nodes.all().map((n) => n.state)).toEqual(["UP", "DOWN", "PARTITIONED"]);
  });

  test("unknown nodes and out-of-range delays are refused", () => {
    const nodes = new NodeTable(3, 20);
    expectHsmErrorSync(() => nodes.get(3), "NODE_NOT_FOUND");
    expectHsmErrorSync(() => nodes.setState(-1, "UP"), "NODE_NOT_FOUND");
    expectHsmErrorSync(() => nodes.setDelay(0, -1), "REQUEST_INVALID");
    expectHsmErrorSync(() => nodes.setDelay(0, 600_001), "REQUEST_INVALID");
    expectHsmErrorSync(() => nodes.setDelay(0, 1.5), "REQUEST_INVALID");
    nodes.setDelay(0, 600_000);
    expect(nodes.get(0).replicationDelayMs).toBe(600_000);
  });
});
