// The emulated CloudHSM cluster: users, login sessions and the key operations of key_mgmt_util.
import { randomBytes } from "node:crypto";
import { ALL_ATTRIBUTES, AttributeReading, readAttributes } from "./attributes";
import { Clock } from "./clock";
import { aesKeyUnwrapPkcs5, aesKeyWrapPkcs5, UnwrapIntegrityError } from "../../common/keyWrap";
import { keyCheckValue } from "./crypto/kcv";
import { HsmError } from "./errors";
import { AttestationStatement, NodeAttestors } from "./attestation";
import { AuditEvent, AuditTrail, NULL_AUDIT } from "./auditLog";
import { GroupCommit } from "./groupCommit";
import { HandleAllocator } from "./handleAllocator";
import { NodeInfo, NodeState, NodeTable } from "./nodes";
import { ReplicationQueues } from "./replicationQueues";
import { ClusterEvent, ClusterEventKind, EventAudience, NewEvent, RevisionLog } from "./revisionLog";
import { SyncWatcher, WatchOptions } from "./syncWatcher";
import { systemTimers, Timers } from "./timers";
import { WatchTicker } from "./watchTicker";
import { SharedScans } from "./sharedScans";
import { defaultFlags, INTERNAL_KEY_HANDLE, isVisibleTo, KeyObject } from "./key";
import { checkKeyId, checkLabel } from "./keyNaming";
import { KeyRegistry } from "./keyRegistry";
import { FIPS_DISALLOWED_KEY_TYPES, isSymmetricKeyType, isValidKeySize, KeyClass, KeyType } from "./keyTypes";
import { RETURN_CODES } from "../../common/returnCodes";
import { DEFAULT_SESSION_LIMITS, LoginSession, SessionEndListener, SessionLimits, SessionRegistry } from "./sessions";
import { HsmStore } from "./store/hsmStore";
import { LoginCheck, UserDirectory } from "./userDirectory";
import { DEFAULT_SCRYPT_COST, PasswordHasher, ScryptCost, scryptHasher, UserInfo, UserRole } from "./users";
import { DEFAULT_LOGIN_LIMITS, HashQueue, LoginLimits } from "./hashQueue";

export interface ClusterOptions {
  readonly store: HsmStore;
  readonly clock: Clock;
  readonly timers?: Timers;
  /** Number of emulated HSMs, node ids 0..nodeCount-1. */
  readonly nodeCount: number;
  /** Default time a token key takes to reach each other node (ms). */
  readonly replicationDelayMs?: number;
  /** CloudHSM client config create_object_minimum_nodes: the larger of it and -min_srv wins. */
  readonly createObjectMinimumNodes?: number;
  /** Events kept for watchers; older ones are compacted. */
  readonly eventCapacity?: number;
  /** Batched watchers that are caught up read at most once per this many ms (default 20). */
  readonly watchBatchIntervalMs?: number;
  readonly scryptCost?: ScryptCost;
  /** Hashes and checks passwords; scrypt at `scryptCost` when absent (tests inject one to count checks). */
  readonly passwordHasher?: PasswordHasher;
  /** How many password checks run and wait at once, per connection and daemon-wide. */
  readonly loginLimits?: LoginLimits;
  /** Where security events are recorded (the audit log); they commit with the changes they describe. */
  readonly audit?: AuditTrail;
  /** Session expiry and per-user cap. */
  readonly sessionLimits?: SessionLimits;
  /** Most keys the cluster holds (hsm2m.medium: 16,666); 0 for no limit. */
  readonly maxKeys?: number;
  /** Seed of the nodes' attestation keys; the same seed gives the same keys. Random if absent. */
  readonly attestationSeed?: Buffer;
  /** Told about failures of background work (replication writes). */
  readonly onBackgroundError?: (err: unknown, context: string) => void;
}

/** A node as the control service lists it. */
export interface NodeSummary extends NodeInfo {
  readonly keyCount: number;
  readonly pendingReplications: number;
  readonly firmwareTampered: boolean;
}

/** Batched watchers that are caught up read at most this often, by default. */
export const DEFAULT_WATCH_BATCH_MS = 20;

/** Shortest key WrapKey can wrap with PKCS#5-padded RFC 3394. */
export const MIN_WRAPPABLE_BYTES = 8;

/** Largest blob UnwrapHostKey takes (aesWrapUnwrap's file limit). */
export const MAX_WRAPPED_KEY_BYTES = 4096;

/** One line of the "Cluster Error Status" block. */
export interface NodeResult {
  readonly nodeId: number;
  readonly errState: number;
  /** For key operations: whether the node held the key when the result was built. */
  readonly holdsKey?: boolean;
}

/** One Cfm3* step and its return code. */
export interface StepOutcome {
  readonly name: string;
  readonly returnCode: number;
}

export interface KeyCreation {
  readonly handle: number;
  readonly steps: readonly StepOutcome[];
  readonly nodes: readonly NodeResult[];
  /** Revision of the key's creation event. */
  readonly revision: number;
}

/** Placement and sharing options common to genSymKey and imSymKey. */
export interface NewKeyOptions {
  readonly label: string;
  readonly id: string;
  readonly session: boolean;
  readonly shareWith: readonly number[];
  readonly minSrv: number | undefined;
  readonly timeoutSeconds: number | undefined;
}

export interface GenSymKeyParams extends NewKeyOptions {
  readonly keyType: number;
  readonly keySize: number;
  readonly nonExtractable: boolean;
}

export type ImportMaterial = { readonly kind: "plaintext"; readonly bytes: Buffer } | { readonly kind: "hostWrapped"; readonly bytes: Buffer };

export interface ImportSymKeyParams extends NewKeyOptions {
  readonly keyType: number;
  readonly wrappingKeyHandle: number;
  readonly material: ImportMaterial;
}

