// Scripts faults of the emulated cluster through ClusterControlService (guarded by the admin secret).
import * as grpc from "@grpc/grpc-js";
import { toClientError } from "./errors";
import {
  ClusterControlServiceClient,
  ListNodesResponse,
  Node,
  NodeState,
} from "./generated/localcloudhsm/v1/cluster_control_service";

export { NodeState };

export class ClusterControlClient {
  readonly raw: ClusterControlServiceClient;

  constructor(
    address: string,
    private readonly adminSecret: string,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  ) {
    this.raw = new ClusterControlServiceClient(address, credentials);
  }

  listNodes(): Promise<ListNodesResponse> {
    return this.unary((md, cb) => this.raw.listNodes({}, md, cb));
  }

  /** Takes a node down; it keeps its keys and catches up when it is up again. Resolves with the event revision. */
  async nodeDown(nodeId: number): Promise<number> {
    return Number((await this.unary<{ revision: string }>((md, cb) => this.raw.setNodeState({ nodeId, state: NodeState.NODE_STATE_DOWN }, md, cb))).revision);
  }

  async nodeUp(nodeId: number): Promise<number> {
    return Number((await this.unary<{ revision: string }>((md, cb) => this.raw.setNodeState({ nodeId, state: NodeState.NODE_STATE_UP }, md, cb))).revision);
  }

  /** The node answers but receives no replication until it is up again. */
  async partition(nodeId: number): Promise<number> {
    return Number((await this.unary<{ revision: string }>((md, cb) => this.raw.setNodeState({ nodeId, state: NodeState.NODE_STATE_PARTITIONED }, md, cb))).revision);
  }

  async setReplicationDelay(nodeId: number, delayMs: number): Promise<Node | undefined> {
    return (await this.unary<{ node?: Node }>((md, cb) => this.raw.setReplicationDelay({ nodeId, delayMs }, md, cb))).node;
  }

  async pauseReplication(paused = true): Promise<number> {
    return Number((await this.unary<{ revision: string }>((md, cb) => this.raw.setReplicationPaused({ paused }, md, cb))).revision);
  }

  /** Makes the node attest a wrong firmware measurement (true) or the genuine one again (false). */
  async setFirmwareTampered(nodeId: number, tampered = true): Promise<Node | undefined> {
    return (await this.unary<{ node?: Node }>((md, cb) => this.raw.setFirmwareTampered({ nodeId, tampered }, md, cb))).node;
  }

  close(): void {
    this.raw.close();
  }

  private unary<Res>(invoke: (md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: Res) => void) => void): Promise<Res> {
    const md = new grpc.Metadata();
    md.set("x-admin-secret", this.adminSecret);
    return new Promise((resolve, reject) => invoke(md, (err, res) => (err ? reject(toClientError(err)) : resolve(res))));
  }
}
