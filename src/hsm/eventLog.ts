// The revision-numbered log of changes to the key set: every change to which node holds which key gets a revision.

export type ClusterEventKind = "KEY_CREATED" | "KEY_REPLICATED" | "KEY_DESTROYED";

/** One change: a key appeared on, or left, one node. */
export interface ClusterEvent {
  readonly revision: number;
  readonly kind: ClusterEventKind;
  readonly handle: number;
  readonly nodeId: number;
  readonly atMs: number;
}

/**
 * Assigns revisions and keeps recent events in memory. Revisions start at 1 and never repeat;
 * the store persists events of token keys in the same transaction as the change they record.
 */
export class EventLog {
  private readonly recent: ClusterEvent[] = [];

  constructor(
    private revision: number,
    private readonly retain = 10_000,
  ) {}

  get currentRevision(): number {
    return this.revision;
  }

  /** Builds the next events without publishing them, so a failed store write leaves no trace. */
  draft(changes: ReadonlyArray<Omit<ClusterEvent, "revision">>): ClusterEvent[] {
    return changes.map((change, i) => ({ ...change, revision: this.revision + i + 1 }));
  }

  /** Publishes drafted events once they are durable. */
  commit(events: readonly ClusterEvent[]): void {
    for (const event of events) {
      if (event.revision !== this.revision + 1) throw new Error(`event log out of order at revision ${event.revision}`);
      this.revision = event.revision;
      this.recent.push(event);
    }
    if (this.recent.length > this.retain) this.recent.splice(0, this.recent.length - this.retain);
  }

  /** Events after `revision` still held in memory, oldest first. */
  since(revision: number): ClusterEvent[] {
    return this.recent.filter((e) => e.revision > revision);
  }
}
