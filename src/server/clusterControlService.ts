// ClusterControlService handlers: node faults, replication delay and pause, for callers holding the admin secret.
import {
  ClusterControlServiceServer,
  Node,
  NodeState as ProtoNodeState,
} from "../../clients/generated/localcloudhsm/v1/cluster_control_service";
import { HsmCluster, NodeSummary } from "../hsm/cluster";
import { HsmError } from "../hsm/errors";
import { NodeState } from "../hsm/nodes";
import { requireAdminSecret } from "./auth";
import { unaryCall } from "./callAdapter";
import { Logger } from "./logger";

export function clusterControlHandlers(cluster: HsmCluster, adminSecret: string, logger: Logger): ClusterControlServiceServer {
  const node = (nodeId: number): Node => {
    const found = cluster.listNodes().find((n) => n.nodeId === nodeId);
    if (!found) throw new HsmError("NODE_NOT_FOUND", `there is no node ${nodeId}`, { node_id: nodeId, node_count: cluster.nodeCount });
    return toNode(found);
  };
  return {
    listNodes: unaryCall("ListNodes", logger, (_request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      return {
        nodes: cluster.listNodes().map(toNode),
        replicationPaused: cluster.replicationPaused,
        revision: String(cluster.currentRevision),
      };
    }),

    setNodeState: unaryCall("SetNodeState", logger, (request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      const state = fromProtoState(request.state);
      const revision = cluster.setNodeState(request.nodeId, state);
      return { node: node(request.nodeId), revision: String(revision) };
    }),

    setReplicationDelay: unaryCall("SetReplicationDelay", logger, (request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      cluster.setReplicationDelay(request.nodeId, request.delayMs);
      return { node: node(request.nodeId) };
    }),

    setFirmwareTampered: unaryCall("SetFirmwareTampered", logger, (request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      cluster.setFirmwareTampered(request.nodeId, request.tampered);
      return { node: node(request.nodeId) };
    }),

    setReplicationPaused: unaryCall("SetReplicationPaused", logger, (request, context) => {
      requireAdminSecret(context.metadata, adminSecret);
      const revision = cluster.setReplicationPaused(request.paused);
      return { paused: cluster.replicationPaused, revision: String(revision) };
    }),
  };
}

function toNode(n: NodeSummary): Node {
  return {
    nodeId: n.nodeId,
    state: n.state === "UP" ? ProtoNodeState.NODE_STATE_UP : n.state === "DOWN" ? ProtoNodeState.NODE_STATE_DOWN : ProtoNodeState.NODE_STATE_PARTITIONED,
    replicationDelayMs: n.replicationDelayMs,
    keyCount: n.keyCount,
    pendingReplications: n.pendingReplications,
    firmwareTampered: n.firmwareTampered,
  };
}

function fromProtoState(state: ProtoNodeState): NodeState {
  switch (state) {
    case ProtoNodeState.NODE_STATE_UP:
      return "UP";
    case ProtoNodeState.NODE_STATE_DOWN:
      return "DOWN";
    case ProtoNodeState.NODE_STATE_PARTITIONED:
      return "PARTITIONED";
    default:
      throw new HsmError("REQUEST_INVALID", "state must be NODE_STATE_UP, NODE_STATE_DOWN or NODE_STATE_PARTITIONED", { field: "state" });
  }
}
