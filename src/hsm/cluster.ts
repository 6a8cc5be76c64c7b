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
import { ClusterWatches, WatchRequest } from "./clusterWatches";
import { Encrypted } from "./crypto/ciphers";
import { DataOperations, DecryptParams, EncryptParams, MacParams, VerifyMacParams } from "./dataOperations";
import { GroupCommit } from "./groupCommit";
import { HashQueue, LoginLimits } from "./hashQueue";
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
import { PasswordHasher, ScryptCost, scryptHasher, UserInfo, UserRole } from "./users";

export * from "./clusterTypes";
export { MAX_WRAPPED_KEY_BYTES, MIN_WRAPPABLE_BYTES } from "./keyOperations";
export type { GenerateKeyPairParams, ImportPrivateKeyParams, ImportPublicKeyParams, KeyPairCreation, PrivateKeyMaterial, SignParams, VerifyParams } from "./keyPairOperations";
export { MAX_SIGN_DATA_BYTES } from "./keyPairOperations";
export type { WatchRequest } from "./clusterWatches";
export type { CipherMechanism, Encrypted } from "./crypto/ciphers";
export type { HashAlgorithm } from "./crypto/hashAlgorithms";
export type { DecryptParams, EncryptParams, MacParams, VerifyMacParams } from "./dataOperations";

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
  private readonly keys = new KeyRegistry();
  private readonly sessions: ClusterSessions;
  private readonly operations: KeyOperations;
  private readonly keyPairs: KeyPairOperations;
  private readonly placement: KeyPlacement;
  private readonly control: ClusterControl;
  private readonly watches: ClusterWatches;
  private readonly guards: KeyGuards;
  private readonly data: DataOperations;

  constructor(options: ClusterOptions) {
    if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1) throw new RangeError("nodeCount must be at least 1");
    const { store, clock } = options;
    const timers = options.timers ?? systemTimers;
    this.store = store;
    this.nodeCount = options.nodeCount;
    const commits = new GroupCommit(store, options.audit ?? NULL_AUDIT);
    const nodes = new NodeTable(options.nodeCount, options.replicationDelayMs);
    const attestors = new NodeAttestors(options.attestationSeed ?? randomBytes(32), options.nodeCount);

    const start = readStartingState(store, options.eventCapacity);
    this.events = start.log;
    const events = new ClusterEvents(start.log, clock, options.nodeCount);
    const users = new UserDirectory(
      store,
      options.passwordHasher ?? scryptHasher(options.scryptCost),
      new HashQueue(options.loginLimits),
      start.users,
    );
    const keys = this.keys;
    this.placement = new KeyPlacement({
      store,
      clock,
      timers,
      commits,
      keys,
      events,
      nodes,
      handles: start.handles,
      createObjectMinimumNodes: options.createObjectMinimumNodes,
      maxKeys: options.maxKeys,
      onBackgroundError: options.onBackgroundError ?? (() => undefined),
    });
    const placement = this.placement;
    this.sessions = new ClusterSessions({
      clock,
      timers,
      commits,
      users,
      sessions: new SessionRegistry(options.sessionLimits),
      nodeCount: options.nodeCount,
      placement,
    });
    this.guards = new KeyGuards(keys, users);
    this.operations = new KeyOperations({ store, commits, keys, events, guards: this.guards, placement });
    this.data = new DataOperations(this.guards);
    this.keyPairs = new KeyPairOperations({ store, commits, keys, events, guards: this.guards, placement });
    this.control = new ClusterControl({ clock, commits, keys, events, nodes, attestors, placement });
    this.watches = new ClusterWatches(start.log, clock, timers, options.watchBatchIntervalMs, this.sessions);
    restoreKeys(start.keys, keys, placement);
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

  wrapKey(session: LoginSession, handle: number, wrappingHandle: number): Buffer {
    return this.operations.wrapKey(session, handle, wrappingHandle);
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
