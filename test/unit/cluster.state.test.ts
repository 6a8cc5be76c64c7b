// Reset and snapshots in the domain: state replaced atomically, sessions ended, watchers told, revisions continue.
import { randomBytes } from "node:crypto";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { HsmCluster } from "../../src/hsm/cluster";
import { SeedDocument } from "../../src/hsm/seed";
import { FileSnapshotShelf } from "../../src/hsm/store/snapshotShelf";
import { UserRole } from "../../src/hsm/users";
import { CLUSTER_DEFAULTS, ClusterHarness, expectHsmError, FakeClock, genParams, makeTempDir, pkcs5Wrap, removeDir } from "./support/harness";
import { SqliteStore } from "../../src/hsm/store/sqliteStore";

const SEED: SeedDocument = {
  users: [{ role: "CU", name: "alice", password: "password1" }],
  keys: [
    { owner: "alice", label: "a", id: "a-1", type: "aes", size: 32 },
    { owner: "alice", label: "b", id: "b-1", type: "3des", size: 24 },
  ],
};

async function loginAlice(cluster: HsmCluster) {
  return cluster.login(UserRole.CU, "alice", "password1");
}

describe.each([
  ["in memory", false],
  ["as files", true],
])("reset and snapshots (snapshots %s)", (_name, onDisk) => {
  let h: ClusterHarness;
  let snapshotDir: string | undefined;
  beforeEach(() => {
    snapshotDir = onDisk ? makeTempDir("lchsm-snap-") : undefined;
    const masterKey = randomBytes(32);
    h = new ClusterHarness({ masterKey, cluster: snapshotDir ? { snapshots: new FileSnapshotShelf(snapshotDir, masterKey) } : {} });
  });
  afterEach(() => {
    h.dispose();
    if (snapshotDir) removeDir(snapshotDir);
  });

  test("reset to empty removes every user and key, ends sessions, and continues the revisions", async () => {
    await h.cluster.applySeed(SEED);
    const { token, session } = await loginAlice(h.cluster);
    await h.cluster.genSymKey(session, genParams({ label: "session-key", session: true }));
    const before = h.cluster.currentRevision;
    const state = await h.cluster.resetState(undefined);
    expect(state).toMatchObject({ userCount: 0, keyCount: 0, sessionsEnded: 1 });
    expect(state.revision).toBeGreaterThan(before);
    expect(h.cluster.events.readFrom(state.revision, 1)[0]?.kind).toBe("STATE_REPLACED");
    expect(h.cluster.listUsers()).toEqual([]);
    expect(h.cluster.keyCount).toBe(0);
    await expectHsmError(() => h.cluster.session(token), "UNAUTHENTICATED");
    h.reopen();
    expect(h.cluster.listUsers()).toEqual([]);
    expect(h.cluster.currentRevision).toBeGreaterThanOrEqual(state.revision);
  });

  test("reset to a seed gives the seed's keys the handles a fresh store gives them", async () => {
    const fresh = await h.cluster.applySeed(SEED);
    const alice = await loginAlice(h.cluster);
    for (let i = 0; i < 3; i++) await h.cluster.genSymKey(alice.session, genParams({ label: `extra-${i}` }));
    const state = await h.cluster.resetState(SEED);
    expect(state.seeded.map((k) => k.handle)).toEqual(fresh.map((k) => k.handle));
    expect(state.keyCount).toBe(2);
    const again = await loginAlice(h.cluster);
    expect(h.cluster.findKey(again.session, {})).toEqual(fresh.map((k) => k.handle));
    // New keys continue after the seed's, as on a fresh store.
    const next = await h.cluster.genSymKey(again.session, genParams({ label: "after" }));
    expect(next.handle).toBeGreaterThan(Math.max(...fresh.map((k) => k.handle)));
  });

  test("a snapshot restored brings back its users and keys, with their material", async () => {
    await h.cluster.applySeed(SEED);
    const alice = await loginAlice(h.cluster);
    const kept = await h.cluster.genSymKey(alice.session, genParams({ label: "kept" }));
    const wrapped = h.cluster.wrapKey(alice.session, pkcs5Wrap(kept.handle, 6));
    const info = h.cluster.saveSnapshot("before-test");
    expect(info).toMatchObject({ name: "before-test", userCount: 1, keyCount: 3 });
    h.cluster.deleteKey(alice.session, kept.handle);
    await h.cluster.createUser(UserRole.CU, "bob", "password2");
    await h.cluster.genSymKey(alice.session, genParams({ label: "later" }));
    const state = h.cluster.restoreSnapshot("before-test");
    expect(state).toMatchObject({ userCount: 1, keyCount: 3 });
    expect(h.cluster.listUsers().map((u) => u.username)).toEqual(["alice"]);
    const again = await loginAlice(h.cluster);
    expect(h.cluster.wrapKey(again.session, pkcs5Wrap(kept.handle, 6))).toEqual(wrapped);
    expect(h.cluster.findKey(again.session, { label: "later" })).toEqual([]);
    // And after a restart.
    h.reopen();
    const third = await loginAlice(h.cluster);
    expect(h.cluster.findKey(third.session, {}).length).toBe(3);
    expect(h.cluster.listSnapshots().map((s) => s.name)).toEqual(onDisk ? ["before-test"] : []);
  });

  test("a watcher filtering on one key still receives STATE_REPLACED, then ends", async () => {
    await h.cluster.applySeed(SEED);
    const alice = await loginAlice(h.cluster);
    const abort = new AbortController();
    const watcher = h.cluster.openWatch(
      alice.session,
      { startRevision: h.cluster.currentRevision + 1, handles: new Set([6]), nodes: new Set([2]), progressIntervalMs: 600_000, maxLag: 1000 },
      abort.signal,
    );
    const items = watcher.items(abort.signal);
    const next = items.next();
    const state = await h.cluster.resetState(undefined);
    const first = await next;
    expect(first.value).toMatchObject({ kind: "event", event: { kind: "STATE_REPLACED", revision: state.revision } });
    await expect(items.next()).rejects.toMatchObject({ reason: "UNAUTHENTICATED" });
    abort.abort();
  });

  test("a key creation in flight during a reset is refused and lands in neither state", async () => {
    await h.cluster.applySeed(SEED);
    const alice = await loginAlice(h.cluster);
    // Queued for the next group commit when the reset (to empty: no password hashing to wait for) replaces the state.
    const creating = h.cluster.genSymKey(alice.session, genParams({ label: "in-flight" }));
    const state = await h.cluster.resetState(undefined);
    await expectHsmError(() => creating, "UNAUTHENTICATED");
    expect(h.cluster.keyCount).toBe(0);
    expect(h.cluster.events.readFrom(state.revision, 100).map((e) => e.kind)).toEqual(["STATE_REPLACED"]);
    h.reopen();
    expect(h.cluster.keyCount).toBe(0);
  });

  test("bad and unknown snapshot names change nothing", async () => {
    await h.cluster.applySeed(SEED);
    const revision = h.cluster.currentRevision;
    await expectHsmError(() => h.cluster.saveSnapshot("../escape"), "SNAPSHOT_NAME_INVALID");
    await expectHsmError(() => h.cluster.restoreSnapshot(".hidden"), "SNAPSHOT_NAME_INVALID");
    await expectHsmError(() => h.cluster.restoreSnapshot("never-saved"), "SNAPSHOT_NOT_FOUND");
    expect(h.cluster.currentRevision).toBe(revision);
    expect(h.cluster.keyCount).toBe(2);
  });
});

