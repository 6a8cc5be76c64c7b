// Builds the cluster's events (key events with who may see them, node and cluster events) and appends them to the revision log.
import { Clock } from "./clock";
import { KeyObject } from "./key";
import { ClusterEventKind, EventAudience, NewEvent, RevisionLog } from "./revisionLog";

export class ClusterEvents {
  constructor(
    readonly log: RevisionLog,
    private readonly clock: Clock,
    private readonly nodeCount: number,
  ) {}

  get currentRevision(): number {
    return this.log.currentRevision;
  }

  /** A key event; by default the key's owner, the users it is shared with and (session keys) its session see it. */
  keyEvent(kind: ClusterEventKind, key: KeyObject, nodeId: number, audience?: EventAudience): NewEvent {
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

  /** A node or cluster-wide event, which every watcher sees. */
  clusterEvent(kind: ClusterEventKind, nodeId: number): NewEvent {
    return { kind, handle: 0, nodeId, nodesHolding: 0, nodeCount: this.nodeCount, atMs: this.clock.now(), audience: undefined };
  }

  /** Appends events in order (nothing for none). */
  append(events: readonly NewEvent[]): void {
    this.log.append(events);
  }

  /** Appends one event and returns its revision. */
  publish(event: NewEvent): number {
    return this.log.append([event])[0]!.revision;
  }
}
