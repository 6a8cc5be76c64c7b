// Where keys live: creation on one node with -min_srv and its coverage wait, replication delivery, tombstones and deletion, per-node results.
import { RETURN_CODES } from "../../common/returnCodes";
import { untilAppendsReach } from "./appendWait";
import { AuditEvent, AuditOpcode } from "./auditLog";
import { Clock } from "./clock";
import { ClusterEvents } from "./clusterEvents";
import { KeyChange, KeyCreation, NewKeyOptions, NodeResult, StepOutcome } from "./clusterTypes";
import { HsmError } from "./errors";
import { GroupCommit } from "./groupCommit";
import { HandleAllocator } from "./handleAllocator";
import { KeyObject, wipeMaterial } from "./key";
import { KeyRegistry } from "./keyRegistry";
import { KeyClass } from "./keyTypes";
import { NodeTable } from "./nodes";
import { ReplicationQueues } from "./replicationQueues";
import { NewEvent } from "./revisionLog";
import { HsmStore } from "./store/hsmStore";
import { Timers } from "./timers";

const OK = RETURN_CODES.SUCCESS.code;

export interface PlacementParts {
  readonly store: HsmStore;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly commits: GroupCommit;
  readonly keys: KeyRegistry;
  readonly events: ClusterEvents;
  readonly nodes: NodeTable;
  readonly handles: HandleAllocator;
  /** CloudHSM client config create_object_minimum_nodes: the larger of it and -min_srv wins. */
  readonly createObjectMinimumNodes: number;
  /** Most keys the cluster holds; 0 for no limit. */
  readonly maxKeys: number;
  /** Told about failures of background work (replication writes). */
  readonly onBackgroundError: (err: unknown, context: string) => void;
}

/**
 * A token key is created durably on one answering node and replicated to the others, each after its
 * delay; a session key lives on its session's node only. Every change of where a key lives is one
 * durable write followed by one event per node.
 */
export class KeyPlacement {
  private readonly replication: ReplicationQueues;
  /** Token keys whose durable write is in flight; they count against the key cap. */
  private pendingKeys = 0;
  private readonly nodeCount: number;

  constructor(private readonly parts: PlacementParts) {
    this.nodeCount = parts.nodes.count;
    this.replication = new ReplicationQueues(
      parts.nodes,
      parts.clock,
      parts.timers,
      (nodeId, handles) => this.deliver(nodeId, handles),
      (err, nodeId) => parts.onBackgroundError(err, `replication to node ${nodeId}`),
    );
  }

  /** Checks -min_srv and -timeout; returns how many nodes must hold the new key. */
  requiredNodes(options: NewKeyOptions): number {
    if (options.timeoutSeconds !== undefined && options.minSrv === undefined) {
      throw new HsmError("TIMEOUT_WITHOUT_MIN_SRV", "-timeout is valid only together with -min_srv");
    }
    if (options.minSrv !== undefined && options.minSrv < 1) {
      throw new HsmError("MIN_SRV_INVALID", "-min_srv must be at least 1", { min_srv: options.minSrv });
    }
    // Session keys live on one HSM; the cluster-wide minimum applies to token keys only.
    const required = options.session ? (options.minSrv ?? 1) : Math.max(options.minSrv ?? 1, this.parts.createObjectMinimumNodes);
    const possible = options.session ? 1 : this.nodeCount;
    if (required > possible) {
      throw new HsmError("MIN_SRV_UNMET", "fewer HSMs than -min_srv can ever hold the key", { required, reached: 0, node_count: possible });
    }
    return required;
  }

  /** Refuses a new key past the key cap, or with an id some key already has. */
  checkRoomFor(id: string): void {
    const { keys, maxKeys } = this.parts;
    if (maxKeys > 0 && keys.size + this.pendingKeys >= maxKeys) {
      throw new HsmError("KEY_LIMIT_REACHED", "the cluster holds the maximum number of keys", { max_keys: maxKeys });
    }
    if (keys.hasId(id)) {
      // Nothing about the other key (owner, handle) is revealed.
      throw new HsmError("ID_ALREADY_EXISTS", "the key id is already in use in the cluster", { id });
    }
  }

