// In-memory index of every live key: by handle, by id (cluster-wide uniqueness) and by label (fast findKey).
import { KeyObject } from "./key";

export class KeyRegistry {
  private readonly byHandle = new Map<number, KeyObject>();
  /** Handles per id: one key, or the two keys of a pair, which share their id. */
  private readonly byId = new Map<string, Set<number>>();
  /** Ids of keys being written, not yet in the registry, with how many writes hold each: taken all the same. */
  private readonly reservedIds = new Map<string, number>();
  private readonly byLabel = new Map<string, Set<number>>();
  /** Handles in ascending order, kept sorted so findKey pages without sorting. */
  private sortedHandles: number[] = [];

  get size(): number {
    return this.byHandle.size;
  }

  get(handle: number): KeyObject | undefined {
    return this.byHandle.get(handle);
  }

  /** Whether any key in the cluster, visible to the caller or not, has this non-empty id. */
  hasId(id: string): boolean {
    return id !== "" && (this.byId.has(id) || this.reservedIds.has(id));
  }

  /** Holds an id for a key whose durable write is in flight. */
  reserveId(id: string): void {
    if (id !== "") this.reservedIds.set(id, (this.reservedIds.get(id) ?? 0) + 1);
  }

  releaseId(id: string): void {
    const held = this.reservedIds.get(id) ?? 0;
    if (held <= 1) this.reservedIds.delete(id);
    else this.reservedIds.set(id, held - 1);
  }

  add(key: KeyObject): void {
    this.byHandle.set(key.handle, key);
    if (key.id !== "") {
      let holders = this.byId.get(key.id);
      if (!holders) this.byId.set(key.id, (holders = new Set()));
      holders.add(key.handle);
    }
    let labelled = this.byLabel.get(key.label);
    if (!labelled) this.byLabel.set(key.label, (labelled = new Set()));
    labelled.add(key.handle);
    const last = this.sortedHandles[this.sortedHandles.length - 1];
    if (last === undefined || key.handle > last) this.sortedHandles.push(key.handle);
    else this.sortedHandles = [...this.byHandle.keys()].sort((a, b) => a - b);
  }

  remove(handle: number): KeyObject | undefined {
    const key = this.byHandle.get(handle);
    if (!key) return undefined;
    this.byHandle.delete(handle);
    const holders = this.byId.get(key.id);
    holders?.delete(handle);
    if (holders?.size === 0) this.byId.delete(key.id);
    this.byLabel.get(key.label)?.delete(handle);
    if (this.byLabel.get(key.label)?.size === 0) this.byLabel.delete(key.label);
    const at = this.sortedHandles.indexOf(handle);
    if (at >= 0) this.sortedHandles.splice(at, 1);
    return key;
  }

  /** Candidate keys in ascending handle order, narrowed by label when one is given. */
  candidates(label: string | undefined): Iterable<KeyObject> {
    if (label !== undefined) {
      const handles = [...(this.byLabel.get(label) ?? [])].sort((a, b) => a - b);
      return handles.map((h) => this.byHandle.get(h)).filter((k): k is KeyObject => k !== undefined);
    }
    return this.sortedHandles.map((h) => this.byHandle.get(h)).filter((k): k is KeyObject => k !== undefined);
  }

  /** Every key of a login session. */
  sessionKeys(sessionId: string): KeyObject[] {
    return [...this.byHandle.values()].filter((k) => k.sessionId === sessionId);
  }
}
