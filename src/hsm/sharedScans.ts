// Scans of the revision log shared by watchers with the same view: at a tick, a thousand identical watchers scan the log once.
import { ClusterEvent } from "./revisionLog";

/** What one batched scan found: matching events, and the range of revisions it looked at. */
export interface Scan {
  readonly events: readonly ClusterEvent[];
  readonly scannedFrom: number;
  /** The last revision looked at; the scanning watcher's cursor moves past it. */
  readonly scannedTo: number;
  /** How many revisions were looked at. */
  readonly scannedCount: number;
  /** The last event ends the watch (untilNodesHolding). */
  readonly final: boolean;
}

/** Views remembered; beyond this the least recently used is forgotten (it is only a cache, and a kept scan may pin up to 4,096 events). */
const VIEWS_KEPT = 256;

/**
 * A scan is a pure function of the view (who watches, filters, batch size), the start revision and
 * the head of the log: events in the ring never change, and compaction is checked before a scan.
 * So a scan with the same three is answered with the previous watcher's result. Only the newest
 * scan of each view is kept: watchers of one view that read at one tick ask one after another.
 */
export class SharedScans {
  private readonly latest = new Map<string, { readonly from: number; readonly head: number; readonly scan: Scan }>();

  scan(viewKey: string, from: number, head: number, compute: () => Scan): Scan {
    const kept = this.latest.get(viewKey);
    if (kept && kept.from === from && kept.head === head) return kept.scan;
    const scan = compute();
    // Re-inserted, so the Map's order is least recently used first.
    this.latest.delete(viewKey);
    if (this.latest.size >= VIEWS_KEPT) this.latest.delete(this.latest.keys().next().value as string);
    this.latest.set(viewKey, { from, head, scan });
    return scan;
  }
}
