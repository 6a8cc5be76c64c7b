// Concurrency over real gRPC: 64 clients import with the same -id at once (exactly one wins, the other 63 get
// ALREADY_EXISTS ID_ALREADY_EXISTS and learn nothing about the winner's key); and storms of ShareKey, SetAttribute,
// DeleteKey and reads on one key, from several sessions at once, end in one consistent state: deleted everywhere or
// present on every node it should be on, with the sharing of the last successful ShareKey, and a watch stream whose
// events tell the same story, revision by revision.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ClusterControlClient, HsmClient, HsmClientError, hsmProto, KEY_TYPE, watchRequest } from "../../clients";
import { aesKcv, des3Kcv } from "../support/kcv";
import { bearerMetadata, rawCall, tokenOf } from "../support/rawCall";
import { method } from "../support/serviceMethods";
import { startTestDaemon, TEST_ADMIN_SECRET, TEST_PASSWORD, TestDaemon } from "../support/testDaemon";
import { prng } from "../support/prng";

const { SyncEventType } = hsmProto;
type SyncEvent = hsmProto.SyncEvent;

const SEED = Number(process.env.CONCURRENCY_SEED ?? Date.now() % 1_000_000_007);

describe("concurrency", () => {
  let t: TestDaemon;
  let control: ClusterControlClient;

  beforeAll(async () => {
    t = await startTestDaemon();
    control = new ClusterControlClient(t.address, TEST_ADMIN_SECRET);
    process.stdout.write(`concurrency seed ${SEED} (CONCURRENCY_SEED=${SEED} replays it)\n`);
  });
  afterAll(async () => {
    control.close();
    await t.close();
  });

  describe("64 clients import with the same -id at once", () => {
    const USERS = 8;
    const PER_USER = 8;
    let clients: { client: HsmClient; user: string; wrappingKey: number }[];

    beforeAll(async () => {
      clients = [];
      for (let u = 0; u < USERS; u++) {
        const user = `racer${u}`;
        await t.admin.createUser(user, TEST_PASSWORD);
        let wrappingKey = 0;
        for (let i = 0; i < PER_USER; i++) {
          const client = t.client();
          await client.login(user, TEST_PASSWORD);
          if (i === 0) wrappingKey = await client.createWrappingKey(`${user}-wrapping`);
          clients.push({ client, user, wrappingKey });
        }
      }
    });

    const variants: [string, (i: number) => { minSrv?: number; session?: boolean; keyType: number; material: Buffer }][] = [
      ["token keys, min_srv 1", () => ({ keyType: KEY_TYPE.AES, material: randomBytes(32) })],
      ["token keys, min_srv 1 to 3", (i) => ({ keyType: KEY_TYPE.AES, material: randomBytes(16), minSrv: 1 + (i % 3) })],
      ["session and token keys, AES and 3DES", (i) => (i % 2 === 0 ? { keyType: KEY_TYPE.DES3, material: randomBytes(24), session: true } : { keyType: KEY_TYPE.AES, material: randomBytes(24) })],
    ];

    test.each(variants)("%s: exactly one succeeds, 63 get ALREADY_EXISTS ID_ALREADY_EXISTS", async (name, plan) => {
      const id = `contested-${name.replace(/\W+/g, "-")}`;
      const keysBefore = t.daemon.cluster.keyCount;
      const plans = clients.map((_, i) => plan(i));
      const settled = await Promise.allSettled(
        clients.map(({ client, wrappingKey }, i) => {
          const p = plans[i]!;
          return client.importSymKey(p.material, { wrappingKey, keyType: p.keyType, label: `racer-${i}`, id, ...(p.minSrv ? { minSrv: p.minSrv } : {}), ...(p.session ? { session: true } : {}) });
        }),
      );
      const winners = settled.flatMap((s, i) => (s.status === "fulfilled" ? [{ i, handle: s.value.keyHandle }] : []));
      const losers = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(clients.length - 1);
      for (const err of losers) {
        expect(err).toBeInstanceOf(HsmClientError);
        const e = err as HsmClientError;
        // The refusal names the id and nothing about the key that holds it.
        expect({ code: grpc.status[e.code], reason: e.reason, metadata: e.metadata }).toEqual({
          code: "ALREADY_EXISTS",
          reason: "ID_ALREADY_EXISTS",
          metadata: { id, kmu_return_code: "0xd1", kmu_return_text: expect.any(String) as unknown },
        });
      }
      const winner = winners[0]!;
      const winnerClient = clients[winner.i]!;
      const p = plans[winner.i]!;
      expect(t.daemon.cluster.keyCount).toBe(keysBefore + 1);
      expect(await winnerClient.client.findKey({ id })).toEqual([winner.handle]);
      expect(await winnerClient.client.kcv(winner.handle)).toBe(p.keyType === KEY_TYPE.DES3 ? des3Kcv(p.material) : aesKcv(p.material));
      // Nobody else sees a key with that id (the winner's other sessions do, unless it is a session key).
      for (const { client, user } of clients) {
        if (client === winnerClient.client) continue;
        const sees = user === winnerClient.user && !p.session;
        expect(await client.findKey({ id })).toEqual(sees ? [winner.handle] : []);
      }
    });
  });

  describe("ShareKey, SetAttribute and DeleteKey on one key at once", () => {
    const TRIALS = 16;
    const OPS = 40;
    let owners: HsmClient[];
    let sharees: { name: string; id: number; client: HsmClient }[];

    beforeAll(async () => {
      owners = [];
      await t.admin.createUser("owner", TEST_PASSWORD);
      for (let i = 0; i < 4; i++) {
        const c = t.client();
        await c.login("owner", TEST_PASSWORD);
        owners.push(c);
      }
      sharees = [];
      for (const name of ["bob", "carol", "dave"]) {
        const client = await t.loggedInCu(name);
        sharees.push({ name, id: client.userId!, client });
      }
    });

    type Op =
      | { kind: "share"; by: HsmClient; userIds: number[]; share: boolean }
      | { kind: "setToken"; by: HsmClient }
      | { kind: "delete"; by: HsmClient }
      | { kind: "read"; by: HsmClient };
    interface Result {
      readonly op: Op;
      readonly ok: boolean;
      readonly revision?: number;
      readonly sharedWith?: number[];
      readonly error?: HsmClientError;
    }

    function run(op: Op, handle: number): Promise<Result> {
      const done = (revision: string | undefined, sharedWith?: number[]): Result => ({ op, ok: true, ...(revision !== undefined ? { revision: Number(revision) } : {}), ...(sharedWith ? { sharedWith } : {}) });
      const failed = (err: unknown): Result => {
        if (!(err instanceof HsmClientError)) throw err;
        return { op, ok: false, error: err };
      };
      switch (op.kind) {
        case "share":
          return op.by.shareKey(handle, op.userIds, op.share).then((r) => done(r.revision, r.sharedWithUserIds), failed);
        case "setToken":
          return op.by.setAttribute(handle, 1, 1).then((r) => done(r.revision), failed);
        case "delete":
          return op.by.deleteKey(handle).then((r) => done(r.revision), failed);
        case "read":
          return op.by.getKeyInfo(handle).then(() => done(undefined), failed);
      }
    }

    /** The key's events from its creation until the log is quiet at `until` (a progress notice proves nothing is left). */
    async function eventsOf(watcher: HsmClient, handle: number, from: number, until: number): Promise<SyncEvent[]> {
      const events: SyncEvent[] = [];
      for await (const m of watcher.watch({ startRevision: from, keyHandles: [handle], progressIntervalMs: 20 })) {
        if (m.message?.$case === "event") events.push(m.message.value);
        if (m.message?.$case === "progress" && Number(m.message.value.revision) >= until) break;
      }
      return events;
    }

    test(`${TRIALS} storms of ${OPS} operations each end in one consistent state`, async () => {
      const random = prng(SEED);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const wrappingKey = await owners[0]!.createWrappingKey("storm-wrapping");
      const tally = { deleted: 0, present: 0, shares: 0, madeToken: 0, refusedAfterDelete: 0 };

      for (let trial = 0; trial < TRIALS; trial++) {
        const session = trial % 2 === 1;
        const creator = owners[0]!;
        const created = await creator.importSymKey(randomBytes(32), { wrappingKey, label: `storm-${trial}`, session });
        const K = created.keyHandle;
        // Only the creating session sees a session key; a token key is worked on from all four sessions.
        const ownerSessions = session ? [creator] : owners;
        const deletes = random() < 0.5 ? 0 : random() < 0.5 ? 1 : 2; // DeleteKey calls in the storm
        const ops: Op[] = [];
        for (let i = 0; i < OPS; i++) {
          const r = random();
          if (i < deletes) ops.push({ kind: "delete", by: pick(ownerSessions) });
          else if (r < 0.6) {
            const userIds = sharees.filter(() => random() < 0.5).map((s) => s.id);
            ops.push({ kind: "share", by: pick(ownerSessions), userIds: userIds.length > 0 ? userIds : [pick(sharees).id], share: random() < 0.6 });
          } else if (r < 0.75) ops.push({ kind: "setToken", by: pick(ownerSessions) });
          else ops.push({ kind: "read", by: random() < 0.5 ? pick(ownerSessions) : pick(sharees).client });
        }
        // Shuffle so the deletions land anywhere in the storm.
        for (let i = ops.length - 1; i > 0; i--) {
          const j = Math.floor(random() * (i + 1));
          [ops[i], ops[j]] = [ops[j]!, ops[i]!];
        }
        const results = await Promise.all(ops.map((op) => run(op, K)));
        const context = `trial ${trial} (seed ${SEED}, ${session ? "session" : "token"} key ${K})`;

        // At most one deletion wins; whatever failed, failed only because the key was gone (or, for a sharee's read,
        // because the key was not shared with the reader at that moment).
        const deleted = results.filter((r) => r.op.kind === "delete" && r.ok);
        expect({ context, deletions: deleted.length }).toEqual({ context, deletions: Math.min(deletes, 1) });
        const deletedAt = deleted[0]?.revision;
        for (const r of results.filter((x) => !x.ok)) {
          expect({ context, op: r.op.kind, reason: r.error!.reason }).toEqual({ context, op: r.op.kind, reason: "KEY_NOT_FOUND" });
          if (r.op.kind !== "read") {
            expect(deletedAt).toBeDefined();
            tally.refusedAfterDelete += 1;
          }
        }
        // Every successful change happened before the deletion.
        for (const r of results.filter((x) => x.ok && (x.op.kind === "share" || x.op.kind === "setToken"))) {
          if (deletedAt !== undefined) expect(r.revision!).toBeLessThan(deletedAt);
        }
        const shares = results.filter((r) => r.op.kind === "share" && r.ok).sort((a, b) => a.revision! - b.revision!);
        const finalSharing = shares.length > 0 ? shares[shares.length - 1]!.sharedWith! : [];
        const madeToken = session && results.some((r) => r.op.kind === "setToken" && r.ok);
        const tokenNow = !session || madeToken;

        // Let the dust settle: a surviving token key reaches every node.
        if (deletedAt === undefined && tokenNow) await creator.waitForSync(created, "all");
        const settledAt = Number((await control.listNodes()).revision);
        const events = await eventsOf(creator, K, Number(created.revision), settledAt);

        // The watch stream tells the same story as the responses.
        expect(events[0]).toMatchObject({ type: SyncEventType.SYNC_EVENT_TYPE_KEY_CREATED, revision: created.revision, nodesHolding: 1 });
        const sharingEvents = events.filter((e) => e.type === SyncEventType.SYNC_EVENT_TYPE_SHARING_CHANGED).map((e) => Number(e.revision));
        expect({ context, sharingEvents }).toEqual({ context, sharingEvents: shares.map((s) => s.revision) });
        const tokenEvents = events.filter((e) => e.type === SyncEventType.SYNC_EVENT_TYPE_KEY_MADE_TOKEN).map((e) => Number(e.revision));
        expect({ context, tokenEvents: tokenEvents.length }).toEqual({ context, tokenEvents: madeToken ? 1 : 0 });
        if (madeToken) expect(results.filter((r) => r.op.kind === "setToken" && r.ok).map((r) => r.revision)).toContain(tokenEvents[0]);
        // Coverage moves one node at a time: +1 per KEY_REPLICATED, -1 per KEY_DELETED, and nothing follows a deletion.
        let holding = 0;
        let gone = false;
        for (const e of events) {
          expect({ context, afterDeletion: gone }).toEqual({ context, afterDeletion: false });
          if (e.type === SyncEventType.SYNC_EVENT_TYPE_KEY_CREATED) holding = 1;
          if (e.type === SyncEventType.SYNC_EVENT_TYPE_KEY_REPLICATED) holding += 1;
          if (e.type === SyncEventType.SYNC_EVENT_TYPE_KEY_DELETED) holding -= 1;
          expect({ context, revision: e.revision, holding: e.nodesHolding }).toEqual({ context, revision: e.revision, holding });
          if (e.type === SyncEventType.SYNC_EVENT_TYPE_KEY_DELETED && holding === 0) gone = true;
        }
        expect(events.some((e) => e.type === SyncEventType.SYNC_EVENT_TYPE_KEY_TOMBSTONED)).toBe(false);

        if (deletedAt !== undefined) {
          // Deleted everywhere: the last event is the last node's deletion, at the revision DeleteKey returned.
          tally.deleted += 1;
          expect({ context, gone, last: Number(events[events.length - 1]!.revision) }).toEqual({ context, gone: true, last: deletedAt });
          for (const c of [...owners, ...sharees.map((s) => s.client)]) {
            await expect(c.getKeyInfo(K)).rejects.toMatchObject({ reason: "KEY_NOT_FOUND" });
            expect(await c.findKey({ label: `storm-${trial}` })).toEqual([]);
          }
        } else {
          // Present on every node it should be on, with the sharing of the last successful ShareKey.
          tally.present += 1;
          const info = await creator.getKeyInfo(K);
          const nodeCount = tokenNow ? 3 : 1;
          expect({ context, holds: info.nodeStatuses.filter((n) => n.holdsKey).length, of: info.nodeStatuses.length, last: holding }).toEqual({
            context,
            holds: nodeCount,
            of: nodeCount,
            last: nodeCount,
          });
          expect({ context, sharing: info.sharedWithUserIds }).toEqual({ context, sharing: [...finalSharing].sort((a, b) => a - b) });
          const attrs = await creator.getAttribute(K, 1);
          expect({ context, token: attrs.attributes[0]!.value }).toEqual({ context, token: { $case: "boolValue", value: tokenNow } });
          for (const s of sharees) {
            // A session key stays in its session; a token key is visible to exactly the users it is shared with.
            const visible = tokenNow && finalSharing.includes(s.id);
            if (visible) expect((await s.client.getKeyInfo(K)).sharedWithUserIds).toEqual(info.sharedWithUserIds);
            else await expect(s.client.getKeyInfo(K)).rejects.toMatchObject({ reason: "KEY_NOT_FOUND" });
          }
        }
        tally.shares += shares.length;
        if (madeToken) tally.madeToken += 1;
      }

      process.stdout.write(
        `concurrency storms: ${TRIALS} trials x ${OPS} ops; ${tally.deleted} ended deleted, ${tally.present} present; ` +
          `${tally.shares} successful shares, ${tally.madeToken} session keys made token, ${tally.refusedAfterDelete} owner calls refused after deletion\n`,
      );
    });
  });
});

