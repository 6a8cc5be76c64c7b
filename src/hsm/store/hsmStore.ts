// What the cluster needs from durable storage; SqliteStore is the implementation.
import { AuditHead, AuditRecord, StoredAuditState } from "../auditChain";
import { KeyObject } from "../key";
import { UserRecord } from "../users";

/** A token key as stored, with whether its creating call was answered. */
export interface StoredKey {
  readonly key: KeyObject;
  /** False while (or if) the creating call was still waiting for -min_srv nodes. */
  readonly acknowledged: boolean;
}

/** Everything read back at start-up. */
export interface PersistedState {
  readonly users: UserRecord[];
  readonly keys: StoredKey[];
  /** Handles below this value may have been handed out before; allocation resumes here. */
  readonly handleCeiling: number;
  /** Revisions below this value may have been handed out before; the event log resumes here. */
  readonly revisionCeiling: number;
}

/** Every write is one durable (fsynced) transaction. */
export interface HsmStore {
  load(): PersistedState;
  /** The audit chain's head and the records of the commit that made it (checked against the store's MAC). */
  auditState(): StoredAuditState;
  /** Records the chain's new head and the records that reached it; called inside the transaction of their change. */
  saveAuditHead(head: AuditHead, pending: readonly AuditRecord[]): void;
  insertUser(user: UserRecord): void;
  /** Rewrites a user's mutable columns (password hash, failed-login count, lock) and its row MAC. */
  updateUser(user: UserRecord): void;
  /** Runs `writes` as one durable transaction (nested store writes join it). */
  transaction(writes: () => void): void;
  /** Writes a token key with its attributes, shares and nodes. */
  insertKey(key: KeyObject, acknowledged: boolean): void;
  markAcknowledged(handle: number): void;
  /** Records that `nodeId` now holds each of `handles`. */
  addKeyNodes(nodeId: number, handles: readonly number[]): void;
  replaceShares(handle: number, userIds: ReadonlySet<number>): void;
  deleteKey(handle: number): void;
  /** Records that handles below `ceiling` may be in use. */
  reserveHandles(ceiling: number): void;
  /** Records that revisions below `ceiling` may be in use. */
  reserveRevisions(ceiling: number): void;
  close(): void;
}
