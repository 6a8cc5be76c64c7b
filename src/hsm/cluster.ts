// The emulated CloudHSM cluster as its callers see it: wires sessions, key operations, placement, control and watches over one store.
import { randomBytes } from "node:crypto";
import { AttributeReading } from "./attributes";
import { AttestationStatement, NodeAttestors } from "./attestation";
import { AuditTrail, NULL_AUDIT } from "./auditLog";
import { Clock } from "./clock";
import { AttestationKey, ClusterControl } from "./clusterControl";
import { ClusterEvents } from "./clusterEvents";
import { readStartingState, restoreKeys } from "./clusterRecovery";
import { ClusterSessions } from "./clusterSessions";
import { GenSymKeyParams, ImportSymKeyParams, KeyChange, KeyCreation, KeyFilter, NodeResult, NodeSummary } from "./clusterTypes";
import { ClusterReadings, readCluster } from "./clusterReadings";
import { ClusterWatches, WatchRequest } from "./clusterWatches";
import { GroupCommit, noWrite } from "./groupCommit";
import { HashQueue, LoginLimits } from "./hashQueue";
import { wrapHostData } from "./hostWrap";
import { describeNode, HsmNodeInfo, PARTITION_NAME, PartitionSummary } from "./hsmInfo";
import { wipeMaterial } from "./key";
import { KeyGuards } from "./keyGuards";
import { KeyOperations } from "./keyOperations";
import { GenerateKeyPairParams, ImportPrivateKeyParams, ImportPublicKeyParams, KeyPairCreation, KeyPairOperations, SignParams, VerifyParams } from "./keyPairOperations";
import { KeyPlacement } from "./keyPlacement";
import { KeyRegistry } from "./keyRegistry";
import { NodeState, NodeTable } from "./nodes";
import { RevisionLog } from "./revisionLog";
import { LoginSession, SessionLimits, SessionRegistry } from "./sessions";
import { HsmStore } from "./store/hsmStore";
import { SyncWatcher } from "./syncWatcher";
import { systemTimers, Timers } from "./timers";
import { UserDirectory } from "./userDirectory";
import { Encrypted } from "./crypto/ciphers";
import { DataOperations, DecryptParams, EncryptParams, MacParams, VerifyMacParams } from "./dataOperations";
import { UnwrapKeyParams, WrapKeyParams, WrapOperations } from "./wrapOperations";
import { PasswordHasher, ScryptCost, scryptHasher, UserInfo, UserRecord, UserRole } from "./users";
import { AuditEvent } from "./auditChain";
import { HsmError } from "./errors";
import { HandleAllocator } from "./handleAllocator";
import { checkSeed, SeedDocument, SeedError } from "./seed";
import { planSeed, SeedPlan, SeededKey } from "./seedPlan";
import { FIRST_KEY_HANDLE, StoredKey, StoreContents } from "./store/hsmStore";
import { MemorySnapshotShelf, SnapshotInfo, SnapshotShelf } from "./store/snapshotShelf";

export * from "./clusterTypes";
export type { CipherMechanism, Encrypted } from "./crypto/ciphers";
export type { HashAlgorithm } from "./crypto/hashAlgorithms";
export type { DecryptParams, EncryptParams, MacParams, VerifyMacParams } from "./dataOperations";
export { MAX_WRAPPED_KEY_BYTES } from "./keyOperations";
export { MAX_UNWRAP_BYTES } from "./wrapOperations";
export type { UnwrapKeyParams, WrapKeyParams } from "./wrapOperations";
export type { GenerateKeyPairParams, ImportPrivateKeyParams, ImportPublicKeyParams, KeyPairCreation, PrivateKeyMaterial, SignParams, VerifyParams } from "./keyPairOperations";
export { MAX_SIGN_DATA_BYTES } from "./keyPairOperations";
export type { WatchRequest } from "./clusterWatches";
export type { SeededKey } from "./seedPlan";
export type { SnapshotInfo } from "./store/snapshotShelf";

/** The state after a reset or a restore. */
export interface StateReplaced {
  /** Revision of the STATE_REPLACED event. */
  readonly revision: number;
  readonly userCount: number;
  readonly keyCount: number;
  readonly sessionsEnded: number;
  /** The seed's keys (reset to a seed), in seed order. */
  readonly seeded: readonly SeededKey[];
}