/** findKey filters; every given filter must match. */
export interface KeyFilter {
  readonly keyClass?: number;
  readonly keyType?: number;
  readonly label?: string;
  readonly id?: string;
  readonly session?: boolean;
  readonly sharedWith?: readonly number[];
  readonly kcv?: Buffer;
}

const OK = RETURN_CODES.SUCCESS.code;

export class HsmCluster {
  private readonly store: HsmStore;
  private readonly clock: Clock;
  private readonly timers: Timers;
  readonly nodeCount: number;
  private readonly createObjectMinimumNodes: number;
  private readonly users: UserDirectory;
  private readonly keys = new KeyRegistry();
  private readonly sessions: SessionRegistry;
  private readonly commits: GroupCommit;
  /** Token keys whose durable write is in flight; they count against the key cap. */
  private pendingKeys = 0;
  private readonly maxKeys: number;
  private sweep: { at: number; timer: { cancel(): void } } | undefined;
  private readonly handles: HandleAllocator;
  readonly events: RevisionLog;
  private readonly watchTicker: WatchTicker;
  private readonly watchScans = new SharedScans();
  readonly nodes: NodeTable;
  private readonly replication: ReplicationQueues;
  private loginCount = 0;
  readonly attestors: NodeAttestors;

  constructor(options: ClusterOptions) {
    if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1) throw new RangeError("nodeCount must be at least 1");
    this.store = options.store;
    this.clock = options.clock;
    this.timers = options.timers ?? systemTimers;
    this.nodeCount = options.nodeCount;
    this.createObjectMinimumNodes = options.createObjectMinimumNodes ?? 1;
    this.sessions = new SessionRegistry(options.sessionLimits ?? DEFAULT_SESSION_LIMITS);
    this.commits = new GroupCommit(this.store, options.audit ?? NULL_AUDIT);
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.nodes = new NodeTable(options.nodeCount, options.replicationDelayMs ?? DEFAULT_REPLICATION_DELAY_MS);
    this.attestors = new NodeAttestors(options.attestationSeed ?? randomBytes(32), options.nodeCount);
    const onError = options.onBackgroundError ?? (() => undefined);
    this.replication = new ReplicationQueues(this.nodes, this.clock, this.timers, (nodeId, handles) => this.deliver(nodeId, handles), (err, nodeId) =>
      onError(err, `replication to node ${nodeId}`),
    );

