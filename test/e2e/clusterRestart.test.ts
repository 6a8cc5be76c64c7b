// The cluster across a kill -9 of the daemon process: which node holds which key survives and replication of
// what was missing resumes after the restart; a key whose call was still waiting for min_srv is gone afterwards,
// with nothing of it left (visible tombstones, free id, counts), also after a further restart.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ATTRIBUTE, ClusterControlClient, HsmClient, HsmClientError, KEY_TYPE } from "../../clients";
import { holders, T, watchFromNow } from "../support/clusterScript";
import { expectRpcError } from "../support/expectRpcError";
import { WatchRecorder } from "../support/watchRecorder";
import { childEnv, DaemonProcess, standardArgs } from "./support/daemonProcess";
import { devCuClient, freshDataDir, useDaemonCleanup } from "./support/e2eFixture";

const SECRET = "e2e-cluster-admin-secret-0123456789";
const ENV = childEnv({ LOCALCLOUDHSM_ADMIN_SECRET: SECRET });

const watches: WatchRecorder[] = [];
afterEach(() => {
  for (const w of watches.splice(0)) w.call.cancel();
});
const closer = useDaemonCleanup();

async function connect(daemon: DaemonProcess): Promise<{ hsm: HsmClient; control: ClusterControlClient }> {
  const hsm = await devCuClient(closer, daemon);
  return { hsm, control: closer.add(new ClusterControlClient(daemon.address, SECRET)) };
}

/** The compaction point of a freshly started daemon, from the refusal of a watch at revision 1. */
async function compactRevision(hsm: HsmClient): Promise<number> {
  const w = WatchRecorder.open(hsm, { startRevision: 1 });
  const end = await w.ended;
  expect({ code: end.error && grpc.status[end.error.code], reason: end.error?.reason }).toEqual({ code: "OUT_OF_RANGE", reason: "WATCH_COMPACTED" });
  return Number(end.error!.metadata.compact_revision);
}

function watch(hsm: HsmClient, startRevision: number): WatchRecorder {
  const w = WatchRecorder.open(hsm, { startRevision });
  watches.push(w);
  return w;
}

test("kill -9 in the middle of replication: placement survives, and after the restart every key reaches every node", async () => {
  const dataDir = freshDataDir();
  const first = await DaemonProcess.start(standardArgs(dataDir), ENV);
  const { hsm, control } = await connect(first);
  const wrapping = await hsm.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "wrapping-key" });
  await hsm.waitForSync(wrapping, "all");
  const origin = holders(wrapping)[0]!;
  const [fast, slow] = [0, 1, 2].filter((n) => n !== origin) as [number, number];

  // Keys A reach the origin and the fast node; the slow node would take ten minutes.
  await control.setReplicationDelay(slow, 600_000);
  const a = [];
  for (let i = 0; i < 3; i++) {
    const created = await hsm.importSymKey(randomBytes(32), { wrappingKey: wrapping.keyHandle, label: `a-${i}` });
    await hsm.waitForSync(created, 2);
    a.push(created);
  }
  // Keys B stay on the origin: replication is paused.
  await control.pauseReplication();
  const b = [];
  for (let i = 0; i < 3; i++) b.push(await hsm.importSymKey(randomBytes(16), { wrappingKey: wrapping.keyHandle, label: `b-${i}` }));
  const before = await control.listNodes();
  const counts = before.nodes.map((n) => n.keyCount);
  const pending = before.nodes.map((n) => n.pendingReplications);
  expect([counts[origin], counts[fast], counts[slow]]).toEqual([7, 4, 1]);
  expect([pending[origin], pending[fast], pending[slow]]).toEqual([0, 3, 6]);

  first.signal("SIGKILL");
  expect((await first.exited).signal).toBe("SIGKILL");

  // Restarted with every node slow, so the placement can be read before anything moves.
  const second = await DaemonProcess.start(standardArgs(dataDir, ["--replication-delay-ms", "600000"]), ENV);
  expect(second.logs.find((l) => l.message === "local-cloudhsm serving")).toMatchObject({ keys: 7 });
  const { hsm: hsm2, control: control2 } = await connect(second);
  const after = await control2.listNodes();
  expect(after.nodes.map((n) => n.keyCount)).toEqual(counts);
  expect(after.nodes.map((n) => n.pendingReplications)).toEqual(pending);
  // Pause and delays are run-time settings; the restart starts from the configuration.
  expect(after.replicationPaused).toBe(false);
  expect(after.nodes.map((n) => n.replicationDelayMs)).toEqual([600_000, 600_000, 600_000]);

  // Events from before the restart are compacted; everything after it can be watched.
  const compact = await compactRevision(hsm2);
  expect(compact).toBeGreaterThanOrEqual(Number(b[2]!.revision));
  const w = watch(hsm2, compact + 1);
  await control2.pauseReplication();
  await control2.pauseReplication(false);
  for (const n of [0, 1, 2]) await control2.setReplicationDelay(n, 0);
  const all = [...a, ...b];
  await w.until(() => all.every((k) => w.events.some((e) => e.keyHandle === k.keyHandle && e.nodesHolding === 3)), "every key on every node");
  // The slow node received A and B, the fast one B, each in creation order, and nothing twice.
  const received = (node: number) => w.events.filter((e) => e.type === T.SYNC_EVENT_TYPE_KEY_REPLICATED && e.nodeId === node).map((e) => e.keyHandle);
  expect(received(slow)).toEqual(all.map((k) => k.keyHandle));
  expect(received(fast)).toEqual(b.map((k) => k.keyHandle));
  expect(received(origin)).toEqual([]);
  const final = await control2.listNodes();
  expect(final.nodes.map((n) => [n.keyCount, n.pendingReplications])).toEqual([
    [7, 0],
    [7, 0],
    [7, 0],
  ]);
  expect(await hsm2.findKey()).toEqual([wrapping.keyHandle, ...all.map((k) => k.keyHandle)]);
});

