// The Prometheus endpoint of an in-process daemon: CloudWatch-named gauges follow the cluster, per-RPC counters and latencies follow the calls.
import * as grpc from "@grpc/grpc-js";
import { ClusterControlClient, HsmClient, KEY_TYPE } from "../../clients";
import { USERS_QUOTA } from "../../src/hsm/clusterReadings";
import { FakeTime } from "../support/fakeTime";
import { perNode, parsePrometheusText, Sample, valueOf } from "../support/prometheusText";
import { startTestDaemon, TEST_ADMIN_SECRET, TestDaemon } from "../support/testDaemon";

async function scrape(t: TestDaemon): Promise<Sample[]> {
  const response = await fetch(t.metricsUrl!);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

const aes = (label: string, options: { session?: boolean } = {}) => ({ keyType: KEY_TYPE.AES, keySize: 32, label, ...options });

describe("metrics", () => {
  let t: TestDaemon;
  let control: ClusterControlClient;
  let time: FakeTime;

  beforeEach(async () => {
    time = new FakeTime();
    // The fake clock holds replication until a test advances it, so the backlog can be read.
    t = await startTestDaemon({ metrics: true, clock: time, timers: time });
    control = new ClusterControlClient(t.address, TEST_ADMIN_SECRET);
  });
  afterEach(async () => {
    control.close();
    await t.close();
  });

  test("an idle cluster: every node healthy and empty, the whole user quota available, no calls counted", async () => {
    const samples = await scrape(t);
    expect(perNode(samples, "cloudhsm_hsm_keys_token_occupied")).toEqual({ 0: 0, 1: 0, 2: 0 });
    expect(perNode(samples, "cloudhsm_hsm_keys_session_occupied")).toEqual({ 0: 0, 1: 0, 2: 0 });
    expect(perNode(samples, "cloudhsm_hsm_session_count")).toEqual({ 0: 0, 1: 0, 2: 0 });
    expect(perNode(samples, "cloudhsm_hsm_unhealthy")).toEqual({ 0: 0, 1: 0, 2: 0 });
    expect(perNode(samples, "localcloudhsm_replication_pending_keys")).toEqual({ 0: 0, 1: 0, 2: 0 });
    expect(perNode(samples, "localcloudhsm_replication_oldest_pending_seconds")).toEqual({ 0: 0, 1: 0, 2: 0 });
    expect(valueOf(samples, "cloudhsm_hsm_users_available")).toBe(USERS_QUOTA);
    expect(valueOf(samples, "cloudhsm_hsm_users_max")).toBe(USERS_QUOTA);
    expect(samples.filter((s) => s.name === "localcloudhsm_rpc_handled_total")).toEqual([]);
  });

  test("keys, sessions and users: token keys per node follow replication, session keys and sessions stay on their node", async () => {
    const alice = await t.loggedInCu("alice");
    let samples = await scrape(t);
    expect(valueOf(samples, "cloudhsm_hsm_users_available")).toBe(USERS_QUOTA - 1);
    const sessions = perNode(samples, "cloudhsm_hsm_session_count");
    expect(Object.values(sessions).sort()).toEqual([0, 0, 1]);
    const home = Object.keys(sessions).find((node) => sessions[node] === 1)!;

    // A session key: on the session's node only, never replicated.
    const sessionKey = await alice.genSymKey(aes("s", { session: true }));
    expect(sessionKey.nodeStatuses.map((n) => String(n.nodeId))).toEqual([home]);
    // A token key: created on the session's node, queued for the two others.
    await alice.genSymKey(aes("t"));
    time.jump(4_000);
    samples = await scrape(t);
    const others = ["0", "1", "2"].filter((n) => n !== home);
    expect(perNode(samples, "cloudhsm_hsm_keys_session_occupied")).toEqual({ 0: 0, 1: 0, 2: 0, [home]: 1 });
    expect(perNode(samples, "cloudhsm_hsm_keys_token_occupied")).toEqual({ [home]: 1, [others[0]!]: 0, [others[1]!]: 0 });
    expect(perNode(samples, "localcloudhsm_replication_pending_keys")).toEqual({ [home]: 0, [others[0]!]: 1, [others[1]!]: 1 });
    // Queued 4 s ago on the fake clock, whose timers have not fired.
    expect(perNode(samples, "localcloudhsm_replication_oldest_pending_seconds")).toEqual({ [home]: 0, [others[0]!]: 4, [others[1]!]: 4 });

    time.advance(0);
    samples = await scrape(t);
    expect(perNode(samples, "cloudhsm_hsm_keys_token_occupied")).toEqual({ 0: 1, 1: 1, 2: 1 });
    expect(perNode(samples, "localcloudhsm_replication_pending_keys")).toEqual({ 0: 0, 1: 0, 2: 0 });
    expect(perNode(samples, "localcloudhsm_replication_oldest_pending_seconds")).toEqual({ 0: 0, 1: 0, 2: 0 });

    // Logging out ends the session and its session key.
    await alice.logout();
    samples = await scrape(t);
    expect(perNode(samples, "cloudhsm_hsm_session_count")).toEqual({ 0: 0, 1: 0, 2: 0 });
    expect(perNode(samples, "cloudhsm_hsm_keys_session_occupied")).toEqual({ 0: 0, 1: 0, 2: 0 });
  });

  test("HsmUnhealthy is 1 for a node that is down, partitioned or tampered, and 0 again once it is up and genuine", async () => {
    await control.nodeDown(1);
    expect(perNode(await scrape(t), "cloudhsm_hsm_unhealthy")).toEqual({ 0: 0, 1: 1, 2: 0 });
    await control.partition(2);
    await control.setFirmwareTampered(0);
    expect(perNode(await scrape(t), "cloudhsm_hsm_unhealthy")).toEqual({ 0: 1, 1: 1, 2: 1 });
    await control.nodeUp(1);
    await control.nodeUp(2);
    await control.setFirmwareTampered(0, false);
    expect(perNode(await scrape(t), "cloudhsm_hsm_unhealthy")).toEqual({ 0: 0, 1: 0, 2: 0 });
  });

  test("every finished call is counted by method and status code, and unary calls are timed", async () => {
    const alice = await t.loggedInCu("alice");
    for (let i = 0; i < 3; i++) await alice.genSymKey(aes(`k${i}`));
    const missing = await alice.getAttribute(999_999, 371).then(
      () => undefined,
      (err: { code?: number }) => err.code,
    );
    expect(missing).toBe(grpc.status.NOT_FOUND);
    const samples = await scrape(t);
    expect(valueOf(samples, "localcloudhsm_rpc_handled_total", { method: "GenSymKey", code: "OK" })).toBe(3);
    expect(valueOf(samples, "localcloudhsm_rpc_handled_total", { method: "Login", code: "OK" })).toBe(1);
    expect(valueOf(samples, "localcloudhsm_rpc_handled_total", { method: "CreateUser", code: "OK" })).toBe(1);
    expect(valueOf(samples, "localcloudhsm_rpc_handled_total", { method: "GetAttribute", code: "NOT_FOUND" })).toBe(1);
    expect(valueOf(samples, "localcloudhsm_rpc_duration_seconds_count", { method: "GenSymKey" })).toBe(3);
    // The +Inf bucket holds every observation; the sum is a positive duration.
    expect(valueOf(samples, "localcloudhsm_rpc_duration_seconds_bucket", { method: "GenSymKey", le: "+Inf" })).toBe(3);
    expect(valueOf(samples, "localcloudhsm_rpc_duration_seconds_sum", { method: "GenSymKey" })).toBeGreaterThan(0);
    // The call log, written at the same point, still has its line per call.
    expect(t.logs.filter((line) => line.message === "call" && line.method === "GenSymKey" && line.status === "OK")).toHaveLength(3);
  });

  test("only GET or HEAD /metrics is served", async () => {
    const base = t.metricsUrl!.replace(/\/metrics$/, "");
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/x`)).status).toBe(404);
    const post = await fetch(t.metricsUrl!, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const head = await fetch(t.metricsUrl!, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });
});

describe("two daemons in one process", () => {
  test("keep separate metrics: a key and calls on one do not show on the other", async () => {
    const one = await startTestDaemon({ metrics: true });
    const two = await startTestDaemon({ metrics: true });
    let alice: HsmClient | undefined;
    try {
      alice = await one.loggedInCu("alice");
      await alice.genSymKey({ ...aes("k"), minSrv: 3 });
      const first = await scrape(one);
      const second = await scrape(two);
      expect(perNode(first, "cloudhsm_hsm_keys_token_occupied")).toEqual({ 0: 1, 1: 1, 2: 1 });
      expect(perNode(second, "cloudhsm_hsm_keys_token_occupied")).toEqual({ 0: 0, 1: 0, 2: 0 });
      expect(valueOf(first, "localcloudhsm_rpc_handled_total", { method: "GenSymKey", code: "OK" })).toBe(1);
      expect(valueOf(second, "localcloudhsm_rpc_handled_total", { method: "GenSymKey", code: "OK" })).toBeUndefined();
    } finally {
      await one.close();
      await two.close();
    }
    // Closed with its daemon.
    await expect(fetch(one.metricsUrl!)).rejects.toThrow();
  });
});
