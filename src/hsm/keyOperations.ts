// The key operations of key_mgmt_util (gen, import, wrap, unwrap, get/set attribute, find, share, delete, key info), each behind its guards.
import { randomBytes } from "node:crypto";
import { aesKeyWrapPkcs5 } from "../../common/keyWrap";
import { RETURN_CODES } from "../../common/returnCodes";
import { AttributeReading, readAttributes } from "./attributes";
import { AuditEvent } from "./auditLog";
import { ClusterEvents } from "./clusterEvents";
import { GenSymKeyParams, ImportSymKeyParams, KeyChange, KeyCreation, KeyFilter, NewKeyOptions, NodeResult, StepOutcome } from "./clusterTypes";
import { publicFacts } from "./crypto/asymmetricKeys";
import { keyCheckValue } from "./crypto/kcv";
import { HsmError } from "./errors";
import { GroupCommit } from "./groupCommit";
import { defaultFlags, isVisibleTo, KeyObject } from "./key";
import { checkKeyType, checkMaterialLength, KeyGuards, requireCryptoUser, unwrapWith } from "./keyGuards";
import { checkKeyId, checkLabel } from "./keyNaming";
import { KeyPlacement } from "./keyPlacement";
import { KeyRegistry } from "./keyRegistry";
import { EventAudience } from "./revisionLog";
import { KeyClass, KeyType, isValidKeySize } from "./keyTypes";
import { LoginSession } from "./sessions";
import { HsmStore } from "./store/hsmStore";

const OK = RETURN_CODES.SUCCESS.code;

/** Shortest key WrapKey can wrap with PKCS#5-padded RFC 3394. */
export const MIN_WRAPPABLE_BYTES = 8;

/** Largest blob UnwrapHostKey takes (aesWrapUnwrap's file limit). */
export const MAX_WRAPPED_KEY_BYTES = 4096;

export interface KeyOperationParts {
  readonly store: HsmStore;
  readonly commits: GroupCommit;
  readonly keys: KeyRegistry;
  readonly events: ClusterEvents;
  readonly guards: KeyGuards;
  readonly placement: KeyPlacement;
}

/** Every operation is for crypto users, and answers for a key the caller cannot see as for one that does not exist. */
export class KeyOperations {
  constructor(private readonly parts: KeyOperationParts) {}

  async genSymKey(session: LoginSession, params: GenSymKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    requireCryptoUser(session);
    const keyType = checkKeyType(params.keyType, [KeyType.AES, KeyType.DES3, KeyType.GENERIC_SECRET]);
    if (!isValidKeySize(keyType, params.keySize)) {
      throw new HsmError("KEY_LENGTH_INVALID", `key size ${params.keySize} is not valid for key type ${keyType}`, {
        key_type: keyType,
        key_size: params.keySize,
      });
    }
    const required = this.checkNewKey(session, params);
    const material = randomBytes(params.keySize);
    const key = buildKey(session, params, keyType, material, { local: true, extractable: !params.nonExtractable });
    const steps = [{ name: "Cfm3GenerateSymmetricKey", returnCode: OK }];
    return this.parts.placement.create(key, session.nodeId, required, params.timeoutSeconds, steps, signal);
  }

  /**
   * imSymKey: Cfm3WrapHostKey (skipped when the host wrapped the key), Cfm3CreateUnwrapTemplate,
   * Cfm3UnWrapKey. Every check runs before anything is created.
   */
  async importSymKey(session: LoginSession, params: ImportSymKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    requireCryptoUser(session);
    const keyType = checkKeyType(params.keyType, [KeyType.AES, KeyType.DES3]);
    const required = this.checkNewKey(session, params);
    const wrappingKey = this.parts.guards.wrappingKey(session, params.wrappingKeyHandle, ["wrap", "unwrap"]);
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
    const material = unwrapWith(wrappingKey, blob, "Cfm3UnWrapKey");
    try {
      checkMaterialLength(keyType, material.length);
    } catch (err) {
      material.fill(0);
      throw err;
    }
    const key = buildKey(session, params, keyType, material, { local: false, extractable: true });
    steps.push({ name: "Cfm3UnWrapKey", returnCode: OK });
    return this.parts.placement.create(key, session.nodeId, required, params.timeoutSeconds, steps, signal);
  }

