// The emulated CloudHSM cluster: users, login sessions and the key operations of key_mgmt_util.
import { randomBytes } from "node:crypto";
import { ALL_ATTRIBUTES, AttributeReading, readAttributes } from "./attributes";
import { Clock } from "./clock";
import { aesKeyUnwrapPkcs5, aesKeyWrapPkcs5, UnwrapIntegrityError } from "./crypto/keyWrap";
import { keyCheckValue } from "./crypto/kcv";
import { HsmError } from "./errors";
import { ClusterEvent, EventLog } from "./eventLog";
import { HandleAllocator } from "./handleAllocator";
import { defaultFlags, INTERNAL_KEY_HANDLE, isVisibleTo, KeyObject } from "./key";
import { checkKeyId, checkLabel } from "./keyNaming";
import { KeyRegistry } from "./keyRegistry";
import { FIPS_DISALLOWED_KEY_TYPES, isSymmetricKeyType, isValidKeySize, KeyClass, KeyType } from "./keyTypes";
import { RETURN_CODES } from "./returnCodes";
import { LoginSession, SessionRegistry } from "./sessions";
import { HsmStore } from "./store/hsmStore";
import {
  checkPasswordRules,
  DEFAULT_SCRYPT_COST,
  hashPassword,
  MAX_LOGIN_FAILURES,
  normaliseUsername,
  ScryptCost,
  toUserInfo,
  UserInfo,
  UserRecord,
  UserRole,
  verifyPassword,
} from "./users";

