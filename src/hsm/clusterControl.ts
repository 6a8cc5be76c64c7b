// Emulator control and attestation: node faults, replication delay and pause, firmware tampering, the nodes' signed statements.
import { AttestationStatement, GENUINE_FIRMWARE_MEASUREMENT, NodeAttestors } from "./attestation";
import { Clock } from "./clock";
import { ClusterEvents } from "./clusterEvents";
import { NodeSummary } from "./clusterTypes";
import { GroupCommit } from "./groupCommit";
import { KeyObject } from "./key";
import { KeyPlacement } from "./keyPlacement";
import { KeyRegistry } from "./keyRegistry";
import { NodeState, NodeTable } from "./nodes";
import { ClusterEventKind } from "./revisionLog";

export interface ControlParts {
  readonly clock: Clock;
  readonly commits: GroupCommit;
  readonly keys: KeyRegistry;
  readonly events: ClusterEvents;
  readonly nodes: NodeTable;
  readonly attestors: NodeAttestors;
  readonly placement: KeyPlacement;
}

/** A node's attestation identity, for clients to pin. */
export interface AttestationKey {
  readonly nodeId: number;
  readonly publicKeyDer: Buffer;
  readonly expectedFirmwareMeasurement: Buffer;
}

/** Every change is audited as the admin's and, when it changed something, announced to every watcher. */
export class ClusterControl {
  constructor(private readonly parts: ControlParts) {}

  listNodes(): NodeSummary[] {
    const { keys, nodes, attestors, placement } = this.parts;
    const counts = new Array<number>(nodes.count).fill(0);
    for (const key of keys.candidates(undefined)) for (const n of key.nodes) counts[n] = (counts[n] ?? 0) + 1;
    return nodes.all().map((node) => ({
      ...node,
      keyCount: counts[node.nodeId] ?? 0,
      pendingReplications: placement.pendingReplications(node.nodeId),
      firmwareTampered: attestors.isTampered(node.nodeId),
    }));
  }

  /** Takes a node down, up, or partitions it; returns the event's revision (or the current one if nothing changed). */
  setNodeState(nodeId: number, state: NodeState): number {
    const { nodes, commits, events, placement } = this.parts;
    if (!nodes.setState(nodeId, state)) return events.currentRevision;
    commits.record({ opcode: "CN_CLUSTER_CONTROL", node: nodeId, user: "admin", result: "SUCCESS", detail: `state ${state}` });
    const kind: ClusterEventKind = state === "DOWN" ? "NODE_DOWN" : state === "UP" ? "NODE_UP" : "NODE_PARTITIONED";
    const revision = events.publish(events.clusterEvent(kind, nodeId));
    placement.rescheduleReplication();
    return revision;
  }

  setReplicationDelay(nodeId: number, delayMs: number): void {
    const { nodes, commits, placement } = this.parts;
    nodes.setDelay(nodeId, delayMs);
    commits.record({ opcode: "CN_CLUSTER_CONTROL", node: nodeId, user: "admin", result: "SUCCESS", detail: `replication delay ${delayMs} ms` });
    placement.rescheduleReplication();
  }

  get replicationPaused(): boolean {
    return this.parts.nodes.replicationPaused;
  }

  /** Pauses or resumes replication to every node; returns the event's revision (or the current one if nothing changed). */
  setReplicationPaused(paused: boolean): number {
    const { nodes, commits, events, placement } = this.parts;
    if (!nodes.setPaused(paused)) return events.currentRevision;
    commits.record({ opcode: "CN_CLUSTER_CONTROL", node: 0, user: "admin", result: "SUCCESS", detail: paused ? "replication paused" : "replication resumed" });
    const revision = events.publish(events.clusterEvent(paused ? "REPLICATION_PAUSED" : "REPLICATION_RESUMED", 0));
    placement.rescheduleReplication();
    return revision;
  }

  setFirmwareTampered(nodeId: number, tampered: boolean): void {
    const { attestors, commits, events } = this.parts;
    if (!attestors.setTampered(nodeId, tampered)) return;
    commits.record({ opcode: "CN_CLUSTER_CONTROL", node: nodeId, user: "admin", result: "SUCCESS", detail: tampered ? "firmware tampered" : "firmware genuine" });
    events.append([events.clusterEvent("NODE_FIRMWARE_CHANGED", nodeId)]);
  }

  /** Each answering node's attestation statement about a key (-attest): a session key's node only. */
  attest(nonce: Buffer, key: KeyObject): AttestationStatement[] {
    const { nodes, attestors, placement, clock } = this.parts;
    const ids = key.sessionId !== undefined ? [...key.nodes] : placement.allNodeIds();
    return ids.filter((n) => nodes.answers(n)).map((n) => attestors.statement(n, nonce, key.handle, clock.now()));
  }

  /** The node's signature over an encoded statement (the transport encodes it). */
  signAttestation(nodeId: number, document: Buffer): Buffer {
    return this.parts.attestors.sign(nodeId, document);
  }

  attestationKeys(): AttestationKey[] {
    const { nodes, attestors } = this.parts;
    return Array.from({ length: nodes.count }, (_, nodeId) => ({
      nodeId,
      publicKeyDer: attestors.publicKeyDer(nodeId),
      expectedFirmwareMeasurement: GENUINE_FIRMWARE_MEASUREMENT,
    }));
  }
}
