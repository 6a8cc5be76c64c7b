// Small scripts for cluster integration tests: produce events in bulk, find where a key was created,
// and open a watch that is known to be registered on the server before anything else happens.
import { HsmClient, hsmProto } from "../../clients";
import { HsmCluster } from "../../src/hsm/cluster";
import { WatchRecorder, WatchRequest } from "./watchRecorder";

/**
 * Appends `count` events in-process (replication pause toggles, which every watcher sees), ending with
 * replication running. Returns the revision of the last one. Synchronous: no watcher reads in between.
 */
export function burst(cluster: HsmCluster, count: number): number {
  if (count % 2 !== 0) throw new Error("burst needs an even count so replication ends up running");
  let revision = cluster.events.currentRevision;
  const startPaused = cluster.replicationPaused;
  for (let i = 0; i < count; i++) revision = cluster.setReplicationPaused(i % 2 === 0 ? !startPaused : startPaused);
  return revision;
}

/** The node ids holding the key according to a create response (the origin only, unless min_srv waited). */
export function holders(response: { nodeStatuses: hsmProto.GenSymKeyResponse["nodeStatuses"] }): number[] {
  return response.nodeStatuses.filter((s) => s.holdsKey).map((s) => s.nodeId);
}

/**
 * Opens a watch "from now" (start_revision 0) and resolves once the server has answered with a first progress
 * message, so the watcher's starting point is known: `from` is the first revision it can deliver.
 */
export async function watchFromNow(client: HsmClient, request: Omit<WatchRequest, "startRevision" | "progressIntervalMs"> = {}): Promise<{ watch: WatchRecorder; from: number }> {
  const watch = WatchRecorder.open(client, { ...request, startRevision: 0, progressIntervalMs: 10 });
  await watch.until(() => watch.progress.length > 0 || watch.events.length > 0, "the first progress message");
  if (watch.events.length > 0) throw new Error("an event arrived before the first progress message of a quiet cluster");
  return { watch, from: watch.progress[0]! + 1 };
}

/** Event types by name, for readable expectations. */
export const T = hsmProto.SyncEventType;

/** [type, key handle, node] of each event, for compact expectations. */
export function shape(events: readonly hsmProto.SyncEvent[]): [number, number, number][] {
  return events.map((e) => [e.type, e.keyHandle, e.nodeId]);
}
