// Recovery at start: what the store holds becomes the running cluster; unanswered creations are undone, unfinished replication resumes.
import { HandleAllocator } from "./handleAllocator";
import { KeyObject } from "./key";
import { KeyRegistry } from "./keyRegistry";
import { RevisionLog } from "./revisionLog";
import { HsmStore, StoredKey } from "./store/hsmStore";
import { UserRecord } from "./users";

/** The store's contents at start, with the log and the handle allocator resuming above everything handed out before. */
export interface StartingState {
  readonly users: UserRecord[];
  readonly keys: readonly StoredKey[];
  readonly log: RevisionLog;
  readonly handles: HandleAllocator;
}

export function readStartingState(store: HsmStore, eventCapacity: number): StartingState {
  const state = store.load();
  return {
    users: state.users,
    keys: state.keys,
    // Revisions and handles are reserved durably in blocks, so a restart never hands one out twice.
    log: new RevisionLog(state.revisionCeiling, (ceiling) => store.reserveRevisions(ceiling), eventCapacity),
    handles: new HandleAllocator(state.handleCeiling, (ceiling) => store.reserveHandles(ceiling)),
  };
}

/**
 * Puts every stored token key back. A key whose creating call never got an answer (-min_srv was not
 * met before the daemon stopped) is tombstoned; any other resumes replication to the nodes it missed.
 */
export function restoreKeys(
  stored: readonly StoredKey[],
  keys: KeyRegistry,
  placement: { tombstone(key: KeyObject): void; replicateToMissing(key: KeyObject): void },
): void {
  for (const { key, acknowledged } of stored) {
    keys.add(key);
    if (acknowledged) placement.replicateToMissing(key);
    else placement.tombstone(key);
  }
}