  /**
   * Creates the key on one answering node (durably for a token key), queues its replication,
   * and waits until `required` nodes hold it. If that does not happen in time, or the call
   * ends first, the key is tombstoned everywhere and MIN_SRV_UNMET is thrown.
   */
  async create(
    draft: KeyObject,
    preferredNode: number,
    required: number,
    timeoutSeconds: number | undefined,
    steps: StepOutcome[],
    signal: AbortSignal | undefined,
  ): Promise<KeyCreation> {
    const { store, commits, keys, events } = this.parts;
    const origin = this.originNode(preferredNode);
    const key: KeyObject = { ...draft, handle: this.parts.handles.allocate(), nodes: new Set([origin]) };
    const audited: AuditEvent = {
      opcode: creationOpcode(steps),
      node: origin,
      user: key.ownerId,
      handle: key.handle,
      result: "SUCCESS",
      detail: `${key.keyClass === KeyClass.SECRET ? "" : `class ${key.keyClass} `}type ${key.keyType} ${key.flags.token ? "token" : "session"}`,
    };
    if (key.flags.token) {
      // The key joins the registry only once durable; meanwhile its id is held so no concurrent call takes it.
      keys.reserveId(key.id);
      this.pendingKeys += 1;
      try {
        await commits.submit(() => store.insertKey(key, required <= 1), [audited]);
      } catch (err) {
        key.material.fill(0);
        throw err;
      } finally {
        keys.releaseId(key.id);
        this.pendingKeys -= 1;
      }
    } else {
      commits.record(audited);
    }
    keys.add(key);
    const revision = events.publish(events.keyEvent("KEY_CREATED", key, origin));
    if (key.flags.token) this.replication.enqueue(key.handle, this.allNodeIds().filter((n) => n !== origin));
    if (required > 1) {
      const met = await this.awaitCoverage(key, required, timeoutSeconds, signal);
      if (!met) {
        const nodes = this.nodeResults(key);
        const reached = key.nodes.size;
        if (keys.get(key.handle) === key) this.tombstone(key);
        throw new HsmError("MIN_SRV_UNMET", "the key did not reach -min_srv HSMs in time and was not created", {
          required,
          reached,
          node_states: nodes.map((n) => `${n.nodeId}:0x${n.errState.toString(16).padStart(8, "0")}${n.holdsKey ? ":held" : ""}`).join(","),
        });
      }
      if (key.flags.token) commits.commit(() => store.markAcknowledged(key.handle));
    }
    return { handle: key.handle, steps, nodes: this.nodeResults(key), revision };
  }

  /** A session key becomes a token key (`tokenKey`, same handle): stored, then replicated like any other. */
  makeToken(tokenKey: KeyObject, audited: AuditEvent): KeyChange {
    const { store, commits, keys, events } = this.parts;
    commits.commit(() => store.insertKey(tokenKey, true), [audited]);
    keys.remove(tokenKey.handle);
    keys.add(tokenKey);
    const revision = events.publish(events.keyEvent("KEY_MADE_TOKEN", tokenKey, [...tokenKey.nodes][0] ?? 0));
    this.replicateToMissing(tokenKey);
    return { nodes: this.nodeResults(tokenKey), revision };
  }

  /** Queues a token key for every node that does not hold it yet. */
  replicateToMissing(key: KeyObject): void {
    // At start this runs for every stored key, nearly all held everywhere: look before allocating.
    let complete = true;
    for (let n = 0; n < this.nodeCount && complete; n++) complete = key.nodes.has(n);
    if (complete) return;
    const missing = this.allNodeIds().filter((n) => !key.nodes.has(n));
    this.replication.enqueue(key.handle, missing);
  }

  /** Removes a key whose creation failed from every node, durably first. */
  tombstone(key: KeyObject): void {
    const node = [...key.nodes][0] ?? 0;
    this.discard(key, "KEY_TOMBSTONED", { opcode: "CN_TOMBSTONE_OBJECT", node, user: key.ownerId, handle: key.handle, result: "SUCCESS" });
  }

  /** The session keys of an ended session vanish, visibly in the event log. */
  discardSessionKeys(sessionId: string): void {
    for (const key of this.parts.keys.sessionKeys(sessionId)) this.discard(key, "KEY_DELETED");
  }

