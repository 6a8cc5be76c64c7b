// What the cluster needs from durable storage; SqliteStore is the implementation.
import { ClusterEvent } from "../eventLog";
import { KeyObject } from "../key";
import { UserRecord } from "../users";

/** Everything read back at start-up. */
export interface PersistedState {
  readonly users: UserRecord[];
  readonly keys: KeyObject[];
  readonly revision: number;
  /** Handles below this value may have been handed out before; allocation resumes here. */
  readonly handleCeiling: number;
}

export interface HsmStore {
  load(): PersistedState;
  insertUser(user: UserRecord): void;
  saveLoginState(user: UserRecord): void;
  /** Writes a token key, its shares, nodes and events in one durable transaction. */
  insertKey(key: KeyObject, events: readonly ClusterEvent[]): void;
  /** Records durably that handles below `ceiling` may be in use. */
  reserveHandles(ceiling: number): void;
  close(): void;
}
