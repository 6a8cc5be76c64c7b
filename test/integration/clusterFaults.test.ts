// The cluster under scripted faults, over real gRPC: min_srv with a node down, recovery and catch-up, the watch stream.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ClusterControlClient, HsmClient, hsmProto } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { useDaemonFixture } from "../support/daemonFixture";

const { SyncEventType } = hsmProto;

describe("cluster faults", () => {
  let alice: HsmClient;
  let control: ClusterControlClient;
  let wrappingKey: number;
  const fixture = useDaemonFixture();

  beforeEach(async () => {
    ({ alice, control } = await fixture.start());
    wrappingKey = await alice.createWrappingKey();
  });

  test("a token key reaches every node, step by step, and waitForSync follows it", async () => {
    const created = await alice.importSymKey(randomBytes(32), { wrappingKey, label: "spread" });
    const synced = await alice.waitForSync(created, "all");
    expect({ holding: synced.nodesHolding, of: synced.nodeCount }).toEqual({ holding: 3, of: 3 });
    const types: number[] = [];
    const coverage: number[] = [];
    for await (const m of alice.watch({ startRevision: Number(created.revision), keyHandles: [created.keyHandle] })) {
      if (m.message?.$case !== "event") continue;
      types.push(m.message.value.type);
      coverage.push(m.message.value.nodesHolding);
      if (m.message.value.nodesHolding === 3) break;
    }
    expect(types).toEqual([SyncEventType.SYNC_EVENT_TYPE_KEY_CREATED, SyncEventType.SYNC_EVENT_TYPE_KEY_REPLICATED, SyncEventType.SYNC_EVENT_TYPE_KEY_REPLICATED]);
    expect(coverage).toEqual([1, 2, 3]);
  });

  test("node 2 down, min_srv 3 with timeout 1 s fails; after node 2 is up nothing of the key remains", async () => {
    await control.nodeDown(2);
    const before = await alice.findKey();
    const err = await expectRpcError(
      alice.importSymKey(randomBytes(32), { wrappingKey, label: "unmet", minSrv: 3, timeoutSeconds: 1 }),
      grpc.status.UNAVAILABLE,
      "MIN_SRV_UNMET",
    );
    expect({ required: err.metadata.required, reached: err.metadata.reached }).toEqual({ required: "3", reached: "2" });
    expect(err.metadata.node_states).toContain("2:0x30000085");
    const upRevision = await control.nodeUp(2);
    // Everything queued for node 2 before it came back is delivered; watch until the log is quiet at node 2.
    const nodes = await control.listNodes();
    expect(nodes.nodes.map((n) => n.pendingReplications)).toEqual([0, 0, nodes.nodes[2]!.pendingReplications]);
    expect(upRevision).toBeGreaterThan(0);
    expect(await alice.findKey()).toEqual(before);
    expect(await alice.findKey({ label: "unmet" })).toEqual([]);
  });

  test("a node that was down catches up with what it missed, visibly in the stream", async () => {
    await control.nodeDown(1);
    const created = await alice.importSymKey(randomBytes(16), { wrappingKey, label: "late", minSrv: 2 });
    const upAt = await control.nodeUp(1);
    const done = await alice.waitForSync(created, "all");
    expect(done.nodeId).toBe(1);
    expect(Number(done.revision)).toBeGreaterThan(upAt);
  });
});