test("a key whose min_srv 3 call was still waiting at kill -9 is gone after the restart, and stays gone", async () => {
  const dataDir = freshDataDir();
  const first = await DaemonProcess.start(standardArgs(dataDir), ENV);
  const { hsm, control } = await connect(first);
  const wrapping = await hsm.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "wrapping-key" });
  await hsm.waitForSync(wrapping, "all");
  await control.nodeDown(2);
  const { watch: w } = await watchFromNow(hsm);
  watches.push(w);
  const call = hsm.importSymKey(randomBytes(32), { wrappingKey: wrapping.keyHandle, label: "in-flight", id: "in-flight-id", minSrv: 3 }).then(
    () => undefined,
    (err: unknown) => err,
  );
  const created = await w.untilEvent((e) => e.type === T.SYNC_EVENT_TYPE_KEY_CREATED, "KEY_CREATED");
  await w.untilEvent((e) => e.keyHandle === created.keyHandle && e.nodesHolding === 2, "the key on two nodes");
  first.signal("SIGKILL");
  await first.exited;
  // The call never got an answer from the daemon; the connection just went away.
  const outcome = await call;
  expect(outcome).toBeInstanceOf(HsmClientError);
  expect(grpc.status[(outcome as HsmClientError).code]).toBe("UNAVAILABLE");

  const second = await DaemonProcess.start(standardArgs(dataDir), ENV);
  expect(second.logs.find((l) => l.message === "local-cloudhsm serving")).toMatchObject({ keys: 1 });
  const { hsm: hsm2, control: control2 } = await connect(second);
  expect(await hsm2.findKey()).toEqual([wrapping.keyHandle]);
  expect(await hsm2.findKey({ label: "in-flight" })).toEqual([]);
  await expectRpcError(hsm2.getAttribute(created.keyHandle, ATTRIBUTE.KCV), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");
  const listed = await control2.listNodes();
  expect(listed.nodes.map((n) => [n.keyCount, n.pendingReplications])).toEqual([
    [1, 0],
    [1, 0],
    [1, 0],
  ]);
  // The tombstoning at start is in the new log, on both nodes that had the key.
  const compact = await compactRevision(hsm2);
  const tombstones = watch(hsm2, compact + 1);
  await tombstones.untilEvent((e) => e.keyHandle === created.keyHandle && e.nodesHolding === 0, "the last tombstone");
  expect(tombstones.events.filter((e) => e.keyHandle === created.keyHandle).map((e) => [e.type, e.nodesHolding])).toEqual([
    [T.SYNC_EVENT_TYPE_KEY_TOMBSTONED, 1],
    [T.SYNC_EVENT_TYPE_KEY_TOMBSTONED, 0],
  ]);
  // Its id is free and its handle is never handed out again.
  const reused = await hsm2.importSymKey(randomBytes(16), { wrappingKey: wrapping.keyHandle, label: "in-flight", id: "in-flight-id" });
  expect(reused.keyHandle).toBeGreaterThan(created.keyHandle);
  await hsm2.waitForSync(reused, "all");

  // A further (clean) restart changes nothing.
  hsm2.close();
  control2.close();
  expect((await second.stop("SIGTERM")).code).toBe(0);
  const third = await DaemonProcess.start(standardArgs(dataDir), ENV);
  expect(third.logs.find((l) => l.message === "local-cloudhsm serving")).toMatchObject({ keys: 2 });
  const { hsm: hsm3, control: control3 } = await connect(third);
  expect(await hsm3.findKey({ label: "in-flight" })).toEqual([reused.keyHandle]);
  expect((await control3.listNodes()).nodes.map((n) => n.keyCount)).toEqual([2, 2, 2]);
});
