// A key pair exists whole or not at all: -min_srv unmet tombstones both keys, a failed durable write of one key
// leaves neither, and in both cases the id is free again; on a fake clock, without sleeping.
import { join } from "node:path";
import { HsmCluster } from "../../src/hsm/cluster";
import { KeyObject } from "../../src/hsm/key";
import { KeyClass } from "../../src/hsm/keyTypes";
import { SqliteStore } from "../../src/hsm/store/sqliteStore";
import { UserRole } from "../../src/hsm/users";
import { CLUSTER_DEFAULTS, ClusterHarness, eventsAfter, expectHsmError, FakeClock, isSettled, keyCounts, makeTempDir, removeDir, settle } from "./support/harness";
import { ecParams } from "./support/keyPairParams";

const DELAY = 100;

/** Lets the event loop turn until `done` holds: the key generation runs on the thread pool, outside the fake clock. */
async function turnsUntil(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

test("min_srv 3 with a node down: MIN_SRV_UNMET after the timeout, both keys tombstoned, the id free again", async () => {
  const h = new ClusterHarness({ nodeCount: 3, replicationDelayMs: DELAY });
  try {
    const alice = await h.cu("alice");
    h.cluster.setNodeState(2, "DOWN");
    const before = h.cluster.currentRevision;
    const call = h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { id: "pair-unmet", minSrv: 3, timeoutSeconds: 1 }));
    const outcome = call.catch((err: unknown) => err);
    await turnsUntil(() => eventsAfter(h.cluster, before).filter(([kind]) => kind === "KEY_CREATED").length === 2);
    h.clock.advance(DELAY);
    await settle();
    h.clock.advance(1000 - DELAY - 1);
    expect(await isSettled(call)).toBe(false);
    h.clock.advance(1);
    await expectHsmError(() => outcome.then((e) => Promise.reject(e)), "MIN_SRV_UNMET");
    const events = eventsAfter(h.cluster, before);
    const handles = [...new Set(events.map(([, handle]) => handle))];
    expect(handles).toHaveLength(2);
    for (const handle of handles) {
      expect(events.filter(([kind, hd]) => hd === handle && kind === "KEY_TOMBSTONED")).toHaveLength(2);
    }
    expect(h.cluster.keyCount).toBe(0);
    expect(keyCounts(h.cluster)).toEqual([0, 0, 0]);
    h.cluster.setNodeState(2, "UP");
    const again = await h.cluster.generateKeyPair(alice.session, ecParams("prime256v1", { id: "pair-unmet" }));
    expect(again.publicHandle).toBeGreaterThan(Math.max(...handles));
  } finally {
    h.dispose();
  }
});

test("a durable write that fails for the private key leaves neither key, and the id is free", async () => {
  const dir = makeTempDir();
  const store = SqliteStore.open(join(dir, "store.sqlite"), Buffer.alloc(32, 7));
  let failPrivate = true;
  const insertKey = store.insertKey.bind(store);
  store.insertKey = (key: KeyObject, acknowledged: boolean): void => {
    if (failPrivate && key.keyClass === KeyClass.PRIVATE) throw new Error("disk full (test)");
    insertKey(key, acknowledged);
  };
  const clock = new FakeClock();
  const cluster = new HsmCluster({ store, clock, timers: clock, nodeCount: 3, ...CLUSTER_DEFAULTS, replicationDelayMs: 0 });
  try {
    await cluster.createUser(UserRole.CU, "alice", "password1");
    const { session } = await cluster.login(UserRole.CU, "alice", "password1");
    await expect(cluster.generateKeyPair(session, ecParams("prime256v1", { id: "pair-disk" }))).rejects.toThrow("disk full (test)");
    expect(cluster.keyCount).toBe(0);
    expect(cluster.findKey(session, {})).toEqual([]);
    failPrivate = false;
    const pair = await cluster.generateKeyPair(session, ecParams("prime256v1", { id: "pair-disk" }));
    expect(cluster.findKey(session, { id: "pair-disk" })).toEqual([pair.publicHandle, pair.privateHandle]);
  } finally {
    cluster.close();
    removeDir(dir);
  }
});
