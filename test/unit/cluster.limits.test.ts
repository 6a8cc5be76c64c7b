// Session expiry (idle and absolute) removes session keys visibly; the cluster's key cap refuses new keys.
import { CLUSTER_DEFAULTS, ClusterHarness, expectHsmError, genParams } from "./support/harness";

describe("session expiry", () => {
  let h: ClusterHarness;
  beforeEach(() => {
    h = new ClusterHarness({ cluster: { sessionLimits: { ...CLUSTER_DEFAULTS.sessionLimits, idleMs: 60_000, maxLifetimeMs: 600_000, perUser: 8 } } });
  });
  afterEach(() => h.dispose());

  test("an idle session expires on its own; its session keys vanish with KEY_DELETED events", async () => {
    const alice = await h.cu("alice");
    const key = await h.cluster.genSymKey(alice.session, genParams({ session: true, label: "temp" }));
    const before = h.cluster.events.currentRevision;
    h.clock.advance(60_000);
    const events = h.cluster.events.readFrom(before + 1, 10);
    expect(events.map((e) => [e.kind, e.handle])).toEqual([["KEY_DELETED", key.handle]]);
    await expectHsmError(() => h.cluster.session(alice.token), "SESSION_EXPIRED");
    expect(h.cluster.keyCount).toBe(0);
  });

  test("a used session still ends at its absolute lifetime (the sweep ends it on time)", async () => {
    const alice = await h.cu("alice");
    for (let t = 0; t < 10; t++) {
      h.clock.advance(59_000);
      h.cluster.session(alice.token);
    }
    h.clock.advance(600_000 - 10 * 59_000 - 1);
    expect(h.cluster.session(alice.token).userId).toBe(alice.userId);
    h.clock.advance(1);
    await expectHsmError(() => h.cluster.session(alice.token), "SESSION_EXPIRED");
  });
});

describe("key cap", () => {
  test("the cluster refuses keys beyond maxKeys with KEY_LIMIT_REACHED and creates nothing", async () => {
    const h = new ClusterHarness({ cluster: { maxKeys: 3 } });
    try {
      const alice = await h.cu("alice");
      for (let i = 0; i < 3; i++) await h.cluster.genSymKey(alice.session, genParams({ label: `k${i}` }));
      const err = await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ label: "k3" })), "KEY_LIMIT_REACHED");
      expect(err.details.max_keys).toBe(3);
      expect(h.cluster.keyCount).toBe(3);
    } finally {
      h.dispose();
    }
  });
});
