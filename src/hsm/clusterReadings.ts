// Point-in-time figures of the cluster per node (keys held, sessions, health, replication backlog), read when metrics are scraped.
import { NodeSummary } from "./clusterTypes";
import { KeyObject } from "./key";
import { NodeState } from "./nodes";

/** CloudHSM's documented users quota per cluster (hsm2m.medium); HsmUsersAvailable counts down from it. */
export const USERS_QUOTA = 1024;

export interface NodeReading {
  readonly nodeId: number;
  readonly state: NodeState;
  readonly firmwareTampered: boolean;
  /** Token keys the node holds (replication delivered them, or they were created there). */
  readonly tokenKeys: number;
  /** Session keys living on the node. */
  readonly sessionKeys: number;
  /** Open login sessions bound to the node. */
  readonly sessions: number;
  /** Keys queued for the node and not yet delivered. */
  readonly pendingReplications: number;
  /** Age of the oldest of them, ms; 0 when none is queued. */
  readonly oldestPendingMs: number;
}

export interface ClusterReadings {
  readonly nodes: readonly NodeReading[];
  readonly users: number;
}

export interface ReadingSources {
  readonly nodes: readonly NodeSummary[];
  readonly sessionKeys: readonly KeyObject[];
  readonly sessionsPerNode: ReadonlyMap<number, number>;
  readonly users: number;
  readonly oldestPendingAt: (nodeId: number) => number | undefined;
  readonly now: number;
}

/** Combines what the cluster's parts know into one reading per node. */
export function readCluster(sources: ReadingSources): ClusterReadings {
  const sessionKeysPerNode = new Map<number, number>();
  for (const key of sources.sessionKeys) for (const n of key.nodes) sessionKeysPerNode.set(n, (sessionKeysPerNode.get(n) ?? 0) + 1);
  return {
    users: sources.users,
    nodes: sources.nodes.map((node) => {
      const sessionKeys = sessionKeysPerNode.get(node.nodeId) ?? 0;
      const oldest = sources.oldestPendingAt(node.nodeId);
      return {
        nodeId: node.nodeId,
        state: node.state,
        firmwareTampered: node.firmwareTampered,
        // A node's key count covers both kinds; session keys are never replicated, so the rest are token keys.
        tokenKeys: node.keyCount - sessionKeys,
        sessionKeys,
        sessions: sources.sessionsPerNode.get(node.nodeId) ?? 0,
        pendingReplications: node.pendingReplications,
        oldestPendingMs: oldest === undefined ? 0 : Math.max(0, sources.now - oldest),
      };
    }),
  };
}