  getAttribute(session: LoginSession, handle: number, attributeId: number): AttributeReading[] {
    requireCryptoUser(session);
    return readAttributes(this.parts.guards.usableKey(session, handle), attributeId);
  }

  /** Handles of visible keys matching every filter, ascending. */
  findKey(session: LoginSession, filter: KeyFilter): number[] {
    requireCryptoUser(session);
    const out: number[] = [];
    for (const key of this.parts.keys.candidates(filter.label)) {
      if (!isVisibleTo(key, session.userId, session.sessionId)) continue;
      // A filter may name any number, so the key's enum is widened to compare with it.
      if (filter.keyClass !== undefined && (key.keyClass as number) !== filter.keyClass) continue;
      if (filter.keyType !== undefined && (key.keyType as number) !== filter.keyType) continue;
      if (filter.id !== undefined && key.id !== filter.id) continue;
      if (filter.session !== undefined && filter.session === key.flags.token) continue;
      if (filter.kcv !== undefined && !(key.kcv && key.kcv.equals(filter.kcv))) continue;
      if (filter.modulus !== undefined && !matchesModulus(key, filter.modulus)) continue;
      if (filter.sharedWith && !filter.sharedWith.every((u) => key.ownerId === u || key.sharedWith.has(u))) continue;
      out.push(key.handle);
    }
    return out;
  }

  /** Shares a key with crypto users or stops sharing it; only the owner may. */
  shareKey(session: LoginSession, handle: number, userIds: readonly number[], share: boolean): { sharedWith: number[]; revision: number } {
    requireCryptoUser(session);
    const { store, commits, events, guards } = this.parts;
    const key = guards.ownedKey(session, handle, "only the key's owner can share it");
    if (userIds.length === 0) throw new HsmError("REQUEST_INVALID", "name at least one user", { field: "user_ids" });
    guards.checkShareList(session, userIds);
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
    commits.commit(() => {
      if (key.flags.token) store.replaceShares(handle, next);
    }, [audited]);
    key.sharedWith.clear();
    for (const userId of next) key.sharedWith.add(userId);
    // Users who just lost the key also learn that its sharing changed.
    const audience: EventAudience = { ownerId: key.ownerId, sharedWith: [...new Set([...before, ...next])], sessionId: key.sessionId };
    const revision = events.publish(events.keyEvent("SHARING_CHANGED", key, [...key.nodes][0] ?? 0, audience));
    return { sharedWith: [...next].sort((a, b) => a - b), revision };
  }

  /** exSymKey's Cfm3WrapKey: the owner wraps an extractable key under an AES wrapping key. */
  wrapKey(session: LoginSession, handle: number, wrappingHandle: number): Buffer {
    requireCryptoUser(session);
    const { commits, guards } = this.parts;
    const key = guards.ownedKey(session, handle, "only the key's owner can export it");
    if (!key.flags.extractable) throw new HsmError("KEY_NOT_EXTRACTABLE", "the key is not extractable", { key_handle: handle });
    if (key.material.length < MIN_WRAPPABLE_BYTES) {
      // PKCS#5 padding gives one 8-byte block; RFC 3394 needs at least two.
      throw new HsmError("KEY_LENGTH_INVALID", `keys shorter than ${MIN_WRAPPABLE_BYTES} bytes cannot be wrapped with AES key wrap`, {
        key_handle: handle,
        key_length: key.material.length,
        min_length: MIN_WRAPPABLE_BYTES,
      });
    }
    const wrappingKey = guards.wrappingKey(session, wrappingHandle, ["wrap"]);
    const wrapped = aesKeyWrapPkcs5(wrappingKey.material, key.material);
    commits.record({ opcode: "CN_WRAP_KEY", node: session.nodeId, user: session.userId, handle, result: "SUCCESS", detail: `wrapping key ${wrappingHandle}` });
    return wrapped;
  }

