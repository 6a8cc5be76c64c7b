// The cluster's revision-numbered event log: a bounded ring of recent events that watchers read with a cursor.
import { HsmError } from "./errors";

export type ClusterEventKind =
  | "KEY_CREATED"
  | "KEY_REPLICATED"
  | "KEY_TOMBSTONED"
  | "KEY_DELETED"
  | "SHARING_CHANGED"
  | "NODE_DOWN"
  | "NODE_UP"
  | "NODE_PARTITIONED"
  | "REPLICATION_PAUSED"
  | "REPLICATION_RESUMED"
  | "KEY_MADE_TOKEN"
  | "NODE_FIRMWARE_CHANGED"
  | "STATE_REPLACED";

/** Who may see a key event: the key's owner, the users it is shared with, and for session keys only their session. */
export interface EventAudience {
  readonly ownerId: number;
  readonly sharedWith: readonly number[];
  readonly sessionId: string | undefined;
}

/** One change to the cluster. Key events carry a key handle; node and cluster events carry handle 0. */
export interface ClusterEvent {
  readonly revision: number;
  readonly kind: ClusterEventKind;
  readonly handle: number;
  readonly nodeId: number;
  /** Nodes holding the key after the event (key events), else 0. */
  readonly nodesHolding: number;
  readonly nodeCount: number;
  readonly atMs: number;
  /** Undefined for node and cluster events, which every watcher sees. */
  readonly audience: EventAudience | undefined;
}

export type NewEvent = Omit<ClusterEvent, "revision">;

/** Revisions are reserved durably in blocks, so a restart never hands out a revision twice. */
const REVISION_BLOCK = 100_000;

/**
 * Appends assign consecutive revisions; readers ask for events from a revision and wait for
 * the next append. Only the newest `capacity` events are kept: older ones, and everything from
 * before the daemon started, are compacted.
 */
export class RevisionLog {
  private readonly ring: (ClusterEvent | undefined)[];
  private current: number;
  private readonly startCompact: number;
  private ceiling: number;
  /** Callbacks for the next append; removable, unlike reactions on a shared promise (see onNextAppend). */
  private appendListeners = new Set<() => void>();

  /**
   * @param reservedCeiling revisions below this may have been used before; the log starts here.
   * @param reserve durably records a new ceiling before revisions up to it are handed out.
   */
  constructor(
    reservedCeiling: number,
    private readonly reserve: (ceiling: number) => void,
    readonly capacity: number,
  ) {
    if (capacity < 1) throw new RangeError("capacity must be positive");
    this.ring = new Array<ClusterEvent | undefined>(capacity);
    this.current = reservedCeiling;
    this.startCompact = reservedCeiling;
    this.ceiling = reservedCeiling;
  }

  /** The newest revision handed out. */
  get currentRevision(): number {
    return this.current;
  }

  /** The newest revision that can no longer be read; reads must start above it. */
  get compactRevision(): number {
    return Math.max(this.startCompact, this.current - this.capacity);
  }

  /** Appends events in order and wakes every waiting reader. */
  append(events: readonly NewEvent[]): ClusterEvent[] {
    if (events.length === 0) return [];
    if (this.current + events.length >= this.ceiling) {
      this.ceiling = this.current + events.length + REVISION_BLOCK;
      this.reserve(this.ceiling);
    }
    const out = events.map((e) => {
      this.current += 1;
      const event: ClusterEvent = { ...e, revision: this.current };
      this.ring[this.current % this.capacity] = event;
      return event;
    });
    const listeners = this.appendListeners;
    this.appendListeners = new Set();
    for (const listener of listeners) listener();
    return out;
  }

  /** Up to `max` events from `revision` (inclusive). Throws WATCH_COMPACTED below the compaction point. */
  readFrom(revision: number, max: number): ClusterEvent[] {
    if (revision <= this.compactRevision) {
      throw new HsmError("WATCH_COMPACTED", "the start revision has been compacted", {
        compact_revision: this.compactRevision,
        start_revision: revision,
      });
    }
    const out: ClusterEvent[] = [];
    for (let r = revision; r <= this.current && out.length < max; r++) {
      const event = this.ring[r % this.capacity];
      if (event?.revision !== r) break;
      out.push(event);
    }
    return out;
  }

  /**
   * Calls `listener` once at the next append; the returned function removes it. Waits that may end
   * otherwise (a timer, abort) remove their listener, so an idle log accumulates nothing.
   */
  onNextAppend(listener: () => void): () => void {
    const listeners = this.appendListeners;
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }
}
