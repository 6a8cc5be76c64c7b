// AdminService ResetState, SaveSnapshot, RestoreSnapshot and ListSnapshots over real gRPC, with a seeded daemon and a watcher.
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminClient, eventsIn, HsmClient, hsmProto } from "../../clients";
import { SeedDocument } from "../../src/hsm/seed";
import { FileSnapshotShelf } from "../../src/hsm/store/snapshotShelf";
import { expectRpcError } from "../support/expectRpcError";
import { startTestDaemon, TEST_MASTER_KEY, TestDaemon } from "../support/testDaemon";

const SEED: SeedDocument = {
  users: [{ role: "CU", name: "alice", password: "password1" }],
  keys: [
    { owner: "alice", label: "kek", id: "kek-1", type: "aes", size: 32 },
    { owner: "alice", label: "mac", id: "mac-1", type: "generic-secret", material: { base64: "c2VjcmV0LW1hYy1rZXktbWF0ZXJpYWw=" } },
  ],
};

describe("AdminService state calls", () => {
  let d: TestDaemon;
  let dataDir: string;
  const clients: HsmClient[] = [];
  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "lch-state-"));
    d = await startTestDaemon({ dataDir, seed: SEED, snapshots: new FileSnapshotShelf(join(dataDir, "snapshots"), TEST_MASTER_KEY) });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await d.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function alice(): Promise<HsmClient> {
    const c = new HsmClient(d.address);
    clients.push(c);
    await c.login("alice", "password1");
    return c;
  }

  test("the seed is applied at start and its handles are in the log", async () => {
    const line = await d.waitForLog((l) => l.message === "seeded keys");
    const logged = (line.keys as { handle: number; id: string }[]).map((k) => [k.id, k.handle]);
    const c = await alice();
    expect(await c.findKey({ label: "kek" })).toEqual([logged[0]![1]]);
    expect(await c.findKey({ label: "mac" })).toEqual([logged[1]![1]]);
    expect(JSON.stringify(d.logs)).not.toContain("c2VjcmV0LW1hYy1rZXktbWF0ZXJpYWw=");
    expect(JSON.stringify(d.logs)).not.toContain("password1");
  });

  test("ResetState to the seed: a watcher filtering on one key sees STATE_REPLACED, sessions end, handles are the seed's", async () => {
    const c = await alice();
    const [kek] = await c.findKey({ label: "kek" });
    const extra = await c.genSymKey({ label: "extra", keyType: 31, keySize: 16 });
    const watch = c.watch({ startRevision: Number(extra.revision) + 1, keyHandles: [kek!] });
    const firstEvent = (async () => {
      // Progress messages (none are due this soon, but they are allowed) carry no events.
      // next(), not for-await: leaving a for-await loop would cancel the stream whose end is checked below.
      for (;;) {
        const response = await watch.next();
        if (response.done) return [];
        const events = eventsIn(response.value);
        if (events.length > 0) return events;
      }
    })();
    const reset = await d.admin.resetState(true);
    expect(reset).toMatchObject({ userCount: 1, keyCount: 2, sessionsEnded: 1 });
    const events = await firstEvent;
    expect(events.map((e) => [e.type, e.revision])).toEqual([[hsmProto.SyncEventType.SYNC_EVENT_TYPE_STATE_REPLACED, reset!.revision]]);
    await expectRpcError(watch.next(), grpc.status.UNAUTHENTICATED, "UNAUTHENTICATED");
    await expectRpcError(c.findKey({}), grpc.status.UNAUTHENTICATED, "UNAUTHENTICATED");
    const again = await alice();
    expect(await again.findKey({})).toEqual([kek, kek! + 1]);
  });

  test("ResetState to empty, SaveSnapshot and RestoreSnapshot round trip", async () => {
    const c = await alice();
    const before = await c.findKey({});
    const saved = await d.admin.saveSnapshot("seeded");
    expect(saved).toMatchObject({ name: "seeded", userCount: 1, keyCount: 2 });
    const empty = await d.admin.resetState(false);
    expect(empty).toMatchObject({ userCount: 0, keyCount: 0 });
    expect((await d.admin.listUsers()).users).toEqual([]);
    const restored = await d.admin.restoreSnapshot("seeded");
    expect(Number(restored!.revision)).toBeGreaterThan(Number(empty!.revision));
    expect(await (await alice()).findKey({})).toEqual(before);
    expect((await d.admin.listSnapshots()).map((s) => s.name)).toEqual(["seeded"]);
  });

  test("a bad or unknown snapshot name gets its reason and changes nothing", async () => {
    const c = await alice();
    const keys = await c.findKey({});
    await expectRpcError(d.admin.saveSnapshot("../../etc/x"), grpc.status.INVALID_ARGUMENT, "SNAPSHOT_NAME_INVALID");
    await expectRpcError(d.admin.restoreSnapshot(""), grpc.status.INVALID_ARGUMENT, "SNAPSHOT_NAME_INVALID");
    await expectRpcError(d.admin.restoreSnapshot("missing"), grpc.status.NOT_FOUND, "SNAPSHOT_NOT_FOUND");
    // The session survived: nothing was replaced.
    expect(await c.findKey({})).toEqual(keys);
  });

  test("the state calls need the admin secret", async () => {
    const wrong = new AdminClient(d.address, "not-the-admin-secret-at-all");
    try {
      await expectRpcError(wrong.resetState(false), grpc.status.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");
      await expectRpcError(wrong.saveSnapshot("x"), grpc.status.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");
    } finally {
      wrong.close();
    }
    expect((await d.admin.listUsers()).users).toHaveLength(1);
  });
});

describe("ResetState without a seed", () => {
  test("to_seed is FAILED_PRECONDITION SEED_NOT_CONFIGURED", async () => {
    const d = await startTestDaemon();
    try {
      await d.admin.createUser("bob", "password1");
      await expectRpcError(d.admin.resetState(true), grpc.status.FAILED_PRECONDITION, "SEED_NOT_CONFIGURED");
      expect((await d.admin.listUsers()).users).toHaveLength(1);
    } finally {
      await d.close();
    }
  });
});