    const state = this.store.load();
    this.users = new UserDirectory(
      this.store,
      options.passwordHasher ?? scryptHasher(options.scryptCost ?? DEFAULT_SCRYPT_COST),
      new HashQueue(options.loginLimits ?? DEFAULT_LOGIN_LIMITS),
      state.users,
    );
    this.events = new RevisionLog(state.revisionCeiling, (ceiling) => this.store.reserveRevisions(ceiling), options.eventCapacity);
    this.watchTicker = new WatchTicker(this.events, this.timers, options.watchBatchIntervalMs ?? DEFAULT_WATCH_BATCH_MS);
    this.handles = new HandleAllocator(state.handleCeiling, (ceiling) => this.store.reserveHandles(ceiling));
    for (const { key, acknowledged } of state.keys) {
      if (!acknowledged) {
        // Its creating call never got an answer: -min_srv was not met before the daemon stopped.
        this.keys.add(key);
        this.tombstone(key);
        continue;
      }
      this.keys.add(key);
      const missing = this.allNodeIds().filter((n) => !key.nodes.has(n));
      if (missing.length > 0) this.replication.enqueue(key.handle, missing);
    }
  }

  // ---- users and sessions ------------------------------------------------------------------

  async createUser(role: UserRole, username: string, password: string): Promise<UserInfo> {
    try {
      // The new user's row and its record are one commit.
      return await this.users.create(role, username, password, (write, user) =>
        this.commits.commit(write, [{ opcode: "CN_CREATE_USER", node: 0, user: "admin", result: "SUCCESS", detail: `${role} ${user.username} id ${user.userId}` }]),
      );
    } catch (err) {
      this.record({ opcode: "CN_CREATE_USER", node: 0, user: "admin", result: failureReason(err), detail: `${role}` });
      throw err;
    }
  }

  /**
   * Clears a user's failed-login count and lock and, with `newPassword`, replaces the password: the admin
   * service's UnlockUser (`by` "admin") and a crypto officer's ChangeUserPassword (`by` the officer's session).
   */
  async resetUserLogin(by: "admin" | LoginSession, username: string, newPassword: string | undefined): Promise<UserInfo> {
    const actor = by === "admin" ? "admin" : by.userId;
    const opcode = newPassword === undefined ? "CN_UNLOCK_USER" : "CN_CHANGE_PSWD";
    try {
      if (by !== "admin" && by.role !== UserRole.CO) {
        throw new HsmError("INVALID_USER_TYPE", "only a crypto officer changes other users' passwords", { user_type: by.role });
      }
      // The new credentials and their record are one commit.
      return await this.users.resetLogin(username, newPassword, (write, user) =>
        this.commits.commit(write, [{ opcode, node: 0, user: actor, result: "SUCCESS", detail: `${user.role} ${user.username} id ${user.userId}` }]),
      );
    } catch (err) {
      this.record({ opcode, node: 0, user: actor, result: failureReason(err), detail: username.slice(0, 64) });
      throw err;
    }
  }

  listUsers(): UserInfo[] {
    return this.users.list();
  }

  findUserByName(username: string): UserInfo | undefined {
    return this.users.byUsername(username);
  }

  /**
   * Logs in (see UserDirectory.authenticate for lockout and enumeration rules) and opens a session.
   * `origin` names the client connection (in-process callers share "local"): it bounds how many logins one
   * client may have in progress.
   */
  async login(role: UserRole, username: string, password: string, origin = "local"): Promise<{ token: string; session: LoginSession }> {
    // The failed-login counter's change, if any, commits with this login's record.
    const loginState: { write?: () => void } = {};
    const persist = (write: () => void): void => {
      loginState.write = write;
    };
    // Batched (submit): a flood of logins costs one commit per turn, not one fsync each on the event loop.
    const refuse = (result: string): Promise<void> =>
      this.commits.submit(loginState.write ?? noWrite, [{ opcode: "CN_LOGIN", node: 0, user: username.slice(0, 64), result, detail: role }]);
    let check: LoginCheck;
    try {
      check = await this.users.authenticate(role, username, password, origin, persist);
    } catch (err) {
      // TOO_MANY_LOGINS is refused before any check, and not audited: a flood of logins must not become a
      // flood of audit records (the call log still has one line per refusal).
      const reason = failureReason(err);
      if (reason !== "TOO_MANY_LOGINS") await refuse(reason);
      throw err;
    }
    if ("refused" in check) {
      // The audit log tells a locked user apart; the caller is told only that the login failed.
      await refuse(check.refused);
      throw new HsmError("LOGIN_FAILED", "user name or password is wrong");
    }
    const user = check.user;
    // Sessions spread over the nodes, as the CloudHSM client balances its connections.
    const nodeId = this.loginCount++ % this.nodeCount;
    let opened: { token: string; session: LoginSession };
    try {
      opened = this.sessions.open(user, this.clock.now(), nodeId);
    } catch (err) {
      if (loginState.write) await this.commits.submit(loginState.write);
      throw err;
    }
    try {
      await this.commits.submit(loginState.write ?? noWrite, [{ opcode: "CN_LOGIN", node: nodeId, user: user.userId, result: "SUCCESS", detail: role }]);
    } catch (err) {
      // Not durable, so no session: nobody has seen its token yet.
      this.sessions.close(opened.token);
      throw err;
    }
    this.scheduleSweep();
    return opened;
  }

  /** The session of a token; UNAUTHENTICATED if none, SESSION_EXPIRED (and its session keys gone) if expired. */
  session(token: string | undefined): LoginSession {
    try {
      return this.sessions.resolve(token, this.clock.now());
    } catch (err) {
      if (err instanceof HsmError && err.reason === "SESSION_EXPIRED") this.expireSessions();
      throw err;
    }
  }

  /**
   * Holds a session open while a stream (a watch) uses it: it does not idle out meanwhile. `onEnd`
   * is called if the session is logged out or reaches its absolute lifetime first. Call the returned
   * function when the stream ends.
   */
  useSession(session: LoginSession, onEnd: SessionEndListener): () => void {
    const release = this.sessions.hold(session.sessionId, onEnd);
    return () => {
      release(this.clock.now());
      this.scheduleSweep();
    };
  }

  /** Ends every expired session; their session keys vanish, visibly in the event log. */
  expireSessions(): void {
    for (const { session, streams } of this.sessions.expire(this.clock.now())) {
      this.record({ opcode: "CN_SESSION_EXPIRED", node: session.nodeId, user: session.userId, result: "SUCCESS" });
      for (const key of this.keys.sessionKeys(session.sessionId)) this.discard(key, "KEY_DELETED");
      // After the discards, so a watch still delivers its session keys' removal before it ends.
      for (const onEnd of streams) onEnd(new HsmError("SESSION_EXPIRED", "the session has expired; log in again"));
    }
  }

  /** Keeps one timer set for the earliest possible expiry, so idle sessions end without a call. */
  private scheduleSweep(): void {
    const next = this.sessions.nextExpiry();
    if (next === undefined || (this.sweep && this.sweep.at <= next)) return;
    this.sweep?.timer.cancel();
    const timer = this.timers.after(Math.max(0, next - this.clock.now()), () => {
      this.sweep = undefined;
      this.expireSessions();
      this.scheduleSweep();
    });
    this.sweep = { at: next, timer };
  }

  /** Ends a session; its session keys vanish. */
  logout(token: string): NodeResult[] {
    const ended = this.sessions.close(token);
    if (!ended) throw new HsmError("UNAUTHENTICATED", "no valid session token; log in first");
    const { session, streams } = ended;
    this.record({ opcode: "CN_LOGOUT", node: session.nodeId, user: session.userId, result: "SUCCESS" });
    for (const key of this.keys.sessionKeys(session.sessionId)) this.discard(key, "KEY_DELETED");
    for (const onEnd of streams) onEnd(new HsmError("UNAUTHENTICATED", "the session was logged out; log in again"));
    return this.nodeResults();
  }

  // ---- keys --------------------------------------------------------------------------------

  async genSymKey(session: LoginSession, params: GenSymKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    requireCryptoUser(session);
    const keyType = checkKeyType(params.keyType, [KeyType.AES, KeyType.DES3, KeyType.GENERIC_SECRET]);
    if (!isValidKeySize(keyType, params.keySize)) {
      throw new HsmError("KEY_LENGTH_INVALID", `key size ${params.keySize} is not valid for key type ${keyType}`, {
        key_type: keyType,
        key_size: params.keySize,
      });
    }
    const required = this.checkNewKeyOptions(session, params);
    const material = randomBytes(params.keySize);
    const key = this.buildKey(session, params, keyType, material, { local: true, extractable: !params.nonExtractable });
    return this.create(key, session.nodeId, required, params.timeoutSeconds, [{ name: "Cfm3GenerateSymmetricKey", returnCode: OK }], signal);
  }

  /**
   * imSymKey: Cfm3WrapHostKey (skipped when the host wrapped the key), Cfm3CreateUnwrapTemplate,
   * Cfm3UnWrapKey. Every check runs before anything is created.
   */
  async importSymKey(session: LoginSession, params: ImportSymKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    requireCryptoUser(session);
    const keyType = checkKeyType(params.keyType, [KeyType.AES, KeyType.DES3]);
    const required = this.checkNewKeyOptions(session, params);
    const wrappingKey = this.usableKey(session, params.wrappingKeyHandle);
    if (wrappingKey.keyType !== KeyType.AES) {
      throw new HsmError("WRAPPING_KEY_NOT_AES", "only AES keys can be wrapping keys", {
        key_handle: wrappingKey.handle,
        key_type: wrappingKey.keyType,
      });
    }
    if (!wrappingKey.flags.wrap || !wrappingKey.flags.unwrap) {
      throw new HsmError("WRAPPING_KEY_CANNOT_WRAP", "the wrapping key needs OBJ_ATTR_WRAP=1 and OBJ_ATTR_UNWRAP=1", {
        key_handle: wrappingKey.handle,
        wrap: wrappingKey.flags.wrap,
        unwrap: wrappingKey.flags.unwrap,
      });
    }
    const steps: StepOutcome[] = [];
    let blob: Buffer;
    if (params.material.kind === "plaintext") {
      checkMaterialLength(keyType, params.material.bytes.length);
      blob = aesKeyWrapPkcs5(wrappingKey.material, params.material.bytes);
      steps.push({ name: "Cfm3WrapHostKey", returnCode: OK });
    } else {
      blob = params.material.bytes;
    }
    steps.push({ name: "Cfm3CreateUnwrapTemplate", returnCode: OK });
    let material: Buffer;
    try {
      material = aesKeyUnwrapPkcs5(wrappingKey.material, blob);
    } catch (err) {
      if (!(err instanceof UnwrapIntegrityError)) throw err;
      throw new HsmError("UNWRAP_INTEGRITY_FAILED", "the wrapped key does not unwrap with the wrapping key", {
        step: "Cfm3UnWrapKey",
        wrapping_key_handle: wrappingKey.handle,
      });
    }
    try {
      checkMaterialLength(keyType, material.length);
    } catch (err) {
      material.fill(0);
      throw err;
    }
    const key = this.buildKey(session, params, keyType, material, { local: false, extractable: true });
    steps.push({ name: "Cfm3UnWrapKey", returnCode: OK });
    return this.create(key, session.nodeId, required, params.timeoutSeconds, steps, signal);
  }

  getAttribute(session: LoginSession, handle: number, attributeId: number): AttributeReading[] {
    requireCryptoUser(session);
    const key = this.usableKey(session, handle);
    return readAttributes(key, attributeId);
  }

  /** Handles of visible keys matching every filter, ascending. */
  findKey(session: LoginSession, filter: KeyFilter): number[] {
    requireCryptoUser(session);
    const out: number[] = [];
    for (const key of this.keys.candidates(filter.label)) {
      if (!isVisibleTo(key, session.userId, session.sessionId)) continue;
      // A filter may name any number, so the key's enum is widened to compare with it.
      if (filter.keyClass !== undefined && (key.keyClass as number) !== filter.keyClass) continue;
      if (filter.keyType !== undefined && (key.keyType as number) !== filter.keyType) continue;
      if (filter.id !== undefined && key.id !== filter.id) continue;
      if (filter.session !== undefined && filter.session === key.flags.token) continue;
      if (filter.kcv !== undefined && !(key.kcv && key.kcv.equals(filter.kcv))) continue;
      if (filter.sharedWith && !filter.sharedWith.every((u) => key.ownerId === u || key.sharedWith.has(u))) continue;
      out.push(key.handle);
    }
    return out;
  }

  /** Shares a key with crypto users or stops sharing it; only the owner may. */
  shareKey(session: LoginSession, handle: number, userIds: readonly number[], share: boolean): { sharedWith: number[]; revision: number } {
    requireCryptoUser(session);
    const key = this.usableKey(session, handle);
    if (key.ownerId !== session.userId) {
      throw new HsmError("KEY_ACCESS_DENIED", "only the key's owner can share it", { key_handle: handle });
    }
    if (userIds.length === 0) throw new HsmError("REQUEST_INVALID", "name at least one user", { field: "user_ids" });
    this.checkShareList(session, userIds);
    const before = [...key.sharedWith];
    const next = new Set(key.sharedWith);
    for (const userId of userIds) {
      if (share) next.add(userId);
      else next.delete(userId);
    }
    const audited: AuditEvent = {
      opcode: "CN_SHARE_OBJECT",
      node: [...key.nodes][0] ?? 0,
      user: session.userId,
      handle,
      result: "SUCCESS",
      detail: `${share ? "share" : "unshare"} ${userIds.join(",")}`,
    };
    this.commits.commit(() => {
      if (key.flags.token) this.store.replaceShares(handle, next);
    }, [audited]);
    key.sharedWith.clear();
    for (const userId of next) key.sharedWith.add(userId);
    // Users who just lost the key also learn that its sharing changed.
    const audience: EventAudience = { ownerId: key.ownerId, sharedWith: [...new Set([...before, ...next])], sessionId: key.sessionId };
    const [event] = this.events.append([this.keyEvent("SHARING_CHANGED", key, [...key.nodes][0] ?? 0, audience)]);
    return { sharedWith: [...next].sort((a, b) => a - b), revision: event!.revision };
  }

  /** Per-node result of an operation that every answering node takes part in. */
  nodeResults(key?: KeyObject): NodeResult[] {
    const ids = key?.sessionId !== undefined ? [...key.nodes] : this.allNodeIds();
    return ids.map((nodeId) => ({
      nodeId,
      errState: this.nodes.answers(nodeId) ? OK : RETURN_CODES.SERVER_UNAVAILABLE.code,
      ...(key ? { holdsKey: key.nodes.has(nodeId) } : {}),
    }));
  }

  get keyCount(): number {
    return this.keys.size;
  }

  // ---- cluster control and watch ----------------------------------------------------------

  listNodes(): NodeSummary[] {
    const counts = new Array<number>(this.nodeCount).fill(0);
    for (const key of this.keys.candidates(undefined)) for (const n of key.nodes) counts[n] = (counts[n] ?? 0) + 1;
    return this.nodes.all().map((node) => ({
      ...node,
      keyCount: counts[node.nodeId] ?? 0,
      pendingReplications: this.replication.pending(node.nodeId),
      firmwareTampered: this.attestors.isTampered(node.nodeId),
    }));
  }

  /** Takes a node down, up, or partitions it; returns the event's revision (or the current one if nothing changed). */
  setNodeState(nodeId: number, state: NodeState): number {
    if (!this.nodes.setState(nodeId, state)) return this.events.currentRevision;
    this.record({ opcode: "CN_CLUSTER_CONTROL", node: nodeId, user: "admin", result: "SUCCESS", detail: `state ${state}` });
    const kind: ClusterEventKind = state === "DOWN" ? "NODE_DOWN" : state === "UP" ? "NODE_UP" : "NODE_PARTITIONED";
    const [event] = this.events.append([this.clusterEvent(kind, nodeId)]);
    this.replication.reschedule();
    return event!.revision;
  }

  setReplicationDelay(nodeId: number, delayMs: number): void {
    this.nodes.setDelay(nodeId, delayMs);
    this.record({ opcode: "CN_CLUSTER_CONTROL", node: nodeId, user: "admin", result: "SUCCESS", detail: `replication delay ${delayMs} ms` });
    this.replication.reschedule();
  }

  setReplicationPaused(paused: boolean): number {
    if (!this.nodes.setPaused(paused)) return this.events.currentRevision;
    this.record({ opcode: "CN_CLUSTER_CONTROL", node: 0, user: "admin", result: "SUCCESS", detail: paused ? "replication paused" : "replication resumed" });
    const [event] = this.events.append([this.clusterEvent(paused ? "REPLICATION_PAUSED" : "REPLICATION_RESUMED", 0)]);
    this.replication.reschedule();
    return event!.revision;
  }

  setFirmwareTampered(nodeId: number, tampered: boolean): void {
    if (!this.attestors.setTampered(nodeId, tampered)) return;
    this.record({ opcode: "CN_CLUSTER_CONTROL", node: nodeId, user: "admin", result: "SUCCESS", detail: tampered ? "firmware tampered" : "firmware genuine" });
    this.events.append([this.clusterEvent("NODE_FIRMWARE_CHANGED", nodeId)]);
  }

  /** Each answering node's attestation statement for a call (-attest). */
  attest(nonce: Buffer, keyHandle: number, key?: KeyObject): AttestationStatement[] {
    const ids = key?.sessionId !== undefined ? [...key.nodes] : this.allNodeIds();
    return ids.filter((n) => this.nodes.answers(n)).map((n) => this.attestors.statement(n, nonce, keyHandle, this.clock.now()));
  }

  /** The key a session may use, for callers that need more than its handle (attestation). */
  visibleKey(session: LoginSession, handle: number): KeyObject {
    return this.usableKey(session, handle);
  }

  // ---- export, attributes, deletion --------------------------------------------------------

  /** exSymKey's Cfm3WrapKey: the owner wraps an extractable key under an AES wrapping key. */
  wrapKey(session: LoginSession, handle: number, wrappingHandle: number): Buffer {
    requireCryptoUser(session);
    const key = this.ownedKey(session, handle, "only the key's owner can export it");
    if (!key.flags.extractable) throw new HsmError("KEY_NOT_EXTRACTABLE", "the key is not extractable", { key_handle: handle });
    if (key.material.length < MIN_WRAPPABLE_BYTES) {
      // PKCS#5 padding gives one 8-byte block; RFC 3394 needs at least two.
      throw new HsmError("KEY_LENGTH_INVALID", `keys shorter than ${MIN_WRAPPABLE_BYTES} bytes cannot be wrapped with AES key wrap`, {
        key_handle: handle,
        key_length: key.material.length,
        min_length: MIN_WRAPPABLE_BYTES,
      });
    }
    const wrappingKey = this.wrappingKey(session, wrappingHandle, "wrap");
    const wrapped = aesKeyWrapPkcs5(wrappingKey.material, key.material);
    this.record({ opcode: "CN_WRAP_KEY", node: session.nodeId, user: session.userId, handle, result: "SUCCESS", detail: `wrapping key ${wrappingHandle}` });
    return wrapped;
  }

  /** exSymKey's Cfm3UnWrapHostKey: unwraps a blob and hands the plaintext to the host. */
  unwrapHostKey(session: LoginSession, wrappingHandle: number, blob: Buffer): Buffer {
    requireCryptoUser(session);
    if (blob.length > MAX_WRAPPED_KEY_BYTES) {
      throw new HsmError("REQUEST_INVALID", `wrapped keys are at most ${MAX_WRAPPED_KEY_BYTES} bytes`, { field: "wrapped_key", length: blob.length });
    }
    const wrappingKey = this.wrappingKey(session, wrappingHandle, "unwrap");
    try {
      return aesKeyUnwrapPkcs5(wrappingKey.material, blob);
    } catch (err) {
      if (!(err instanceof UnwrapIntegrityError)) throw err;
      throw new HsmError("UNWRAP_INTEGRITY_FAILED", "the wrapped key does not unwrap with the wrapping key", {
        step: "Cfm3UnWrapHostKey",
        wrapping_key_handle: wrappingHandle,
      });
    }
  }

  /**
   * KMU setAttribute: only OBJ_ATTR_TOKEN may be set, and only to 1, turning a session key into a
   * token key that is then stored and replicated like any other.
   */
  setAttribute(session: LoginSession, handle: number, attributeId: number, value: number): { nodes: NodeResult[]; revision: number } {
    requireCryptoUser(session);
    const key = this.ownedKey(session, handle, "only the key's owner can change its attributes");
    if (attributeId !== 1) {
      throw new HsmError("ATTRIBUTE_READ_ONLY", "only OBJ_ATTR_TOKEN (1) can be set with key_mgmt_util", { attribute_id: attributeId });
    }
    if (value !== 1) throw new HsmError("REQUEST_INVALID", "OBJ_ATTR_TOKEN can only be set to 1", { attribute_id: attributeId, value });
    if (key.flags.token) return { nodes: this.nodeResults(key), revision: this.events.currentRevision };
    const tokenKey: KeyObject = { ...key, flags: { ...key.flags, token: true }, sessionId: undefined };
    this.commits.commit(
      () => this.store.insertKey(tokenKey, true),
      [{ opcode: "CN_MODIFY_OBJECT", node: [...tokenKey.nodes][0] ?? 0, user: session.userId, handle, result: "SUCCESS", detail: "OBJ_ATTR_TOKEN=1" }],
    );
    this.keys.remove(handle);
    this.keys.add(tokenKey);
    const [event] = this.events.append([this.keyEvent("KEY_MADE_TOKEN", tokenKey, [...tokenKey.nodes][0] ?? 0)]);
    this.replication.enqueue(handle, this.allNodeIds().filter((n) => !tokenKey.nodes.has(n)));
    return { nodes: this.nodeResults(tokenKey), revision: event!.revision };
  }

  /** KMU deleteKey: the owner deletes a key from every node. */
  deleteKey(session: LoginSession, handle: number): { nodes: NodeResult[]; revision: number } {
    requireCryptoUser(session);
    const key = this.ownedKey(session, handle, "only the key's owner can delete it");
    const nodes = this.nodeResults(key);
    this.discard(key, "KEY_DELETED", { opcode: "CN_DESTROY_OBJECT", node: nodes[0]?.nodeId ?? 0, user: session.userId, handle, result: "SUCCESS" });
    return { nodes: nodes.map(({ nodeId, errState }) => ({ nodeId, errState })), revision: this.events.currentRevision };
  }

  /** KMU getKeyInfo / findSingleKey: owner, sharing and placement of a visible key. */
  getKeyInfo(session: LoginSession, handle: number): { ownerId: number; sharedWith: number[]; nodes: NodeResult[] } {
    requireCryptoUser(session);
    const key = this.usableKey(session, handle);
    return { ownerId: key.ownerId, sharedWith: [...key.sharedWith].sort((a, b) => a - b), nodes: this.nodeResults(key) };
  }

  /** A cursor over the event log showing what this session may see. */
  watch(session: LoginSession, request: Omit<WatchOptions, "canSee" | "now" | "viewer" | "batching"> & { maxEventsPerResponse?: number }): SyncWatcher {
    const { maxEventsPerResponse = 1, ...options } = request;
    return new SyncWatcher(this.events, {
      ...options,
      ...(maxEventsPerResponse > 1 ? { batching: { maxEvents: maxEventsPerResponse, ticker: this.watchTicker, scans: this.watchScans } } : {}),
      // What canSee below depends on: the session (its session keys) and its user.
      viewer: `${session.sessionId}/${session.userId}`,
      now: () => this.clock.now(),
      canSee: (event) => {
        const a = event.audience;
        if (!a) return true;
        if (a.sessionId !== undefined && a.sessionId !== session.sessionId) return false;
        return a.ownerId === session.userId || a.sharedWith.includes(session.userId);
      },
    });
  }

  close(): void {
    this.sweep?.timer.cancel();
    this.replication.close();
    this.store.close();
  }

  // ---- internals ---------------------------------------------------------------------------

  private allNodeIds(): number[] {
    return Array.from({ length: this.nodeCount }, (_, i) => i);
  }

  /** A key the caller may use, else the documented answer for the internal key or a missing key. */
  private usableKey(session: LoginSession, handle: number): KeyObject {
    if (handle === INTERNAL_KEY_HANDLE) {
      throw new HsmError("INTERNAL_KEY_UNSUPPORTED", "key handle 4 is an unsupported internal key", { key_handle: handle });
    }
    const key = this.keys.get(handle);
    // An invisible key answers exactly like one that does not exist.
    if (!key || !isVisibleTo(key, session.userId, session.sessionId)) {
      throw new HsmError("KEY_NOT_FOUND", "invalid object handle", { key_handle: handle });
    }
    return key;
  }

  /** A visible key the caller owns; a visible key of someone else is "Key Access is denied" (0xc6). */
  private ownedKey(session: LoginSession, handle: number, why: string): KeyObject {
    const key = this.usableKey(session, handle);
    if (key.ownerId !== session.userId) throw new HsmError("KEY_ACCESS_DENIED", why, { key_handle: handle });
    return key;
  }

  /** A usable AES key with WRAP=1 (or UNWRAP=1). */
  private wrappingKey(session: LoginSession, handle: number, use: "wrap" | "unwrap"): KeyObject {
    const key = this.usableKey(session, handle);
    if (key.keyType !== KeyType.AES) {
      throw new HsmError("WRAPPING_KEY_NOT_AES", "only AES keys can be wrapping keys", { key_handle: handle, key_type: key.keyType });
    }
    if (!(use === "wrap" ? key.flags.wrap : key.flags.unwrap)) {
      throw new HsmError("WRAPPING_KEY_CANNOT_WRAP", `the wrapping key needs OBJ_ATTR_${use.toUpperCase()}=1`, {
        key_handle: handle,
        wrap: key.flags.wrap,
        unwrap: key.flags.unwrap,
      });
    }
    return key;
  }

  /** Checks label, id, sharing and -min_srv/-timeout; returns how many nodes must hold the key. */
  private checkNewKeyOptions(session: LoginSession, options: NewKeyOptions): number {
    checkLabel(options.label);
    checkKeyId(options.id);
    if (options.timeoutSeconds !== undefined && options.minSrv === undefined) {
      throw new HsmError("TIMEOUT_WITHOUT_MIN_SRV", "-timeout is valid only together with -min_srv");
    }
    if (options.minSrv !== undefined && options.minSrv < 1) {
      throw new HsmError("MIN_SRV_INVALID", "-min_srv must be at least 1", { min_srv: options.minSrv });
    }
    // Session keys live on one HSM; the cluster-wide minimum applies to token keys only.
    const required = options.session ? (options.minSrv ?? 1) : Math.max(options.minSrv ?? 1, this.createObjectMinimumNodes);
    const possible = options.session ? 1 : this.nodeCount;
    if (required > possible) {
      throw new HsmError("MIN_SRV_UNMET", "fewer HSMs than -min_srv can ever hold the key", { required, reached: 0, node_count: possible });
    }
    this.checkShareList(session, options.shareWith);
    if (this.maxKeys > 0 && this.keys.size + this.pendingKeys >= this.maxKeys) {
      throw new HsmError("KEY_LIMIT_REACHED", "the cluster holds the maximum number of keys", { max_keys: this.maxKeys });
    }
    if (this.keys.hasId(options.id)) {
      // Nothing about the other key (owner, handle) is revealed.
      throw new HsmError("ID_ALREADY_EXISTS", "the key id is already in use in the cluster", { id: options.id });
    }
    return required;
  }

  private checkShareList(session: LoginSession, userIds: readonly number[]): void {
    const seen = new Set<number>();
    for (const userId of userIds) {
      if (userId === session.userId) throw new HsmError("SHARE_WITH_SELF", "do not share a key with yourself", { user_id: userId });
      if (!this.users.isCryptoUser(userId)) {
        throw new HsmError("SHARE_USER_UNKNOWN", "keys are shared only with existing crypto users", { user_id: userId });
      }
      if (seen.has(userId)) throw new HsmError("REQUEST_INVALID", "a user is listed twice", { user_id: userId });
      seen.add(userId);
    }
  }

  private buildKey(
    session: LoginSession,
    options: NewKeyOptions,
    keyType: KeyType,
    material: Buffer,
    origin: { local: boolean; extractable: boolean },
  ): KeyObject {
    return {
      handle: 0,
      ownerId: session.userId,
      keyClass: KeyClass.SECRET,
      keyType,
      label: options.label,
      id: options.id,
      flags: defaultFlags(keyType, { session: options.session, ...origin }),
      valueLen: material.length,
      kcv: keyCheckValue(keyType, material),
      sharedWith: new Set(options.shareWith),
      sessionId: options.session ? session.sessionId : undefined,
      nodes: new Set(),
      material,
    };
  }

  /**
   * Creates the key on one answering node (durably for a token key), queues its replication,
   * and waits until `required` nodes hold it. If that does not happen in time, or the call
   * ends first, the key is tombstoned everywhere and MIN_SRV_UNMET is thrown.
   */
  private async create(
    draft: KeyObject,
    preferredNode: number,
    required: number,
    timeoutSeconds: number | undefined,
    steps: StepOutcome[],
    signal: AbortSignal | undefined,
  ): Promise<KeyCreation> {
    const origin = this.originNode(preferredNode);
    const key: KeyObject = { ...draft, handle: this.handles.allocate(), nodes: new Set([origin]) };
    const audited: AuditEvent = {
      opcode: steps.some((s) => s.name === "Cfm3UnWrapKey") ? "CN_UNWRAP_KEY" : "CN_GENERATE_KEY",
      node: origin,
      user: key.ownerId,
      handle: key.handle,
      result: "SUCCESS",
      detail: `type ${key.keyType} ${key.flags.token ? "token" : "session"}`,
    };
    if (key.flags.token) {
      // The key joins the registry only once durable; meanwhile its id is held so no concurrent call takes it.
      this.keys.reserveId(key.id);
      this.pendingKeys += 1;
      try {
        await this.commits.submit(() => this.store.insertKey(key, required <= 1), [audited]);
      } catch (err) {
        key.material.fill(0);
        throw err;
      } finally {
        this.keys.releaseId(key.id);
        this.pendingKeys -= 1;
      }
    } else {
      this.record(audited);
    }
    this.keys.add(key);
    const [created] = this.events.append([this.keyEvent("KEY_CREATED", key, origin)]);
    if (key.flags.token) this.replication.enqueue(key.handle, this.allNodeIds().filter((n) => n !== origin));
    if (required > 1) {
      const met = await this.awaitCoverage(key, required, timeoutSeconds, signal);
      if (!met) {
        const nodes = this.nodeResults(key);
        const reached = key.nodes.size;
        if (this.keys.get(key.handle) === key) this.tombstone(key);
        throw new HsmError("MIN_SRV_UNMET", "the key did not reach -min_srv HSMs in time and was not created", {
          required,
          reached,
          node_states: nodes.map((n) => `${n.nodeId}:0x${n.errState.toString(16).padStart(8, "0")}${n.holdsKey ? ":held" : ""}`).join(","),
        });
      }
      if (key.flags.token) this.commits.commit(() => this.store.markAcknowledged(key.handle));
    }
    return { handle: key.handle, steps, nodes: this.nodeResults(key), revision: created!.revision };
  }

  /** The node a new key is created on: the session's own if it answers, else the next that does. */
  private originNode(preferred: number): number {
    for (let i = 0; i < this.nodeCount; i++) {
      const nodeId = (preferred + i) % this.nodeCount;
      if (this.nodes.answers(nodeId)) return nodeId;
    }
    throw new HsmError("CLUSTER_UNAVAILABLE", "no HSM in the cluster is available", { node_count: this.nodeCount });
  }

  private async awaitCoverage(key: KeyObject, required: number, timeoutSeconds: number | undefined, signal: AbortSignal | undefined): Promise<boolean> {
    const deadline = timeoutSeconds !== undefined ? this.clock.now() + timeoutSeconds * 1000 : undefined;
    while (key.nodes.size < required) {
      if (this.keys.get(key.handle) !== key || signal?.aborted) return false;
      const remaining = deadline === undefined ? undefined : deadline - this.clock.now();
      if (remaining !== undefined && remaining <= 0) return false;
      // One wait per append; its listener, timer and abort handler are all removed after.
      let done: () => void = () => undefined;
      let stopListening: (() => void) | undefined;
      let timer: { cancel(): void } | undefined;
      try {
        await new Promise<void>((resolve) => {
          done = () => resolve();
          stopListening = this.events.onNextAppend(done);
          if (remaining !== undefined) timer = this.timers.after(remaining, done);
          signal?.addEventListener("abort", done, { once: true });
        });
      } finally {
        stopListening?.();
        timer?.cancel();
        signal?.removeEventListener("abort", done);
      }
    }
    return true;
  }

  /** Replication delivered `handles` to `nodeId`: one durable write, then one event per key. */
  private deliver(nodeId: number, handles: readonly number[]): void {
    const keys = handles.map((h) => this.keys.get(h)).filter((k): k is KeyObject => k !== undefined && k.flags.token && !k.nodes.has(nodeId));
    if (keys.length === 0) return;
    this.commits.commit(() => this.store.addKeyNodes(nodeId, keys.map((k) => k.handle)));
    for (const key of keys) key.nodes.add(nodeId);
    this.events.append(keys.map((key) => this.keyEvent("KEY_REPLICATED", key, nodeId)));
  }

  /** Removes a key whose creation failed from every node, durably first. */
  private tombstone(key: KeyObject): void {
    const node = [...key.nodes][0] ?? 0;
    this.discard(key, "KEY_TOMBSTONED", { opcode: "CN_TOMBSTONE_OBJECT", node, user: key.ownerId, handle: key.handle, result: "SUCCESS" });
  }

  /** An audit event with no store change of its own: it still advances the chain's head in the store. */
  private record(event: AuditEvent): void {
    this.commits.commit(noWrite, [event]);
  }

  /** Removes a key everywhere; a token key's row goes in the same commit as `audited`. */
  private discard(key: KeyObject, kind: "KEY_TOMBSTONED" | "KEY_DELETED", audited?: AuditEvent): void {
    if (key.flags.token || audited) {
      this.commits.commit(() => {
        if (key.flags.token) this.store.deleteKey(key.handle);
      }, audited ? [audited] : []);
    }
    this.replication.drop(key.handle);
    this.keys.remove(key.handle);
    const held = [...key.nodes].sort((a, b) => a - b);
    const events: NewEvent[] = [];
    for (const nodeId of held) {
      key.nodes.delete(nodeId);
      events.push(this.keyEvent(kind, key, nodeId));
    }
    this.events.append(events);
    key.material.fill(0);
  }

  private keyEvent(kind: ClusterEventKind, key: KeyObject, nodeId: number, audience?: EventAudience): NewEvent {
    return {
      kind,
      handle: key.handle,
      nodeId,
      nodesHolding: key.nodes.size,
      nodeCount: this.nodeCount,
      atMs: this.clock.now(),
      audience: audience ?? { ownerId: key.ownerId, sharedWith: [...key.sharedWith], sessionId: key.sessionId },
    };
  }

  private clusterEvent(kind: ClusterEventKind, nodeId: number): NewEvent {
    return { kind, handle: 0, nodeId, nodesHolding: 0, nodeCount: this.nodeCount, atMs: this.clock.now(), audience: undefined };
  }
}

