// Replication in the domain, on a fake clock: token keys spread after each node's delay, session keys never do,
// placement survives a restart and replication resumes, faults (down, partitioned, paused) and catch-up, and what
// the event log says about each step. The min_srv/timeout protocol is in cluster.replication.minSrv.test.ts.
import { HsmCluster } from "../../src/hsm/cluster";
import { ClusterEvent, ClusterEventKind } from "../../src/hsm/revisionLog";
import { ClusterHarness, eventsAfter, expectHsmError, genParams, holders, keyCounts, pending, settle } from "./support/harness";

const DELAY = 100;
const OK = 0;
const DOWN = 0x30000085;

function rawEventsAfter(cluster: HsmCluster, revision: number): ClusterEvent[] {
  return cluster.events.readFrom(revision + 1, 100_000);
}

/** The node a key was created on, from its KEY_CREATED event. */
function originOf(cluster: HsmCluster, handle: number): number {
  const created = cluster.events.readFrom(cluster.events.compactRevision + 1, 100_000).find((e) => e.kind === "KEY_CREATED" && e.handle === handle);
  if (!created) throw new Error(`no KEY_CREATED event for key ${handle}`);
  return created.nodeId;
}

describe("replication on a fake clock", () => {
  let h: ClusterHarness;
  beforeEach(() => {
    h = new ClusterHarness({ nodeCount: 3, replicationDelayMs: DELAY });
  });
  afterEach(() => h.dispose());

  test("a token key is created on one node and reaches the others after the delay, one event per node", async () => {
    const alice = await h.cu("alice");
    const before = h.cluster.events.currentRevision;
    const created = await h.cluster.genSymKey(alice.session, genParams());
    const origin = originOf(h.cluster, created.handle);
    expect(created.revision).toBe(before + 1);
    expect(holders(created.nodes)).toEqual([origin]);
    expect(created.nodes.map((n) => n.errState)).toEqual([OK, OK, OK]);
    expect(eventsAfter(h.cluster, before)).toEqual([["KEY_CREATED", created.handle, origin, 1]]);
    expect(pending(h.cluster).filter((p) => p === 1)).toHaveLength(2);

    h.clock.advance(DELAY - 1);
    expect(eventsAfter(h.cluster, created.revision)).toEqual([]);
    h.clock.advance(1);
    const others = [0, 1, 2].filter((n) => n !== origin);
    expect(eventsAfter(h.cluster, created.revision)).toEqual([
      ["KEY_REPLICATED", created.handle, others[0], 2],
      ["KEY_REPLICATED", created.handle, others[1], 3],
    ]);
    expect(keyCounts(h.cluster)).toEqual([1, 1, 1]);
    expect(pending(h.cluster)).toEqual([0, 0, 0]);
  });

  test("each node has its own delay, changeable while a key is on its way", async () => {
    const alice = await h.cu("alice");
    const created = await h.cluster.genSymKey(alice.session, genParams());
    const origin = originOf(h.cluster, created.handle);
    const [fast, slow] = [0, 1, 2].filter((n) => n !== origin) as [number, number];
    h.cluster.setReplicationDelay(slow, 5_000);
    h.clock.advance(DELAY);
    expect(keyCounts(h.cluster)[fast]).toBe(1);
    expect(keyCounts(h.cluster)[slow]).toBe(0);
    h.clock.advance(5_000 - DELAY - 1);
    expect(keyCounts(h.cluster)[slow]).toBe(0);
    h.clock.advance(1);
    expect(keyCounts(h.cluster)).toEqual([1, 1, 1]);
    expect(h.cluster.listNodes()[slow]!.replicationDelayMs).toBe(5_000);
  });

  test("a session key lives on one node, is reported with one node line, never replicates, and is deleted at logout", async () => {
    const alice = await h.cu("alice");
    const before = h.cluster.events.currentRevision;
    const created = await h.cluster.genSymKey(alice.session, genParams({ session: true }));
    expect(created.nodes).toHaveLength(1);
    const [line] = created.nodes;
    expect(line).toEqual({ nodeId: line!.nodeId, errState: OK, holdsKey: true });
    h.clock.advance(60_000);
    await settle();
    expect(pending(h.cluster)).toEqual([0, 0, 0]);
    expect(keyCounts(h.cluster).reduce((a, b) => a + b)).toBe(1);
    expect(keyCounts(h.cluster)[line!.nodeId]).toBe(1);
    expect(eventsAfter(h.cluster, before)).toEqual([["KEY_CREATED", created.handle, line!.nodeId, 1]]);

    h.cluster.logout(alice.token);
    expect(eventsAfter(h.cluster, created.revision)).toEqual([["KEY_DELETED", created.handle, line!.nodeId, 0]]);
    expect(keyCounts(h.cluster)).toEqual([0, 0, 0]);
    // The deletion is visible to the key's own session only.
    expect(rawEventsAfter(h.cluster, created.revision)[0]!.audience).toMatchObject({ ownerId: alice.userId, sessionId: alice.session.sessionId });
  });

  test("which node holds which key survives a restart, and replication of what was missing resumes after it", async () => {
    const alice = await h.cu("alice");
    const created = await h.cluster.genSymKey(alice.session, genParams({ label: "half" }));
    const origin = originOf(h.cluster, created.handle);
    const [fast, slow] = [0, 1, 2].filter((n) => n !== origin) as [number, number];
    h.cluster.setReplicationDelay(slow, 600_000);
    h.clock.advance(DELAY);
    const placed = keyCounts(h.cluster);
    expect(placed[slow]).toBe(0);
    expect(placed[fast]).toBe(1);

    h.reopen();
    expect(keyCounts(h.cluster)).toEqual(placed);
    expect(pending(h.cluster)[slow]).toBe(1);
    // Delays are run-time settings: after the restart the default applies again.
    const restartedAt = h.cluster.events.currentRevision;
    h.clock.advance(DELAY - 1);
    expect(eventsAfter(h.cluster, restartedAt)).toEqual([]);
    h.clock.advance(1);
    expect(eventsAfter(h.cluster, restartedAt)).toEqual([["KEY_REPLICATED", created.handle, slow, 3]]);
    expect(keyCounts(h.cluster)).toEqual([1, 1, 1]);
    h.reopen();
    expect(keyCounts(h.cluster)).toEqual([1, 1, 1]);
    expect(pending(h.cluster)).toEqual([0, 0, 0]);
  });

  test("paused replication delivers nothing until resumed; both are events", async () => {
    const alice = await h.cu("alice");
    const before = h.cluster.events.currentRevision;
    const pausedAt = h.cluster.setReplicationPaused(true);
    expect(h.cluster.setReplicationPaused(true)).toBe(pausedAt);
    const created = await h.cluster.genSymKey(alice.session, genParams());
    h.clock.advance(60_000);
    await settle();
    expect(keyCounts(h.cluster).reduce((a, b) => a + b)).toBe(1);
    expect(pending(h.cluster).reduce((a, b) => a + b)).toBe(2);
    const resumedAt = h.cluster.setReplicationPaused(false);
    await settle();
    expect(keyCounts(h.cluster)).toEqual([1, 1, 1]);
    const events = eventsAfter(h.cluster, before);
    expect(events.map(([kind]) => kind)).toEqual(["REPLICATION_PAUSED", "KEY_CREATED", "REPLICATION_RESUMED", "KEY_REPLICATED", "KEY_REPLICATED"]);
    expect(rawEventsAfter(h.cluster, before).map((e) => e.revision)).toEqual([pausedAt, created.revision, resumedAt, resumedAt + 1, resumedAt + 2]);
  });

  test("a partitioned node answers (state 0) but receives nothing; when up it catches up, in creation order", async () => {
    const alice = await h.cu("alice");
    const first = await h.cluster.genSymKey(alice.session, genParams({ label: "a" }));
    const partitioned = [0, 1, 2].find((n) => n !== originOf(h.cluster, first.handle))!;
    const partitionedAt = h.cluster.setNodeState(partitioned, "PARTITIONED");
    const second = await h.cluster.genSymKey(alice.session, genParams({ label: "b" }));
    expect(second.nodes.map((n) => n.errState)).toEqual([OK, OK, OK]);
    h.clock.advance(60_000);
    await settle();
    expect(keyCounts(h.cluster)[partitioned]).toBe(0);
    expect(h.cluster.listNodes()[partitioned]!.state).toBe("PARTITIONED");
    expect(pending(h.cluster)[partitioned]).toBe(2);
    const upAt = h.cluster.setNodeState(partitioned, "UP");
    await settle();
    const onNode = rawEventsAfter(h.cluster, partitionedAt - 1).filter((e) => e.nodeId === partitioned);
    expect(onNode.map((e) => [e.kind, e.handle])).toEqual([
      ["NODE_PARTITIONED", 0],
      ["NODE_UP", 0],
      ["KEY_REPLICATED", first.handle],
      ["KEY_REPLICATED", second.handle],
    ]);
    expect(onNode[2]!.revision).toBeGreaterThan(upAt);
  });

  test("a down node reports 0x30000085 and keeps its keys; an unchanged state adds no event", async () => {
    const alice = await h.cu("alice");
    await h.cluster.genSymKey(alice.session, genParams());
    h.clock.advance(DELAY);
    const downAt = h.cluster.setNodeState(1, "DOWN");
    expect(h.cluster.setNodeState(1, "DOWN")).toBe(downAt);
    expect(h.cluster.events.currentRevision).toBe(downAt);
    expect(h.cluster.nodeResults().map((n) => n.errState)).toEqual([OK, DOWN, OK]);
    expect(h.cluster.findKey(alice.session, {})).toHaveLength(1);
    expect(keyCounts(h.cluster)).toEqual([1, 1, 1]);
    const created = await h.cluster.genSymKey(alice.session, genParams());
    expect(created.nodes.map((n) => n.errState)).toEqual([OK, DOWN, OK]);
    expect(holders(created.nodes)).not.toContain(1);
    expect(eventsAfter(h.cluster, downAt - 1)[0]).toEqual(["NODE_DOWN", 0, 1, 0]);
  });

  test("with every node down nothing can be created: CLUSTER_UNAVAILABLE, and nothing was", async () => {
    const alice = await h.cu("alice");
    for (const n of [0, 1, 2]) h.cluster.setNodeState(n, "DOWN");
    const before = h.cluster.events.currentRevision;
    await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams()), "CLUSTER_UNAVAILABLE");
    expect(h.cluster.events.currentRevision).toBe(before);
    expect(h.cluster.keyCount).toBe(0);
  });

  test("a watcher of the cluster sees its own and shared keys, not others', and every node event", async () => {
    const alice = await h.cu("alice");
    const bob = await h.cu("bob");
    const abort = new AbortController();
    const watcher = h.cluster.watch(bob.session, { startRevision: h.cluster.events.currentRevision + 1, handles: new Set(), nodes: new Set(), progressIntervalMs: 600_000, maxLag: 1000 });
    const items = watcher.items(abort.signal);
    const hidden = await h.cluster.genSymKey(alice.session, genParams({ label: "alice-only" }));
    const shared = await h.cluster.genSymKey(alice.session, genParams({ label: "for-bob", shareWith: [bob.userId] }));
    const marker = h.cluster.setNodeState(0, "PARTITIONED");
    const seen: [ClusterEventKind, number][] = [];
    for (;;) {
      const r = await items.next();
      if (r.done) throw new Error("the watcher ended early");
      if (r.value.kind !== "event") continue;
      seen.push([r.value.event.kind, r.value.event.handle]);
      if (r.value.event.revision >= marker) break;
    }
    abort.abort();
    await items.return(undefined);
    expect(seen).toEqual([
      ["KEY_CREATED", shared.handle],
      ["NODE_PARTITIONED", 0],
    ]);
    expect(hidden.handle).not.toBe(shared.handle);
  });

  // Regression: keys used to be placed by a global login counter, not by the creating session's node.
  test("keys are created on the login session's own node, or the next one that answers", async () => {
    const alice = await h.cu("alice");
    const bob = await h.cu("bob");
    expect(alice.session.nodeId).not.toBe(bob.session.nodeId);
    const sessionKey = await h.cluster.genSymKey(alice.session, genParams({ session: true }));
    expect(sessionKey.nodes.map((n) => n.nodeId)).toEqual([alice.session.nodeId]);
    const tokenKey = await h.cluster.genSymKey(bob.session, genParams());
    expect(holders(tokenKey.nodes)).toEqual([bob.session.nodeId]);
    h.cluster.setNodeState(bob.session.nodeId, "DOWN");
    const moved = await h.cluster.genSymKey(bob.session, genParams());
    expect(holders(moved.nodes)).toEqual([(bob.session.nodeId + 1) % 3]);
  });
});
