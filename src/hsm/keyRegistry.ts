// In-memory index of every live key: by handle, by id (cluster-wide uniqueness), by label and by session (fast findKey and logout).
import { KeyObject } from "./key";

export class KeyRegistry {
  private readonly byHandle = new Map<number, KeyObject>();
  /** Handles per id: one key, or the two keys of a pair, which share their id. */
  private readonly byId = new Map<string, Set<number>>();
  /** Ids of keys being written, not yet in the registry, with how many writes hold each: taken all the same. */
  private readonly reservedIds = new Map<string, number>();
  /** Keys of each label in ascending handle order, so a label filter pages without sorting. */
  private readonly byLabel = new Map<string, KeyObject[]>();
  /** Session keys of each login session. */
  private readonly bySession = new Map<string, Set<KeyObject>>();
  /** Every key in ascending handle order, kept sorted so findKey pages without sorting. */
  private readonly sorted: KeyObject[] = [];

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

  /** A key with this non-empty id, if any: the lowest handle (the public key, when a pair shares the id). */
  findById(id: string): KeyObject | undefined {
    const holders = id === "" ? undefined : this.byId.get(id);
    if (!holders || holders.size === 0) return undefined;
    return this.byHandle.get(Math.min(...holders));
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
    if (!labelled) this.byLabel.set(key.label, (labelled = []));
    insertByHandle(labelled, key);
    insertByHandle(this.sorted, key);
    if (key.sessionId !== undefined) {
      let owned = this.bySession.get(key.sessionId);
      if (!owned) this.bySession.set(key.sessionId, (owned = new Set()));
      owned.add(key);
    }
  }

  remove(handle: number): KeyObject | undefined {
    const key = this.byHandle.get(handle);
    if (!key) return undefined;
    this.byHandle.delete(handle);
    const holders = this.byId.get(key.id);
    holders?.delete(handle);
    if (holders?.size === 0) this.byId.delete(key.id);
    const labelled = this.byLabel.get(key.label);
    if (labelled) {
      removeByHandle(labelled, handle);
      if (labelled.length === 0) this.byLabel.delete(key.label);
    }
    removeByHandle(this.sorted, handle);
    if (key.sessionId !== undefined) {
      const owned = this.bySession.get(key.sessionId);
      owned?.delete(key);
      if (owned?.size === 0) this.bySession.delete(key.sessionId);
    }
    return key;
  }

  /**
   * Candidate keys in ascending handle order, narrowed by label when one is given. The registry's own ordered
   * list, not a copy: read it before the registry next changes (findKey does, synchronously).
   */
  candidates(label: string | undefined): readonly KeyObject[] {
    if (label !== undefined) return this.byLabel.get(label) ?? [];
    return this.sorted;
  }

  /** Every session key of every login session. */
  allSessionKeys(): KeyObject[] {
    return [...this.bySession.values()].flatMap((owned) => [...owned]);
  }

  /** Every key of a login session. */
  sessionKeys(sessionId: string): KeyObject[] {
    return [...(this.bySession.get(sessionId) ?? [])];
  }
}

/** Index of the first key whose handle is not below `handle`. */
function lowerBound(keys: readonly KeyObject[], handle: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]!.handle < handle) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** New keys have the highest handle so far (an append); a key made token again keeps its handle (an insert). */
function insertByHandle(keys: KeyObject[], key: KeyObject): void {
  const last = keys[keys.length - 1];
  if (last === undefined || key.handle > last.handle) {
    keys.push(key);
    return;
  }
  const at = lowerBound(keys, key.handle);
  if (keys[at]?.handle === key.handle) keys[at] = key;
  else keys.splice(at, 0, key);
}

function removeByHandle(keys: KeyObject[], handle: number): void {
  const at = lowerBound(keys, handle);
  if (keys[at]?.handle === handle) keys.splice(at, 1);
}
