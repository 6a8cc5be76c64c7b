// Revisions of cluster changes: they increase with every created key, never repeat, and survive restarts.
import { UserRole } from "../../src/hsm/users";
import { ClusterHarness, expectHsmError, genParams } from "./support/harness";

describe("revisions through the cluster", () => {
  let h: ClusterHarness;
  beforeEach(() => {
    h = new ClusterHarness({ nodeCount: 3 });
  });
  afterEach(() => h.dispose());

  test("a created key advances the revision, and the call reports a revision no later than the current one", async () => {
    const alice = await h.cu("alice");
    const before = h.cluster.events.currentRevision;
    const first = await h.cluster.genSymKey(alice.session, genParams());
    expect(first.revision).toBeGreaterThan(before);
    expect(first.revision).toBeLessThanOrEqual(h.cluster.events.currentRevision);
    const second = await h.cluster.genSymKey(alice.session, genParams({ session: true }));
    expect(second.revision).toBeGreaterThan(first.revision);
  });

  test("token-key revisions continue after a restart", async () => {
    const alice = await h.cu("alice");
    await h.cluster.genSymKey(alice.session, genParams());
    const before = h.cluster.events.currentRevision;
    h.reopen();
    expect(h.cluster.events.currentRevision).toBeGreaterThanOrEqual(before);
    const { session } = await h.cluster.login(UserRole.CU, "alice", "password1");
    const created = await h.cluster.genSymKey(session, genParams());
    expect(created.revision).toBeGreaterThan(before);
  });

  // BUG (src/hsm/cluster.ts place(), src/hsm/store/sqliteStore.ts): events of session keys take revisions
  // in memory, but only token-key inserts persist meta.revision. After a restart the counter falls back
  // to the last token-key revision and hands out the session-key revisions again, so a watcher that saw
  // revision N before the restart gets a different event under the same N afterwards.
  test("revisions are never reused across a restart, even those of session-key events", async () => {
    const alice = await h.cu("alice");
    await h.cluster.genSymKey(alice.session, genParams());
    await h.cluster.genSymKey(alice.session, genParams({ session: true }));
    const highest = h.cluster.events.currentRevision;
    h.reopen();
    expect(h.cluster.events.currentRevision).toBeGreaterThanOrEqual(highest);
    const { session } = await h.cluster.login(UserRole.CU, "alice", "password1");
    const created = await h.cluster.genSymKey(session, genParams());
    expect(created.revision).toBeGreaterThan(highest);
  });

  test("a refused operation adds no event", async () => {
    const alice = await h.cu("alice");
    const before = h.cluster.events.currentRevision;
    await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ keySize: 17 })), "KEY_LENGTH_INVALID");
    expect(h.cluster.events.currentRevision).toBe(before);
  });
});
