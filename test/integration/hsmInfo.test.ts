// GetHsmInfo and GetLoginStatus over real gRPC: the nodes' fixed descriptions and live counts, the partition's
// counts, the caller's session, and the refusal without a session.
import * as grpc from "@grpc/grpc-js";
import { ClusterControlClient, HsmClient, KEY_TYPE, UserType } from "../../clients";
import { HSM_FIRMWARE_VERSION, HSM_MODEL, PARTITION_NAME } from "../../src/hsm/hsmInfo";
import { expectRpcError } from "../support/expectRpcError";
import { useDaemonFixture } from "../support/daemonFixture";
import { FakeTime } from "../support/fakeTime";
import { TestDaemon } from "../support/testDaemon";

const IDLE_MS = 60_000;
const LIFETIME_MS = 3_600_000;
const MAX_KEYS = 16_666;

let t: TestDaemon;
let alice: HsmClient;
let control: ClusterControlClient;
let time: FakeTime;
const fixture = useDaemonFixture();

beforeEach(async () => {
  // Replication without delay: the fake clock only moves when a test moves it.
  time = new FakeTime();
  ({ t, alice, control } = await fixture.start({ clock: time, timers: time, replicationDelayMs: 0, sessionLimits: { idleMs: IDLE_MS, maxLifetimeMs: LIFETIME_MS, perUser: 8 } }));
});

test("GetHsmInfo: one entry per node in id order, with the documented model, serials and firmware", async () => {
  const { hsms } = await alice.hsmInfo();
  expect(hsms.map((h) => [h.nodeId, h.model, h.serialNumber, h.firmwareVersion, h.available, h.fipsMode])).toEqual([
    [0, HSM_MODEL, "LCH-000001", HSM_FIRMWARE_VERSION, true, true],
    [1, HSM_MODEL, "LCH-000002", HSM_FIRMWARE_VERSION, true, true],
    [2, HSM_MODEL, "LCH-000003", HSM_FIRMWARE_VERSION, true, true],
  ]);
});

test("GetHsmInfo: keys held per node follow replication, a down node is unavailable, the partition counts keys, users and sessions", async () => {
  const token = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "info-token" });
  await alice.waitForSync(token, "all");
  const session = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "info-session", session: true });
  const sessionNode = session.nodeStatuses.map((n) => n.nodeId)[0]!;
  await control.nodeDown(2);

  const { hsms, partition } = await alice.hsmInfo();
  expect(hsms.map((h) => [h.nodeId, h.available, h.keysHeld])).toEqual(
    [0, 1, 2].map((n) => [n, n !== 2, 1 + (n === sessionNode ? 1 : 0)]),
  );
  const users = (await t.admin.listUsers()).users.length;
  expect(partition).toEqual({ name: PARTITION_NAME, maxKeys: MAX_KEYS, tokenKeys: 1, sessionKeys: 1, users, sessions: 1 });

  // Bob's login is one more session; alice's logout ends hers and takes her session key with it.
  const bob = await t.loggedInCu("bob");
  expect((await bob.hsmInfo()).partition).toMatchObject({ tokenKeys: 1, sessionKeys: 1, sessions: 2, users: users + 1 });
  await alice.logout();
  expect((await bob.hsmInfo()).partition).toMatchObject({ tokenKeys: 1, sessionKeys: 0, sessions: 1 });
  await bob.logout();
});

test("GetLoginStatus: the caller's user, role and node; expiry moves with use and stops at the session's lifetime", async () => {
  const loginAt = time.now();
  const status = await alice.loginStatus();
  expect(status).toMatchObject({ userId: alice.userId, username: "alice", userType: UserType.USER_TYPE_CU });
  expect(status.nodeId).toBeGreaterThanOrEqual(0);
  expect(status.nodeId).toBeLessThan(3);
  expect(status.expiresAt?.getTime()).toBe(loginAt + IDLE_MS);

  time.advance(IDLE_MS - 1);
  expect((await alice.loginStatus()).expiresAt?.getTime()).toBe(loginAt + 2 * IDLE_MS - 1);
  // Used just before each idle period ends, the session lives until less than an idle period of its lifetime is left:
  // from then on the absolute limit wins.
  let elapsed = IDLE_MS - 1;
  while (elapsed + IDLE_MS < LIFETIME_MS) {
    time.advance(IDLE_MS - 1);
    elapsed += IDLE_MS - 1;
    await alice.loginStatus();
  }
  expect((await alice.loginStatus()).expiresAt?.getTime()).toBe(loginAt + LIFETIME_MS);
});

test("without a session both are refused with UNAUTHENTICATED", async () => {
  const anonymous = t.client();
  await expectRpcError(anonymous.hsmInfo(), grpc.status.UNAUTHENTICATED, "UNAUTHENTICATED");
  await expectRpcError(anonymous.loginStatus(), grpc.status.UNAUTHENTICATED, "UNAUTHENTICATED");
});