  /** Removes a key everywhere; a token key's row goes in the same commit as `audited`. */
  discard(key: KeyObject, kind: "KEY_TOMBSTONED" | "KEY_DELETED", audited?: AuditEvent): void {
    const { store, commits, keys, events } = this.parts;
    if (key.flags.token || audited) {
      commits.commit(() => {
        if (key.flags.token) store.deleteKey(key.handle);
      }, audited ? [audited] : []);
    }
    this.replication.drop(key.handle);
    keys.remove(key.handle);
    const held = [...key.nodes].sort((a, b) => a - b);
    const removed: NewEvent[] = [];
    for (const nodeId of held) {
      key.nodes.delete(nodeId);
      removed.push(events.keyEvent(kind, key, nodeId));
    }
    events.append(removed);
    // A stored key nothing has read is still sealed: there is no plaintext to zero, and nothing to unseal for it.
    wipeMaterial(key);
  }

  /** Per-node result of an operation that every answering node takes part in (a session key's: its node only). */
  nodeResults(key?: KeyObject): NodeResult[] {
    const ids = key?.sessionId !== undefined ? [...key.nodes] : this.allNodeIds();
    return ids.map((nodeId) => ({
      nodeId,
      errState: this.parts.nodes.answers(nodeId) ? OK : RETURN_CODES.SERVER_UNAVAILABLE.code,
      ...(key ? { holdsKey: key.nodes.has(nodeId) } : {}),
    }));
  }

  /** Keys queued for a node and not yet delivered. */
  pendingReplications(nodeId: number): number {
    return this.replication.pending(nodeId);
  }

  /** When the oldest key still waiting to reach a node was queued for it; undefined when none waits. */
  oldestPendingAt(nodeId: number): number | undefined {
    return this.replication.oldestEnqueuedAt(nodeId);
  }

  /** Re-evaluates replication after a node's state or delay, or the pause, changed. */
  rescheduleReplication(): void {
    this.replication.reschedule();
  }

  close(): void {
    this.replication.close();
  }

  allNodeIds(): number[] {
    return Array.from({ length: this.nodeCount }, (_, i) => i);
  }

  /** The node a new key is created on: the session's own if it answers, else the next that does. */
  private originNode(preferred: number): number {
    for (let i = 0; i < this.nodeCount; i++) {
      const nodeId = (preferred + i) % this.nodeCount;
      if (this.parts.nodes.answers(nodeId)) return nodeId;
    }
    throw new HsmError("CLUSTER_UNAVAILABLE", "no HSM in the cluster is available", { node_count: this.nodeCount });
  }

  /** Whether `required` nodes hold the key before the timeout (none: the call's deadline) or the call ends. */
  private awaitCoverage(key: KeyObject, required: number, timeoutSeconds: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    const { clock, timers, keys, events } = this.parts;
    const deadline = timeoutSeconds !== undefined ? clock.now() + timeoutSeconds * 1000 : undefined;
    // Every delivery and every removal appends to the log, so each append is the moment to look again.
    return untilAppendsReach(
      events.log,
      timers,
      () => clock.now(),
      { reached: () => key.nodes.size >= required, gone: () => keys.get(key.handle) !== key },
      { ...(deadline !== undefined ? { deadline } : {}), ...(signal ? { signal } : {}) },
    );
  }

  /** Replication delivered `handles` to `nodeId`: one durable write, then one event per key. */
  private deliver(nodeId: number, handles: readonly number[]): void {
    const { store, commits, keys, events } = this.parts;
    const delivered = handles.map((h) => keys.get(h)).filter((k): k is KeyObject => k !== undefined && k.flags.token && !k.nodes.has(nodeId));
    if (delivered.length === 0) return;
    commits.commit(() => store.addKeyNodes(nodeId, delivered.map((k) => k.handle)));
    for (const key of delivered) key.nodes.add(nodeId);
    events.append(delivered.map((key) => events.keyEvent("KEY_REPLICATED", key, nodeId)));
  }
}

/** The audit opcode of a key creation, from the step that made the key. */
function creationOpcode(steps: readonly StepOutcome[]): AuditOpcode {
  const names = new Set(steps.map((s) => s.name));
  if (names.has("Cfm3UnWrapKey")) return "CN_UNWRAP_KEY";
  if (names.has("Cfm3GenerateKeyPair")) return "CN_GENERATE_KEY_PAIR";
  if (names.has("Cfm3CreatePublicKey")) return "CN_CREATE_OBJECT";
  return "CN_GENERATE_KEY";
}