export interface ClusterOptions {
  readonly store: HsmStore;
  readonly clock: Clock;
  readonly timers?: Timers;
  /** Number of emulated HSMs, node ids 0..nodeCount-1. */
  readonly nodeCount: number;
  /** Default time a token key takes to reach each other node (ms). */
  readonly replicationDelayMs: number;
  /** CloudHSM client config create_object_minimum_nodes: the larger of it and -min_srv wins. */
  readonly createObjectMinimumNodes: number;
  /** Events kept for watchers; older ones are compacted. */
  readonly eventCapacity: number;
  /** Batched watchers that are caught up read at most once per this many ms. */
  readonly watchBatchIntervalMs: number;
  readonly scryptCost: ScryptCost;
  /** Hashes and checks passwords; scrypt at `scryptCost` when absent (tests inject one to count checks). */
  readonly passwordHasher?: PasswordHasher;
  /** How many password checks run and wait at once, per connection and daemon-wide. */
  readonly loginLimits: LoginLimits;
  /** Where security events are recorded (the audit log); they commit with the changes they describe. */
  readonly audit?: AuditTrail;
  /** Session expiry and per-user cap. */
  readonly sessionLimits: SessionLimits;
  /** Most keys the cluster holds (the hsm2m.medium quota by default); 0 for no limit. */
  readonly maxKeys: number;
  /** Seed of the nodes' attestation keys; the same seed gives the same keys. Random if absent. */
  readonly attestationSeed?: Buffer;
  /** Told about failures of background work (replication writes). */
  readonly onBackgroundError?: (err: unknown, context: string) => void;
  /** Where SaveSnapshot keeps snapshots; in memory when absent. */
  readonly snapshots?: SnapshotShelf;
}

/** The parts built over the store's users and keys; rebuilt whole when the state is reset or restored. */
interface StateParts {
  readonly users: UserDirectory;
  readonly keys: KeyRegistry;
  readonly registry: SessionRegistry;
  readonly handles: HandleAllocator;
  readonly placement: KeyPlacement;
  readonly sessions: ClusterSessions;
  readonly guards: KeyGuards;
  readonly operations: KeyOperations;
  readonly keyPairs: KeyPairOperations;
  readonly wrapping: WrapOperations;
  readonly data: DataOperations;
  readonly control: ClusterControl;
  /** Writes of this state; retired when the state is replaced. */
  readonly commits: GroupCommit;
}

/**
 * One object per cluster (no singletons: a test can build two). Each method hands over to the module
 * that owns the responsibility; see the README's Architecture section for who owns what.
 */
export class HsmCluster {
  readonly nodeCount: number;
  /** The event log, which tests read directly; callers that serve clients use currentRevision and watch. */
  readonly events: RevisionLog;
  private readonly store: HsmStore;
  private readonly options: ClusterOptions;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly audit: AuditTrail;
  private readonly nodes: NodeTable;
  private readonly attestors: NodeAttestors;
  private readonly clusterEvents: ClusterEvents;
  private readonly hasher: PasswordHasher;
  private readonly hashQueue: HashQueue;
  private readonly watches: ClusterWatches;
  private readonly snapshots: SnapshotShelf;
  /** Everything over the store's users and keys: replaced whole by a reset or restore, so callers never see half of each. */
  private state: StateParts;

  constructor(options: ClusterOptions) {
    if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1) throw new RangeError("nodeCount must be at least 1");
    const { store, clock } = options;
    this.options = options;
    this.clock = clock;
    this.timers = options.timers ?? systemTimers;
    this.store = store;
    this.nodeCount = options.nodeCount;
    this.audit = options.audit ?? NULL_AUDIT;
    this.nodes = new NodeTable(options.nodeCount, options.replicationDelayMs);
    this.attestors = new NodeAttestors(options.attestationSeed ?? randomBytes(32), options.nodeCount);
    this.hasher = options.passwordHasher ?? scryptHasher(options.scryptCost);
    this.hashQueue = new HashQueue(options.loginLimits);
    this.snapshots = options.snapshots ?? new MemorySnapshotShelf();