export interface ClusterOptions {
  readonly store: HsmStore;
  readonly clock: Clock;
  /** Number of emulated HSMs, node ids 0..nodeCount-1. */
  readonly nodeCount: number;
  readonly scryptCost?: ScryptCost;
}

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
  readonly nodeCount: number;
  private readonly scryptCost: ScryptCost;
  private readonly users = new Map<number, UserRecord>();
  private readonly usersByName = new Map<string, UserRecord>();
  private readonly keys = new KeyRegistry();
  private readonly sessions = new SessionRegistry();
  private readonly handles: HandleAllocator;
  readonly events: EventLog;
  /** A cheap stand-in that answers "the password is wrong" in the time a real check takes. */
  private readonly decoyHash: Promise<string>;

  constructor(options: ClusterOptions) {
    if (!Number.isInteger(options.nodeCount) || options.nodeCount < 1) throw new RangeError("nodeCount must be at least 1");
    this.store = options.store;
    this.clock = options.clock;
    this.nodeCount = options.nodeCount;
    this.scryptCost = options.scryptCost ?? DEFAULT_SCRYPT_COST;
    const state = this.store.load();
    for (const user of state.users) this.indexUser(user);
    for (const key of state.keys) this.keys.add(key);
    this.events = new EventLog(state.revision);
    this.handles = new HandleAllocator(state.handleCeiling, (ceiling) => this.store.reserveHandles(ceiling));
    this.decoyHash = hashPassword(randomBytes(16).toString("hex"), this.scryptCost);
  }

  // ---- users -------------------------------------------------------------------------------

  async createUser(role: UserRole, username: string, password: string): Promise<UserInfo> {
    const name = normaliseUsername(username);
    checkPasswordRules(password);
    if (this.usersByName.has(name)) throw new HsmError("USER_ALREADY_EXISTS", "a user with this name exists", { username: name });
    const passwordHash = await hashPassword(password, this.scryptCost);
    // Checked again: another create of the same name may have finished while hashing.
    if (this.usersByName.has(name)) throw new HsmError("USER_ALREADY_EXISTS", "a user with this name exists", { username: name });
    const userId = Math.max(0, ...this.users.keys()) + 1;
    const user: UserRecord = { userId, role, username: name, passwordHash, loginFailures: 0, locked: false };
    this.store.insertUser(user);
    this.indexUser(user);
    return toUserInfo(user);
  }

  listUsers(): UserInfo[] {
    return [...this.users.values()].sort((a, b) => a.userId - b.userId).map(toUserInfo);
  }

  findUserByName(username: string): UserInfo | undefined {
    const user = this.usersByName.get(username.toLowerCase());
    return user ? toUserInfo(user) : undefined;
  }

  // ---- sessions ----------------------------------------------------------------------------

  /** Logs in; wrong password, unknown user and role mismatch are counted and answered alike where they must be. */
  async login(role: UserRole, username: string, password: string): Promise<{ token: string; session: LoginSession }> {
    const user = this.usersByName.get(username.toLowerCase());
    if (!user) {
      // Spend the same time as a real check so the answer does not reveal which names exist.
      await verifyPassword(password, await this.decoyHash);
      throw new HsmError("LOGIN_FAILED", "user name or password is wrong");
    }
    if (user.locked) throw new HsmError("USER_LOCKED", "user is locked after too many failed logins", { user_id: user.userId });
    const good = await verifyPassword(password, user.passwordHash);
    if (!good) {
      user.loginFailures += 1;
      if (user.loginFailures >= MAX_LOGIN_FAILURES) user.locked = true;
      this.store.saveLoginState(user);
      throw new HsmError(user.locked ? "USER_LOCKED" : "LOGIN_FAILED", "user name or password is wrong", {
        login_failures: user.loginFailures,
        max_login_failures: MAX_LOGIN_FAILURES,
      });
    }
    if (user.role !== role) throw new HsmError("INVALID_USER_TYPE", `user is not a ${role}`, { user_type: role });
    if (user.loginFailures !== 0) {
      user.loginFailures = 0;
      this.store.saveLoginState(user);
    }
    return this.sessions.open(user, this.clock.now(), 0);
  }

  /** The session of a token; UNAUTHENTICATED if none. */
  session(token: string | undefined): LoginSession {
    return this.sessions.resolve(token);
  }

  /** Ends a session; its session keys vanish. */
  logout(token: string): NodeResult[] {
    const session = this.sessions.close(token);
    if (!session) throw new HsmError("UNAUTHENTICATED", "no valid session token; log in first");
    for (const key of this.keys.sessionKeys(session.sessionId)) {
      key.material.fill(0);
      this.keys.remove(key.handle);
    }
    return this.allNodes();
  }

  // ---- keys --------------------------------------------------------------------------------

  genSymKey(session: LoginSession, params: GenSymKeyParams): KeyCreation {
    requireCryptoUser(session);
    const keyType = checkKeyType(params.keyType, [KeyType.AES, KeyType.DES3, KeyType.GENERIC_SECRET]);
    if (!isValidKeySize(keyType, params.keySize)) {
      throw new HsmError("KEY_LENGTH_INVALID", `key size ${params.keySize} is not valid for key type ${keyType}`, {
        key_type: keyType,
        key_size: params.keySize,
      });
    }
    this.checkNewKeyOptions(session, params);
    const material = randomBytes(params.keySize);
    const key = this.buildKey(session, params, keyType, material, { local: true, extractable: !params.nonExtractable });
    const nodes = this.place(key);
    return { handle: key.handle, steps: [{ name: "Cfm3GenerateSymmetricKey", returnCode: OK }], nodes, revision: key.createdRevision };
  }

  /**
   * imSymKey: Cfm3WrapHostKey (skipped when the host wrapped the key), Cfm3CreateUnwrapTemplate,
   * Cfm3UnWrapKey. Every check runs before anything is created.
   */
  importSymKey(session: LoginSession, params: ImportSymKeyParams): KeyCreation {
    requireCryptoUser(session);
    const keyType = checkKeyType(params.keyType, [KeyType.AES, KeyType.DES3]);
    this.checkNewKeyOptions(session, params);
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
    const nodes = this.place(key);
    steps.push({ name: "Cfm3UnWrapKey", returnCode: OK });
    return { handle: key.handle, steps, nodes, revision: key.createdRevision };
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
      if (filter.keyClass !== undefined && key.keyClass !== filter.keyClass) continue;
      if (filter.keyType !== undefined && key.keyType !== filter.keyType) continue;
      if (filter.id !== undefined && key.id !== filter.id) continue;
      if (filter.session !== undefined && filter.session === key.flags.token) continue;
      if (filter.kcv !== undefined && !(key.kcv && key.kcv.equals(filter.kcv))) continue;
      if (filter.sharedWith && !filter.sharedWith.every((u) => key.ownerId === u || key.sharedWith.has(u))) continue;
      out.push(key.handle);
    }
    return out;
  }

  /** Per-node result of an operation that touched every node. */
  allNodes(): NodeResult[] {
    return Array.from({ length: this.nodeCount }, (_, nodeId) => ({ nodeId, errState: OK }));
  }

  get keyCount(): number {
    return this.keys.size;
  }

  close(): void {
    this.store.close();
  }

  // ---- internals ---------------------------------------------------------------------------

  private indexUser(user: UserRecord): void {
    this.users.set(user.userId, user);
    this.usersByName.set(user.username, user);
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

  private checkNewKeyOptions(session: LoginSession, options: NewKeyOptions): void {
    checkLabel(options.label);
    checkKeyId(options.id);
    if (options.timeoutSeconds !== undefined && options.minSrv === undefined) {
      throw new HsmError("TIMEOUT_WITHOUT_MIN_SRV", "-timeout is valid only together with -min_srv");
    }
    if (options.minSrv !== undefined && options.minSrv < 1) {
      throw new HsmError("MIN_SRV_INVALID", "-min_srv must be at least 1", { min_srv: options.minSrv });
    }
    const required = options.session ? 1 : (options.minSrv ?? 1);
    if (required > this.nodeCount) {
      throw new HsmError("MIN_SRV_UNMET", "fewer HSMs than -min_srv can hold the key", {
        required,
        reached: 0,
        node_count: this.nodeCount,
      });
    }
    const seen = new Set<number>();
    for (const userId of options.shareWith) {
      if (userId === session.userId) throw new HsmError("SHARE_WITH_SELF", "do not share a key with yourself", { user_id: userId });
      const user = this.users.get(userId);
      if (!user || user.role !== UserRole.CU) {
        throw new HsmError("SHARE_USER_UNKNOWN", "keys are shared only with existing crypto users", { user_id: userId });
      }
      if (seen.has(userId)) throw new HsmError("REQUEST_INVALID", "a user is listed twice in the share list", { user_id: userId });
      seen.add(userId);
    }
    if (this.keys.hasId(options.id)) {
      // Nothing about the other key (owner, handle) is revealed.
      throw new HsmError("ID_ALREADY_EXISTS", "the key id is already in use in the cluster", { id: options.id });
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
      handle: this.handles.allocate(),
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
      nodes: new Set(options.session ? [session.nodeId] : Array.from({ length: this.nodeCount }, (_, i) => i)),
      createdRevision: this.events.currentRevision + 1,
      material,
    };
  }

  /** Records the key on its nodes: durably for token keys, in memory only for session keys. */
  private place(key: KeyObject): NodeResult[] {
    const now = this.clock.now();
    const nodeIds = [...key.nodes];
    const events: ClusterEvent[] = this.events.draft(
      nodeIds.map((nodeId, i) => ({ kind: i === 0 ? "KEY_CREATED" : "KEY_REPLICATED", handle: key.handle, nodeId, atMs: now })),
    );
    if (key.flags.token) this.store.insertKey(key, events);
    this.events.commit(events);
    this.keys.add(key);
    return nodeIds.map((nodeId) => ({ nodeId, errState: OK, holdsKey: true }));
  }
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
