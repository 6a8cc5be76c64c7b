// The min_srv/timeout protocol of key creation in the domain, on a fake clock: a call answers once enough nodes
// hold the key; on timeout or abort the key is tombstoned everywhere, also when the daemon stopped mid-wait; and
// create_object_minimum_nodes raises the floor for token keys.
import { join } from "node:path";
import { HsmCluster } from "../../src/hsm/cluster";
import { SqliteStore } from "../../src/hsm/store/sqliteStore";
import { UserRole } from "../../src/hsm/users";
import {
  CLUSTER_DEFAULTS,
  ClusterHarness,
  committed,
  eventsAfter,
  expectHsmError,
  FakeClock,
  genParams,
  holders,
  isSettled,
  keyCounts,
  makeTempDir,
  pending,
  removeDir,
  settle,
} from "./support/harness";

const DELAY = 100;

describe("replication on a fake clock", () => {
  let h: ClusterHarness;
  beforeEach(() => {
    h = new ClusterHarness({ nodeCount: 3, replicationDelayMs: DELAY });
  });
  afterEach(() => h.dispose());

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
