// The emulated HSM nodes: each one's availability and replication delay, and the cluster-wide pause.
import { HsmError } from "./errors";

export type NodeState = "UP" | "DOWN" | "PARTITIONED";

export interface NodeInfo {
  readonly nodeId: number;
  readonly state: NodeState;
  readonly replicationDelayMs: number;
}

/** Largest replication delay a test may set. */
export const MAX_REPLICATION_DELAY_MS = 600_000;

export class NodeTable {
  private readonly nodes: { state: NodeState; replicationDelayMs: number }[];
  private paused = false;

  constructor(
    readonly count: number,
    defaultDelayMs: number,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError("node count must be at least 1");
    this.nodes = Array.from({ length: count }, () => ({ state: "UP", replicationDelayMs: defaultDelayMs }));
  }

  get(nodeId: number): NodeInfo {
    const node = this.nodes[nodeId];
    if (!node || !Number.isInteger(nodeId)) {
      throw new HsmError("NODE_NOT_FOUND", `there is no node ${nodeId}`, { node_id: nodeId, node_count: this.count });
    }
    return { nodeId, ...node };
  }

  all(): NodeInfo[] {
    return this.nodes.map((n, nodeId) => ({ nodeId, ...n }));
  }

  /** Sets a state; returns false when it was already so. */
  setState(nodeId: number, state: NodeState): boolean {
    this.get(nodeId);
    const node = this.nodes[nodeId]!;
    if (node.state === state) return false;
    node.state = state;
    return true;
  }

  setDelay(nodeId: number, delayMs: number): void {
    this.get(nodeId);
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_REPLICATION_DELAY_MS) {
      throw new HsmError("REQUEST_INVALID", `replication delay is 0 to ${MAX_REPLICATION_DELAY_MS} ms`, { delay_ms: delayMs });
    }
    this.nodes[nodeId]!.replicationDelayMs = delayMs;
  }

  get replicationPaused(): boolean {
    return this.paused;
  }

  /** Returns false when it was already so. */
  setPaused(paused: boolean): boolean {
    if (this.paused === paused) return false;
    this.paused = paused;
    return true;
  }

  /** Whether a node answers calls (up or partitioned). */
  answers(nodeId: number): boolean {
    return this.nodes[nodeId]?.state !== "DOWN";
  }

  /** Whether replication may deliver to the node now. */
  receives(nodeId: number): boolean {
    return !this.paused && this.nodes[nodeId]?.state === "UP";
  }
}
