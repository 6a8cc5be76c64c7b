// Key handles: unique, increasing, never 4, never reused within a run or across restarts.
import { HandleAllocator } from "../../src/hsm/handleAllocator";
import { INTERNAL_KEY_HANDLE } from "../../src/hsm/key";
import { UserRole } from "../../src/hsm/users";
import { ClusterHarness, genParams } from "./support/harness";

describe("HandleAllocator", () => {
  test("hands out increasing handles from the ceiling and skips 4", () => {
    const reserved: number[] = [];
    const allocator = new HandleAllocator(0, (c) => reserved.push(c));
    const handles = Array.from({ length: 10 }, () => allocator.allocate());
    expect(handles).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9, 10]);
    expect(handles).not.toContain(INTERNAL_KEY_HANDLE);
    expect(INTERNAL_KEY_HANDLE).toBe(4);
  });

  test("starting at 4 skips straight to 5", () => {
    const allocator = new HandleAllocator(4, () => undefined);
    expect(allocator.allocate()).toBe(5);
  });

  test("reserves durably, in blocks, before handing out a handle past the reserved ceiling", () => {
    const reserved: number[] = [];
    const allocator = new HandleAllocator(100, (c) => reserved.push(c));
    const first = allocator.allocate();
    expect(first).toBe(100);
    expect(reserved).toHaveLength(1);
    const ceiling = reserved[0]!;
    expect(ceiling).toBeGreaterThan(first);
    // Every handle below the reserved ceiling needs no further reservation.
    let last = first;
    while (last < ceiling - 1) last = allocator.allocate();
    expect(reserved).toHaveLength(1);
    const next = allocator.allocate();
    expect(next).toBe(ceiling);
    expect(reserved).toHaveLength(2);
    expect(reserved[1]!).toBeGreaterThan(next);
  });

  test("a restart from the reserved ceiling never reuses a handle", () => {
    let durable = 6;
    const first = new HandleAllocator(durable, (c) => (durable = c));
    const before = [first.allocate(), first.allocate(), first.allocate()];
    const second = new HandleAllocator(durable, (c) => (durable = c));
    const after = second.allocate();
    expect(after).toBeGreaterThan(Math.max(...before));
  });

  test("a failed reservation hands out nothing", () => {
    const allocator = new HandleAllocator(10, () => {
      throw new Error("disk full");
    });
    expect(() => allocator.allocate()).toThrow("disk full");
  });
});

describe("handles through the cluster", () => {
  let h: ClusterHarness;
  beforeEach(() => {
    h = new ClusterHarness();
  });
  afterEach(() => h.dispose());

  test("are unique, increasing and never 4", async () => {
    const alice = await h.cu("alice");
    const handles: number[] = [];
    for (let i = 0; i < 50; i++) handles.push((await h.cluster.genSymKey(alice.session, genParams({ session: i % 3 === 0 }))).handle);
    expect(new Set(handles).size).toBe(handles.length);
    expect([...handles].sort((a, b) => a - b)).toEqual(handles);
    expect(handles).not.toContain(4);
  });

  test("are never reused across restarts, including handles of session keys and of keys gone at logout", async () => {
    const alice = await h.cu("alice");
    const seen: number[] = [];
    for (let restart = 0; restart < 3; restart++) {
      const { session, token } = await h.cluster.login(UserRole.CU, "alice", "password1");
      seen.push((await h.cluster.genSymKey(session, genParams())).handle);
      seen.push((await h.cluster.genSymKey(session, genParams({ session: true }))).handle);
      h.cluster.logout(token);
      h.reopen();
      const { session: fresh } = await h.cluster.login(UserRole.CU, "alice", "password1");
      const next = (await h.cluster.genSymKey(fresh, genParams())).handle;
      expect(next).toBeGreaterThan(Math.max(...seen));
      expect(next).not.toBe(4);
      seen.push(next);
    }
    expect(new Set(seen).size).toBe(seen.length);
    void alice;
  });

  test("a handle allocated before a crash-like reopen (no clean shutdown of the allocator) is not reused", async () => {
    const alice = await h.cu("alice");
    const first = (await h.cluster.genSymKey(alice.session, genParams())).handle;
    h.reopen();
    const { session } = await h.cluster.login(UserRole.CU, "alice", "password1");
    const second = (await h.cluster.genSymKey(session, genParams())).handle;
    expect(second).toBeGreaterThan(first);
  });
});