  /** exSymKey's Cfm3UnWrapHostKey: unwraps a blob and hands the plaintext to the host. */
  unwrapHostKey(session: LoginSession, wrappingHandle: number, blob: Buffer): Buffer {
    requireCryptoUser(session);
    if (blob.length > MAX_WRAPPED_KEY_BYTES) {
      throw new HsmError("REQUEST_INVALID", `wrapped keys are at most ${MAX_WRAPPED_KEY_BYTES} bytes`, { field: "wrapped_key", length: blob.length });
    }
    const wrappingKey = this.parts.guards.wrappingKey(session, wrappingHandle, ["unwrap"]);
    return unwrapWith(wrappingKey, blob, "Cfm3UnWrapHostKey");
  }

  /**
   * KMU setAttribute: only OBJ_ATTR_TOKEN may be set, and only to 1, turning a session key into a
   * token key that is then stored and replicated like any other.
   */
  setAttribute(session: LoginSession, handle: number, attributeId: number, value: number): KeyChange {
    requireCryptoUser(session);
    const { events, guards, placement } = this.parts;
    const key = guards.ownedKey(session, handle, "only the key's owner can change its attributes");
    if (attributeId !== 1) {
      throw new HsmError("ATTRIBUTE_READ_ONLY", "only OBJ_ATTR_TOKEN (1) can be set with key_mgmt_util", { attribute_id: attributeId });
    }
    if (value !== 1) throw new HsmError("REQUEST_INVALID", "OBJ_ATTR_TOKEN can only be set to 1", { attribute_id: attributeId, value });
    if (key.flags.token) return { nodes: placement.nodeResults(key), revision: events.currentRevision };
    const tokenKey: KeyObject = { ...key, flags: { ...key.flags, token: true }, sessionId: undefined };
    const node = [...tokenKey.nodes][0] ?? 0;
    return placement.makeToken(tokenKey, { opcode: "CN_MODIFY_OBJECT", node, user: session.userId, handle, result: "SUCCESS", detail: "OBJ_ATTR_TOKEN=1" });
  }

  /** KMU deleteKey: the owner deletes a key from every node. */
  deleteKey(session: LoginSession, handle: number): KeyChange {
    requireCryptoUser(session);
    const { events, guards, placement } = this.parts;
    const key = guards.ownedKey(session, handle, "only the key's owner can delete it");
    const nodes = placement.nodeResults(key);
    placement.discard(key, "KEY_DELETED", { opcode: "CN_DESTROY_OBJECT", node: nodes[0]?.nodeId ?? 0, user: session.userId, handle, result: "SUCCESS" });
    return { nodes: nodes.map(({ nodeId, errState }) => ({ nodeId, errState })), revision: events.currentRevision };
  }

  /** KMU getKeyInfo / findSingleKey: owner, sharing and placement of a visible key. */
  getKeyInfo(session: LoginSession, handle: number): { ownerId: number; sharedWith: number[]; nodes: NodeResult[] } {
    requireCryptoUser(session);
    const key = this.parts.guards.usableKey(session, handle);
    return { ownerId: key.ownerId, sharedWith: [...key.sharedWith].sort((a, b) => a - b), nodes: this.parts.placement.nodeResults(key) };
  }

  /** Checks label, id, -min_srv/-timeout, sharing and room in the cluster; returns how many nodes must hold the key. */
  private checkNewKey(session: LoginSession, options: NewKeyOptions): number {
    return checkNewKey(this.parts, session, options);
  }
}

/** Checks label, id, -min_srv/-timeout, sharing and room in the cluster; returns how many nodes must hold the new key(s). */
export function checkNewKey(parts: Pick<KeyOperationParts, "guards" | "placement">, session: LoginSession, options: NewKeyOptions): number {
  checkLabel(options.label);
  checkKeyId(options.id);
  const required = parts.placement.requiredNodes(options);
  parts.guards.checkShareList(session, options.shareWith);
  parts.placement.checkRoomFor(options.id);
  return required;
}

function matchesModulus(key: KeyObject, modulus: Buffer): boolean {
  const facts = publicFacts(key.keyClass, key.material);
  return facts?.kind === "rsa" && facts.modulus.equals(modulus);
}

function buildKey(session: LoginSession, options: NewKeyOptions, keyType: KeyType, material: Buffer, origin: { local: boolean; extractable: boolean }): KeyObject {
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