describe("watchers catching up", () => {
  // A watcher scanning a long backlog it may not see yields between batches, so other calls are not held up. Shown by
  // order, not by time: behind the backlog is one event mallory may see, and bob's call (sent after the 20 watches)
  // is answered before any watch has scanned far enough to deliver it. A scan that held the event loop would deliver
  // first.
  test("20 watches catching up on 99,000 events they cannot see do not stall another client's call", async () => {
    const t = await startTestDaemon();
    const raw = new grpc.Client(t.address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    try {
      const mallory = await t.loggedInCu("mallory");
      const from = t.daemon.cluster.events.currentRevision + 1;
      // Another user's sharing changes: 99,000 events in the ring that mallory's watches skip (written straight to the
      // cluster's event log: making them through the API would take minutes).
      for (let i = 0; i < 99; i++) {
        t.daemon.cluster.events.append(
          Array.from({ length: 1000 }, () => ({ kind: "SHARING_CHANGED" as const, handle: 999_999, nodeId: 0, nodesHolding: 3, nodeCount: 3, atMs: Date.now(), audience: { ownerId: 4242, sharedWith: [], sessionId: undefined } })),
        );
      }
      // Behind the backlog: mallory's own key, the first event her watches deliver.
      const visible = await mallory.createWrappingKey("behind-the-backlog");
      const bob = await t.loggedInCu("bob");
      const watch = method("HsmService", "WatchSyncStatus");
      // Progress at the daemon's default interval (5 s): nothing interrupts the scan.
      const body = watch.encode(watchRequest({ startRevision: from }));
      const identity = (b: Buffer): Buffer => b;
      const calls = Array.from({ length: 20 }, () => raw.makeServerStreamRequest(watch.path, identity, identity, body, bearerMetadata(tokenOf(mallory)), {}));
      let delivered = 0;
      const reachedEnd = calls.map(
        (call) =>
          new Promise<void>((resolve) => {
            call.on("data", (bytes: Buffer) => {
              const r = hsmProto.WatchSyncStatusResponse.decode(bytes);
              if (r.message?.$case === "event" && r.message.value.keyHandle === visible) {
                delivered += 1;
                resolve();
              }
            });
            call.on("error", () => resolve()).on("status", () => resolve());
          }),
      );
      // Bob's call, sent after the watches on the same connection, so the daemon reads it after them.
      const listUsers = method("HsmService", "ListHsmUsers");
      const answer = await rawCall(raw, listUsers.path, Buffer.alloc(0), bearerMetadata(tokenOf(bob)));
      const deliveredBeforeAnswer = delivered;
      // The watches do get there: the event behind the backlog reaches every one of them.
      await Promise.all(reachedEnd);
      const deliveredInAll = delivered;
      for (const call of calls) call.cancel();
      expect(answer.code).toBe(grpc.status.OK);
      expect({ deliveredBeforeAnswer, deliveredInAll }).toEqual({ deliveredBeforeAnswer: 0, deliveredInAll: 20 });
    } finally {
      raw.close();
      await t.close();
    }
  }, 60_000);
});
