// Replication in the domain, on a fake clock: token keys spread after each node's delay, session keys never do,
// min_srv/timeout tombstones a key everywhere, placement survives a restart and replication resumes, faults
// (down, partitioned, paused) and catch-up, and what the event log says about each step.
import { join } from "node:path";
import { HsmCluster, NodeResult } from "../../src/hsm/cluster";
import { ClusterEvent, ClusterEventKind } from "../../src/hsm/revisionLog";
import { SqliteStore } from "../../src/hsm/store/sqliteStore";
import { UserRole } from "../../src/hsm/users";
import { CLUSTER_DEFAULTS, ClusterHarness, expectHsmError, FakeClock, genParams, makeTempDir, removeDir } from "./support/harness";

const DELAY = 100;
const OK = 0;
const DOWN = 0x30000085;

/** Lets zero-delay fake timers (setImmediate) and the promise continuations they wake run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** Every event after `revision`, as [kind, handle, node, nodesHolding]. */
function eventsAfter(cluster: HsmCluster, revision: number): [ClusterEventKind, number, number, number][] {
  return cluster.events.readFrom(revision + 1, 100_000).map((e) => [e.kind, e.handle, e.nodeId, e.nodesHolding]);
}

function rawEventsAfter(cluster: HsmCluster, revision: number): ClusterEvent[] {
  return cluster.events.readFrom(revision + 1, 100_000);
}

function keyCounts(cluster: HsmCluster): number[] {
  return cluster.listNodes().map((n) => n.keyCount);
}

function pending(cluster: HsmCluster): number[] {
  return cluster.listNodes().map((n) => n.pendingReplications);
}

function holders(nodes: readonly NodeResult[]): number[] {
  return nodes.filter((n) => n.holdsKey).map((n) => n.nodeId);
}