    const start = readStartingState(store, options.eventCapacity);
    this.events = start.log;
    this.clusterEvents = new ClusterEvents(start.log, clock, options.nodeCount);
    // Watches outlive a reset (their streams end with their sessions); they reach the sessions of the current state.
    this.watches = new ClusterWatches(start.log, clock, this.timers, options.watchBatchIntervalMs, {
      useSession: (session, onEnd) => this.state.sessions.useSession(session, onEnd),
    });
    this.state = this.assemble(start.users, start.keys, start.handles, new GroupCommit(store, this.audit));
  }

  /** Builds the parts over users and keys read from the store; the stored keys are restored (see restoreKeys). */
  private assemble(users: UserRecord[], stored: readonly StoredKey[], handles: HandleAllocator, commits: GroupCommit): StateParts {
    const { store, clock, timers, nodes, options } = this;
    const events = this.clusterEvents;
    const directory = new UserDirectory(store, this.hasher, this.hashQueue, users);
    const keys = new KeyRegistry();
    const placement = new KeyPlacement({
      store,
      clock,
      timers,
      commits,
      keys,
      events,
      nodes,
      handles,
      createObjectMinimumNodes: options.createObjectMinimumNodes,
      maxKeys: options.maxKeys,
      onBackgroundError: options.onBackgroundError ?? (() => undefined),
    });
    const registry = new SessionRegistry(options.sessionLimits);
    const sessions = new ClusterSessions({ clock, timers, commits, users: directory, sessions: registry, nodeCount: options.nodeCount, placement });
    const guards = new KeyGuards(keys, directory);
    const operations = new KeyOperations({ store, commits, keys, events, guards, placement });
    const keyPairs = new KeyPairOperations({ store, commits, keys, events, guards, placement });
    const wrapping = new WrapOperations({ commits, guards, placement });
    const data = new DataOperations(guards);
    const control = new ClusterControl({ clock, commits, keys, events, nodes, attestors: this.attestors, placement });
    restoreKeys(stored, keys, placement);
    return { users: directory, keys, registry, handles, placement, sessions, guards, operations, keyPairs, wrapping, data, control, commits };
  }

  // ---- seed, reset, snapshots -------------------------------------------------------------------

  /**
   * Creates what the seed describes and the cluster lacks (see planSeed: existing users and keys are left
   * as they are), in one durable commit; nothing is written if any part is refused (SeedError). Replication
   * delays of the seed are applied each time. Sessions and watches are not touched.
   */
  async applySeed(document: SeedDocument): Promise<readonly SeededKey[]> {
    // In-process callers hand over plain objects: the same checks as a file's.
    const seed = checkSeed(document);
    this.checkSeedDelays(seed);
    const before = this.state;
    const plan = await planSeed(seed, {
      users: before.users.list(),
      keyWithId: (id) => before.keys.findById(id),
      nodeCount: this.nodeCount,
      hashPassword: (password) => this.hashPassword(password),
      allocateHandle: () => before.handles.allocate(),
    });
    this.applySeedDelays(seed);
    if (plan.users.length + plan.keys.length === 0) return plan.seeded;
    if (this.state !== before) throw new HsmError("INTERNAL", "the cluster's state was replaced while the seed was planned");
    before.commits.commit(() => this.writeSeed(plan), plan.audit);
    // Only additions: sessions and watches go on, and see the new keys appear.
    for (const user of plan.users) before.users.adopt(user);
    for (const key of plan.keys) {
      before.keys.add(key);
      this.clusterEvents.publish(this.clusterEvents.keyEvent("KEY_CREATED", key, 0));
    }
    return plan.seeded;
  }

  /**
   * Replaces every user and key with none, or with the seed: one durable commit, recorded in the audit log.
   * Every session ends, watchers get STATE_REPLACED; handles start again where a new store's do, so a
   * reset to a seed gives its keys the handles a fresh start gives them.
   */
  async resetState(document: SeedDocument | undefined): Promise<StateReplaced> {
    const seed = document === undefined ? undefined : checkSeed(document);
    if (seed) this.checkSeedDelays(seed);
    let handle = FIRST_KEY_HANDLE;
    const plan: SeedPlan = seed
      ? await planSeed(seed, {
          users: [],
          keyWithId: () => undefined,
          nodeCount: this.nodeCount,
          hashPassword: (password) => this.hashPassword(password),
          allocateHandle: () => handle++,
        })
      : { users: [], keys: [], seeded: [], audit: [] };
    if (seed) this.applySeedDelays(seed);
    const audited: AuditEvent = { opcode: "CN_STATE_REPLACED", node: 0, user: "admin", result: "SUCCESS", detail: seed ? "reset to seed" : "reset to empty" };
    const replaced = this.replaceState(() => {
      this.store.clearContents();
      this.writeSeed(plan);
      if (plan.keys.length > 0) this.store.reserveHandles(handle);
    }, [audited, ...plan.audit]);
    return { ...replaced, seeded: plan.seeded };
  }

  /** Saves a consistent copy of the store's users and keys under `name` (SNAPSHOT_NAME_INVALID for a bad name). */
  saveSnapshot(name: string): SnapshotInfo {
    // Anything queued for the store commits first, so the snapshot has every change already answered.
    this.state.commits.commit(noWrite);
    const info = this.snapshots.save(name, this.store, this.clock.now());
    this.state.commits.record({ opcode: "CN_CLUSTER_CONTROL", node: 0, user: "admin", result: "SUCCESS", detail: `snapshot saved ${name}` });
    return info;
  }

  /**
   * Replaces every user and key with the snapshot's, as resetState does. The audit chain and the revisions
   * continue (they are not part of a snapshot); handles continue above both the snapshot's and the store's.
   * The snapshot is read and checked in full before anything changes.
   */
  restoreSnapshot(name: string): StateReplaced {
    const contents: StoreContents = this.snapshots.load(name);
    const audited: AuditEvent = { opcode: "CN_STATE_REPLACED", node: 0, user: "admin", result: "SUCCESS", detail: `restore snapshot ${name}` };
    return { ...this.replaceState(() => this.store.replaceContents(contents), [audited]), seeded: [] };
  }

  listSnapshots(): SnapshotInfo[] {
    return this.snapshots.list();
  }

  private hashPassword(password: string): Promise<string> {
    return this.hashQueue.run("local", () => this.hasher.hash(password));
  }

  private writeSeed(plan: SeedPlan): void {
    for (const user of plan.users) this.store.insertUser(user);
    for (const key of plan.keys) this.store.insertKey(key, true);
  }

  /** Node delays name nodes of this cluster (the seed's own node count, when it has one, was checked with the seed). */
  private checkSeedDelays(seed: SeedDocument): void {
    for (const node of Object.keys(seed.cluster?.nodeDelaysMs ?? {})) {
      if (Number(node) >= this.nodeCount) throw new SeedError(["cluster", "nodeDelaysMs", node], `the cluster has nodes 0 to ${this.nodeCount - 1}`);
    }
  }

  private applySeedDelays(seed: SeedDocument): void {
    const cluster = seed.cluster;
    if (!cluster) return;
    for (const [node, delay] of Object.entries(cluster.nodeDelaysMs ?? {})) this.control.setReplicationDelay(Number(node), delay);
  }

  /**
   * Replaces the users and keys by `write` in one durable commit with `audited`, then rebuilds the state from the
   * store: watchers get STATE_REPLACED, then every session ends (their watches deliver up to that event, then end).
   * Writes still queued for the old state are refused first, so nothing in flight lands in the new one.
   */
  private replaceState(write: () => void, audited: readonly AuditEvent[]): Omit<StateReplaced, "seeded"> {
    const old = this.state;
    old.commits.retire(() => new HsmError("UNAUTHENTICATED", "the cluster's state was replaced; log in again"));
    const commits = new GroupCommit(this.store, this.audit);
    try {
      commits.commit(write, audited);
    } catch (err) {
      // Nothing was written: the old state goes on.
      old.commits.retire(undefined);
      throw err;
    }
    old.placement.close();
    old.sessions.close();
    const stored = this.store.load();
    const revision = this.clusterEvents.publish(this.clusterEvents.clusterEvent("STATE_REPLACED", 0));
    this.state = this.assemble(stored.users, stored.keys, new HandleAllocator(stored.handleCeiling, (ceiling) => this.store.reserveHandles(ceiling)), commits);
    const ended = old.registry.closeAll();
    for (const { streams } of ended) {
      for (const onEnd of streams) onEnd(new HsmError("UNAUTHENTICATED", "the cluster's state was replaced; log in again"));
    }
    // The replaced keys are gone: their plaintext does not linger in memory.
    // (Material never read since the start is still sealed: wiping it would unseal it first.)
    for (const key of old.keys.candidates(undefined)) wipeMaterial(key);
    return { revision, userCount: stored.users.length, keyCount: stored.keys.length, sessionsEnded: ended.length };
  }

  private get sessions(): ClusterSessions {
    return this.state.sessions;
  }

  private get operations(): KeyOperations {
    return this.state.operations;
  }

  private get data(): DataOperations {
    return this.state.data;
  }

  private get wrapping(): WrapOperations {
    return this.state.wrapping;
  }

  private get keyPairs(): KeyPairOperations {
    return this.state.keyPairs;
  }

  private get placement(): KeyPlacement {
    return this.state.placement;
  }

  private get control(): ClusterControl {
    return this.state.control;
  }

  private get guards(): KeyGuards {
    return this.state.guards;
  }

  private get keys(): KeyRegistry {
    return this.state.keys;
  }

  // ---- users and sessions (ClusterSessions) ----------------------------------------------------

  createUser(role: UserRole, username: string, password: string): Promise<UserInfo> {
    return this.sessions.createUser(role, username, password);
  }

  /** UnlockUser (`by` "admin") and ChangeUserPassword (`by` a crypto officer's session). */
  resetUserLogin(by: "admin" | LoginSession, username: string, newPassword: string | undefined): Promise<UserInfo> {
    return this.sessions.resetUserLogin(by, username, newPassword);
  }

  listUsers(): UserInfo[] {
    return this.sessions.listUsers();
  }

  findUserByName(username: string): UserInfo | undefined {
    return this.sessions.findUserByName(username);
  }

  /** `origin` names the client connection; it bounds how many logins one client may have in progress. */
  login(role: UserRole, username: string, password: string, origin = "local"): Promise<{ token: string; session: LoginSession }> {
    return this.sessions.login(role, username, password, origin);
  }

  /** The session of a token; UNAUTHENTICATED if none, SESSION_EXPIRED if expired. */
  session(token: string | undefined): LoginSession {
    return this.sessions.session(token);
  }

  logout(token: string): NodeResult[] {
    return this.sessions.logout(token);
  }

  // ---- keys (KeyOperations) ----------------------------------------------------------------------

  genSymKey(session: LoginSession, params: GenSymKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    return this.operations.genSymKey(session, params, signal);
  }

  importSymKey(session: LoginSession, params: ImportSymKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    return this.operations.importSymKey(session, params, signal);
  }

  getAttribute(session: LoginSession, handle: number, attributeId: number): AttributeReading[] {
    return this.operations.getAttribute(session, handle, attributeId);
  }

  findKey(session: LoginSession, filter: KeyFilter): number[] {
    return this.operations.findKey(session, filter);
  }

  shareKey(session: LoginSession, handle: number, userIds: readonly number[], share: boolean): { sharedWith: number[]; revision: number } {
    return this.operations.shareKey(session, handle, userIds, share);
  }

  wrapKey(session: LoginSession, params: WrapKeyParams): Buffer {
    return this.wrapping.wrapKey(session, params);
  }

  unwrapKey(session: LoginSession, params: UnwrapKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    return this.wrapping.unwrapKey(session, params, signal);
  }

  unwrapHostKey(session: LoginSession, wrappingHandle: number, blob: Buffer): Buffer {
    return this.operations.unwrapHostKey(session, wrappingHandle, blob);
  }

  setAttribute(session: LoginSession, handle: number, attributeId: number, value: number): KeyChange {
    return this.operations.setAttribute(session, handle, attributeId, value);
  }

  deleteKey(session: LoginSession, handle: number): KeyChange {
    return this.operations.deleteKey(session, handle);
  }

  getKeyInfo(session: LoginSession, handle: number): { ownerId: number; sharedWith: number[]; nodes: NodeResult[] } {
    return this.operations.getKeyInfo(session, handle);
  }

  // ---- key pairs, sign and verify (KeyPairOperations) ---------------------------------------------

  generateKeyPair(session: LoginSession, params: GenerateKeyPairParams, signal?: AbortSignal): Promise<KeyPairCreation> {
    return this.keyPairs.generateKeyPair(session, params, signal);
  }

  importPublicKey(session: LoginSession, params: ImportPublicKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    return this.keyPairs.importPublicKey(session, params, signal);
  }

  importPrivateKey(session: LoginSession, params: ImportPrivateKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    return this.keyPairs.importPrivateKey(session, params, signal);
  }

  exportPublicKey(session: LoginSession, handle: number): string {
    return this.keyPairs.exportPublicKey(session, handle);
  }

  exportPrivateKey(session: LoginSession, handle: number, wrappingHandle: number): Buffer {
    return this.keyPairs.exportPrivateKey(session, handle, wrappingHandle);
  }

  sign(session: LoginSession, params: SignParams): Promise<Buffer> {
    return this.keyPairs.sign(session, params);
  }

  verify(session: LoginSession, params: VerifyParams): Promise<void> {
    return this.keyPairs.verify(session, params);
  }

  /** Per-node result of an operation that every answering node takes part in. */
  nodeResults(): NodeResult[] {
    return this.placement.nodeResults();
  }

  get keyCount(): number {
    return this.keys.size;
  }

  // ---- data: encrypt, decrypt, MAC (DataOperations) ---------------------------------------------

  encrypt(session: LoginSession, params: EncryptParams): Encrypted {
    return this.data.encrypt(session, params);
  }

  decrypt(session: LoginSession, params: DecryptParams): Buffer {
    return this.data.decrypt(session, params);
  }

  mac(session: LoginSession, params: MacParams): Buffer {
    return this.data.mac(session, params);
  }

  /** Returns when the MAC matches; SIGNATURE_INVALID otherwise. */
  verifyMac(session: LoginSession, params: VerifyMacParams): void {
    this.data.verifyMac(session, params);
  }

  // ---- HSM info and login status (getHSMInfo, getPartitionInfo, loginStatus) -------------------------

  /** Each node's description (in id order) and the partition's counts. */
  hsmInfo(): { hsms: HsmNodeInfo[]; partition: PartitionSummary } {
    let tokenKeys = 0;
    let sessionKeys = 0;
    for (const key of this.keys.candidates(undefined)) {
      if (key.sessionId === undefined) tokenKeys += 1;
      else sessionKeys += 1;
    }
    return {
      hsms: this.control.listNodes().map(describeNode),
      partition: {
        name: PARTITION_NAME,
        maxKeys: this.options.maxKeys,
        tokenKeys,
        sessionKeys,
        users: this.sessions.listUsers().length,
        sessions: this.sessions.openSessions,
      },
    };
  }

  /** aesWrapUnwrap -m 1: bytes from the host wrapped under an HSM AES key (Cfm3WrapHostKey). */
  wrapHostKey(session: LoginSession, wrappingHandle: number, data: Buffer): Buffer {
    return wrapHostData(this.guards, session, wrappingHandle, data);
  }

  /** When the caller's session expires if left unused from now on. */
  sessionExpiresAt(session: LoginSession): number {
    return this.sessions.expiresAt(session);
  }

  /** Keys, sessions, health and replication backlog per node, and the user count, as of now (for metrics). */
  readings(): ClusterReadings {
    return readCluster({
      nodes: this.control.listNodes(),
      sessionKeys: this.keys.allSessionKeys(),
      sessionsPerNode: this.sessions.openSessionsPerNode(),
      users: this.sessions.listUsers().length,
      oldestPendingAt: (nodeId) => this.placement.oldestPendingAt(nodeId),
      now: this.clock.now(),
    });
  }

  // ---- cluster control and attestation (ClusterControl) ------------------------------------------

  listNodes(): NodeSummary[] {
    return this.control.listNodes();
  }

  setNodeState(nodeId: number, state: NodeState): number {
    return this.control.setNodeState(nodeId, state);
  }

  setReplicationDelay(nodeId: number, delayMs: number): void {
    this.control.setReplicationDelay(nodeId, delayMs);
  }

  get replicationPaused(): boolean {
    return this.control.replicationPaused;
  }

  setReplicationPaused(paused: boolean): number {
    return this.control.setReplicationPaused(paused);
  }

  setFirmwareTampered(nodeId: number, tampered: boolean): void {
    this.control.setFirmwareTampered(nodeId, tampered);
  }

  /** -attest: each answering node's statement about a key the session may use. */
  attestKey(session: LoginSession, nonce: Buffer, handle: number): AttestationStatement[] {
    return this.control.attest(nonce, this.guards.usableKey(session, handle));
  }

  signAttestation(nodeId: number, document: Buffer): Buffer {
    return this.control.signAttestation(nodeId, document);
  }

  attestationKeys(): AttestationKey[] {
    return this.control.attestationKeys();
  }

  // ---- watch (ClusterWatches) ---------------------------------------------------------------------

  /** The newest revision of the event log. */
  get currentRevision(): number {
    return this.events.currentRevision;
  }

  /** A cursor over the event log showing what this session may see. */
  watch(session: LoginSession, request: WatchRequest): SyncWatcher {
    return this.watches.watch(session, request);
  }

  /** A watch for a stream until `signal` aborts, holding its session and ending when the session does. */
  openWatch(session: LoginSession, request: WatchRequest, signal: AbortSignal): SyncWatcher {
    return this.watches.openWatch(session, request, signal);
  }

  close(): void {
    this.sessions.close();
    this.placement.close();
    this.store.close();
  }
}