/** The hsm2m.medium quota of keys per cluster. */
export const DEFAULT_MAX_KEYS = 16_666;

/** Small but not zero, so a watcher sees replication happen. */
export const DEFAULT_REPLICATION_DELAY_MS = 20;

/** For an audit event that changes nothing in the store. */
function noWrite(): void {}

function failureReason(err: unknown): string {
  return err instanceof HsmError ? err.reason : "INTERNAL";
}

function requireCryptoUser(session: LoginSession): void {
  if (session.role !== UserRole.CU) {
    throw new HsmError("INVALID_USER_TYPE", "only crypto users can manage keys", { user_type: session.role });
  }
}

function checkKeyType(value: number, allowed: readonly KeyType[]): KeyType {
  if (FIPS_DISALLOWED_KEY_TYPES.has(value)) {
    throw new HsmError("KEY_TYPE_FIPS_DISALLOWED", `key type ${value} violates the FIPS policy`, { key_type: value });
  }
  if (!isSymmetricKeyType(value) || !allowed.includes(value)) {
    throw new HsmError("KEY_TYPE_NOT_ALLOWED", `key type ${value} is not allowed here`, {
      key_type: value,
      allowed: allowed.join(","),
    });
  }
  return value;
}

function checkMaterialLength(keyType: KeyType, length: number): void {
  if (!isValidKeySize(keyType, length)) {
    throw new HsmError("KEY_LENGTH_INVALID", `a ${length}-byte key is not valid for key type ${keyType}`, {
      key_type: keyType,
      key_length: length,
    });
  }
}

export { ALL_ATTRIBUTES };
export type { ClusterEvent };
