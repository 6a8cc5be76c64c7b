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

/** Handles of a new (or reset) store start here (1 to 5 are the HSM's own; 4 is its key-encryption key). */
export const FIRST_KEY_HANDLE = 6;

/** One row exactly as stored: sealed material and row MACs included, never plaintext. */
export type StoredRow = Readonly<Record<string, string | number | Buffer | null>>;

/**
 * The users and keys of a store as rows (snapshots and restores copy these): what a restore brings back.
 * The audit head and the revision ceiling are not part of it: they stay with the live store.
 */
export interface StoreContents {
  readonly users: readonly StoredRow[];
  readonly keys: readonly StoredRow[];
  readonly keyShares: readonly StoredRow[];
  readonly keyNodes: readonly StoredRow[];
  readonly handleCeiling: number;
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
  /** The users and keys as stored rows (a consistent read). */
  exportContents(): StoreContents;
  /**
   * Replaces every user and key with `contents` (inside the caller's transaction); handles continue above
   * both stores' ceilings. The audit head and the revision ceiling are kept.
   */
  replaceContents(contents: StoreContents): void;
  /** Removes every user and key (inside the caller's transaction); handles start again at FIRST_KEY_HANDLE. */
  clearContents(): void;
  /** Writes a consistent copy of the whole store to a new file at `path` (not fsynced: the caller does that). */
  copyTo(path: string): void;
  close(): void;
}