describe("snapshot files", () => {
  test("are 0600, and one changed outside the daemon is refused without changing anything", async () => {
    const masterKey = randomBytes(32);
    const dir = makeTempDir("lchsm-snap-");
    const g = new ClusterHarness({ masterKey, cluster: { snapshots: new FileSnapshotShelf(dir, masterKey) } });
    try {
      await g.cluster.applySeed(SEED);
      g.cluster.saveSnapshot("one");
      const file = join(dir, "one.snapshot.sqlite");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readdirSync(dir)).toEqual(["one.snapshot.sqlite"]);
      writeFileSync(file, "not a store");
      await expectHsmError(() => g.cluster.restoreSnapshot("one"), "SNAPSHOT_UNREADABLE");
      expect(g.cluster.keyCount).toBe(2);
    } finally {
      g.dispose();
      removeDir(dir);
    }
  });
});

describe("an in-memory store", () => {
  test("saves, resets and restores like a file store", async () => {
    const clock = new FakeClock();
    const cluster = new HsmCluster({ store: SqliteStore.open(":memory:", randomBytes(32)), clock, timers: clock, nodeCount: 2, ...CLUSTER_DEFAULTS, replicationDelayMs: 0 });
    try {
      const seeded = await cluster.applySeed(SEED);
      cluster.saveSnapshot("start");
      await cluster.resetState(undefined);
      expect(cluster.keyCount).toBe(0);
      const state = cluster.restoreSnapshot("start");
      expect(state).toMatchObject({ userCount: 1, keyCount: 2 });
      const { session } = await loginAlice(cluster);
      expect(cluster.findKey(session, {})).toEqual(seeded.map((k) => k.handle));
    } finally {
      cluster.close();
    }
  });
});