/** A token key is written by group commit on the next turn of the event loop; let that happen before moving time. */
async function committed(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

/** Resolves `true` if the promise has settled after a few turns of the event loop. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await settle();
  return settled;
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

  test("min_srv 2 answers only once a second node holds the key", async () => {
    const alice = await h.cu("alice");
    const call = h.cluster.genSymKey(alice.session, genParams({ minSrv: 2 }));
    expect(await isSettled(call)).toBe(false);
    h.clock.advance(DELAY - 1);
    expect(await isSettled(call)).toBe(false);
    h.clock.advance(1);
    const created = await call;
    expect(holders(created.nodes).length).toBeGreaterThanOrEqual(2);
  });

  test("min_srv 3 with a node down and timeout 1 s: MIN_SRV_UNMET after exactly 1 s, tombstoned on every node that had it", async () => {
    const alice = await h.cu("alice");
    const wrapping = await h.cluster.genSymKey(alice.session, genParams({ label: "first" }));
    h.clock.advance(DELAY);
    await settle();
    h.cluster.setNodeState(2, "DOWN");
    const countsBefore = keyCounts(h.cluster);
    const before = h.cluster.events.currentRevision;
    const call = h.cluster.genSymKey(alice.session, genParams({ label: "unmet", id: "unmet-id", minSrv: 3, timeoutSeconds: 1 }));
    const outcome = call.catch((err: unknown) => err);
    await committed();
    h.clock.advance(DELAY);
    await settle();
    h.clock.advance(1000 - DELAY - 1);
    expect(await isSettled(call)).toBe(false);
    h.clock.advance(1);
    const err = await expectHsmError(() => outcome.then((e) => Promise.reject(e)), "MIN_SRV_UNMET");
    expect(err.details).toMatchObject({ required: 3, reached: 2 });
    const states = String(err.details.node_states).split(",");
    expect(states).toHaveLength(3);
    expect(states[2]).toBe("2:0x30000085");
    expect(states.filter((s) => s.endsWith(":held"))).toHaveLength(2);

    const events = eventsAfter(h.cluster, before);
    const handle = events[0]![1];
    expect(events.map(([kind, , , holding]) => [kind, holding])).toEqual([
      ["KEY_CREATED", 1],
      ["KEY_REPLICATED", 2],
      ["KEY_TOMBSTONED", 1],
      ["KEY_TOMBSTONED", 0],
    ]);
    expect(events.every(([, h2]) => h2 === handle)).toBe(true);
    expect(keyCounts(h.cluster)).toEqual(countsBefore);
    expect(pending(h.cluster)).toEqual([0, 0, 0]);
    expect(h.cluster.findKey(alice.session, { label: "unmet" })).toEqual([]);

    // Node 2 comes back: nothing of the key reaches it; the id is free again.
    h.cluster.setNodeState(2, "UP");
    h.clock.advance(10_000);
    await settle();
    expect(keyCounts(h.cluster)).toEqual([1, 1, 1]);
    expect(eventsAfter(h.cluster, before).filter(([kind]) => kind === "KEY_REPLICATED")).toHaveLength(1);
    const again = await h.cluster.genSymKey(alice.session, genParams({ label: "unmet", id: "unmet-id" }));
    expect(again.handle).toBeGreaterThan(handle);
    expect(wrapping.handle).toBeLessThan(handle);

    // Also after a restart nothing of the failed key remains.
    h.reopen();
    const { session } = await h.cluster.login(UserRole.CU, "alice", "password1");
    expect(h.cluster.findKey(session, { label: "unmet" })).toEqual([again.handle]);
    await expectHsmError(() => h.cluster.getAttribute(session, handle, 512), "KEY_NOT_FOUND");
  });

  test("a call that ends (abort) while waiting for min_srv tombstones the key like a timeout", async () => {
    const alice = await h.cu("alice");
    h.cluster.setNodeState(1, "DOWN");
    h.cluster.setNodeState(2, "DOWN");
    const before = h.cluster.events.currentRevision;
    const abort = new AbortController();
    const call = h.cluster.genSymKey(alice.session, genParams({ label: "aborted", minSrv: 2 }), abort.signal);
    const outcome = call.catch((err: unknown) => err);
    h.clock.advance(60_000);
    expect(await isSettled(call)).toBe(false);
    abort.abort();
    const err = await expectHsmError(() => outcome.then((e) => Promise.reject(e)), "MIN_SRV_UNMET");
    expect(err.details).toMatchObject({ required: 2, reached: 1 });
    expect(eventsAfter(h.cluster, before).map(([kind, , , holding]) => [kind, holding])).toEqual([
      ["KEY_CREATED", 1],
      ["KEY_TOMBSTONED", 0],
    ]);
    expect(keyCounts(h.cluster)).toEqual([0, 0, 0]);
    h.cluster.setNodeState(1, "UP");
    h.cluster.setNodeState(2, "UP");
    h.clock.advance(10_000);
    await settle();
    expect(keyCounts(h.cluster)).toEqual([0, 0, 0]);
  });

  test("an already aborted call creates nothing that survives", async () => {
    const alice = await h.cu("alice");
    const abort = new AbortController();
    abort.abort();
    await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ minSrv: 2 }), abort.signal), "MIN_SRV_UNMET");
    h.clock.advance(10_000);
    await settle();
    expect(keyCounts(h.cluster)).toEqual([0, 0, 0]);
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

  test("a key whose min_srv call was still waiting when the daemon stopped is tombstoned at start, visibly", async () => {
    const alice = await h.cu("alice");
    h.cluster.setNodeState(2, "DOWN");
    const waiting = h.cluster.genSymKey(alice.session, genParams({ label: "in-flight", id: "in-flight", minSrv: 3 }));
    void waiting.catch(() => undefined);
    await committed();
    h.clock.advance(DELAY);
    await settle();
    expect(await isSettled(waiting)).toBe(false);
    const handle = h.cluster.findKey(alice.session, { label: "in-flight" })[0]!;
    expect(keyCounts(h.cluster)).toEqual([1, 1, 0]);

    h.reopen();
    expect(keyCounts(h.cluster)).toEqual([0, 0, 0]);
    expect(pending(h.cluster)).toEqual([0, 0, 0]);
    expect(eventsAfter(h.cluster, h.cluster.events.compactRevision).map(([kind, key, , holding]) => [kind, key, holding])).toEqual([
      ["KEY_TOMBSTONED", handle, 1],
      ["KEY_TOMBSTONED", handle, 0],
    ]);
    const { session } = await h.cluster.login(UserRole.CU, "alice", "password1");
    expect(h.cluster.findKey(session, {})).toEqual([]);
    const reused = await h.cluster.genSymKey(session, genParams({ label: "in-flight", id: "in-flight" }));
    expect(reused.handle).toBeGreaterThan(handle);
    h.clock.advance(DELAY);
    h.reopen();
    expect(keyCounts(h.cluster)).toEqual([1, 1, 1]);
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

describe("create_object_minimum_nodes", () => {
  /** A cluster like ClusterHarness's, with create_object_minimum_nodes set. */
  function clusterWith(minimumNodes: number): { cluster: HsmCluster; clock: FakeClock; dispose: () => void } {
    const dir = makeTempDir();
    const clock = new FakeClock();
    const cluster = new HsmCluster({
      store: SqliteStore.open(join(dir, "store.sqlite"), Buffer.alloc(32, 3)),
      clock,
      timers: clock,
      nodeCount: 3,
      ...CLUSTER_DEFAULTS,
      replicationDelayMs: DELAY,
      createObjectMinimumNodes: minimumNodes,
    });
    return {
      cluster,
      clock,
      dispose: () => {
        cluster.close();
        removeDir(dir);
      },
    };
  }

  test("the larger of it and min_srv wins: with 3, a min_srv 1 call waits for all three nodes", async () => {
    const { cluster, clock, dispose } = clusterWith(3);
    try {
      await cluster.createUser(UserRole.CU, "alice", "password1");
      const { session } = await cluster.login(UserRole.CU, "alice", "password1");
      cluster.setReplicationDelay(2, 500);
      const call = cluster.genSymKey(session, genParams({ minSrv: 1 }));
      await committed();
      clock.advance(DELAY);
      expect(await isSettled(call)).toBe(false);
      clock.advance(500 - DELAY);
      const created = await call;
      expect(holders(created.nodes)).toEqual([0, 1, 2]);
    } finally {
      dispose();
    }
  });

  test("with 3 and a node down, min_srv 1 with timeout fails MIN_SRV_UNMET requiring 3", async () => {
    const { cluster, clock, dispose } = clusterWith(3);
    try {
      await cluster.createUser(UserRole.CU, "alice", "password1");
      const { session } = await cluster.login(UserRole.CU, "alice", "password1");
      cluster.setNodeState(1, "DOWN");
      const outcome = cluster.genSymKey(session, genParams({ minSrv: 1, timeoutSeconds: 2 })).catch((e: unknown) => e);
      clock.advance(DELAY);
      await settle();
      clock.advance(2000);
      const err = await expectHsmError(() => outcome.then((e) => Promise.reject(e)), "MIN_SRV_UNMET");
      expect(err.details).toMatchObject({ required: 3, reached: 2 });
      expect(cluster.keyCount).toBe(0);
    } finally {
      dispose();
    }
  });

  test("min_srv larger than it wins; session keys are not bound by it", async () => {
    const { cluster, clock, dispose } = clusterWith(2);
    try {
      await cluster.createUser(UserRole.CU, "alice", "password1");
      const { session } = await cluster.login(UserRole.CU, "alice", "password1");
      const call = cluster.genSymKey(session, genParams({ minSrv: 3 }));
      await committed();
      clock.advance(DELAY);
      const created = await call;
      expect(holders(created.nodes)).toEqual([0, 1, 2]);
      const sessionKey = await cluster.genSymKey(session, genParams({ session: true }));
      expect(sessionKey.nodes).toHaveLength(1);
      await expectHsmError(() => cluster.genSymKey(session, genParams({ session: true, minSrv: 2 })), "MIN_SRV_UNMET");
    } finally {
      dispose();
    }
  });
});
