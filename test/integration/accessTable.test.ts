// Who may call what, as one table over EVERY RPC: HsmService with no token, an expired token, a logged-out token, a
// made-up token and the admin secret instead of a token (all UNAUTHENTICATED, 0x90); another crypto user's token (the
// owner's key answers exactly like a key that does not exist); a crypto officer's token (every key RPC is
// PERMISSION_DENIED INVALID_USER_TYPE, 0xdb). AdminService and ClusterControlService refuse every method without
// their secret (UNAUTHENTICATED ADMIN_SECRET_INVALID, 0x104) and change nothing.
//
// Time is a FakeTime: the expiring session expires when the test moves the clock, observed through the KEY_DELETED
// event of its session key on its own watch stream, never by sleeping.
import * as grpc from "@grpc/grpc-js";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { ClusterControlClient, HsmClient, hsmProto, KEY_TYPE, UserType } from "../../clients";
import { FakeTime } from "../support/fakeTime";
import { bearerMetadata, metadataOf, RawOutcome, rawCall, rawStream, tokenOf } from "../support/rawCall";
import { ADMIN_METHODS, CONTROL_METHODS, HSM_METHODS, method, MethodInfo } from "../support/serviceMethods";
import { startTestDaemon, TEST_ADMIN_SECRET, TEST_PASSWORD, TestDaemon } from "../support/testDaemon";
import { HSM_TABLE, shape, SIGNED, verdict, watchFrom, World } from "./accessTable/rows";

const S = grpc.status;
const { SyncEventType, WatchSyncStatusResponse } = hsmProto;
const IDLE_MS = 60_000;
const SESSION_LIMITS = { idleMs: IDLE_MS, maxLifetimeMs: 24 * 3_600_000, perUser: 64 };

describe("access table", () => {
  let t: TestDaemon;
  const time = new FakeTime();
  let raw: grpc.Client;
  let control: ClusterControlClient;
  let alice: HsmClient;
  let bob: HsmClient;
  let co: HsmClient;
  let w: World;
  let expiredToken: string;
  let loggedOutToken: string;

  /** Calls a method; a stream is read until its first message (or until `until`), a unary call to its answer. */
  function invoke(m: MethodInfo, request: object, md: grpc.Metadata, until?: (messages: readonly Buffer[]) => boolean): Promise<RawOutcome> {
    const body = m.encode(request);
    return m.responseStream ? rawStream(raw, m.path, body, md, { until: until ?? ((msgs) => msgs.length >= 1) }) : rawCall(raw, m.path, body, md);
  }

  async function login(username: string, userType = UserType.USER_TYPE_CU): Promise<HsmClient> {
    const c = t.client();
    await c.login(username, TEST_PASSWORD, userType);
    return c;
  }

  beforeAll(async () => {
    t = await startTestDaemon({ clock: time, timers: time, sessionLimits: SESSION_LIMITS });
    raw = new grpc.Client(t.address, grpc.credentials.createInsecure());
    control = new ClusterControlClient(t.address, TEST_ADMIN_SECRET);
    for (const name of ["alice", "bob", "carol", "eve", "lou"]) await t.admin.createUser(name, TEST_PASSWORD);
    await t.admin.createUser("officer", TEST_PASSWORD, UserType.USER_TYPE_CO);

    // Eve's session expires: its whole lifetime of fake time passes (an open watch keeps a session from idling out).
    // Her session key vanishes with it (KEY_DELETED), the last event her own watch stream delivers before it ends.
    const eve = await login("eve");
    expiredToken = tokenOf(eve);
    const eveKey = await eve.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "eve-session", session: true });
    const seen: number[] = [];
    for await (const m of eve.watch({ startRevision: Number(eveKey.revision), keyHandles: [eveKey.keyHandle] })) {
      if (m.message?.$case !== "event") continue;
      seen.push(m.message.value.type);
      if (m.message.value.type === SyncEventType.SYNC_EVENT_TYPE_KEY_CREATED) time.advance(SESSION_LIMITS.maxLifetimeMs);
      if (m.message.value.type === SyncEventType.SYNC_EVENT_TYPE_KEY_DELETED) break;
    }
    expect(seen).toEqual([SyncEventType.SYNC_EVENT_TYPE_KEY_CREATED, SyncEventType.SYNC_EVENT_TYPE_KEY_DELETED]);
    // The clock does not move again, so every session opened from here on stays alive.

    alice = await login("alice");
    bob = await login("bob");
    co = await login("officer", UserType.USER_TYPE_CO);
    const lou = await login("lou");
    loggedOutToken = tokenOf(lou);
    await lou.logout();

    const users = (await t.admin.listUsers()).users;
    const id = (name: string): number => users.find((u) => u.username === name)!.userId;
    const W = await alice.createWrappingKey("alice-wrapping");
    const material = randomBytes(32);
    const imported = await alice.importSymKey(material, { wrappingKey: W, label: "alice-secret", id: "alice-secret-id" });
    const HM = (await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 32, label: "alice-hmac" })).keyHandle;
    const BW = await bob.createWrappingKey("bob-wrapping");
    const BK = (await bob.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "bob-key" })).keyHandle;
    const pair = await alice.generateKeyPair({ keyType: KEY_TYPE.EC, curve: hsmProto.EcCurve.EC_CURVE_P256, label: "alice-pair" });
    const outside = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    w = {
      aliceId: id("alice"),
      bobId: id("bob"),
      carolId: id("carol"),
      W,
      K: imported.keyHandle,
      KLabel: "alice-secret",
      KId: "alice-secret-id",
      Kkcv: Buffer.from(((await alice.getAttribute(imported.keyHandle, 371)).attributes[0]!.value as { value: Buffer }).value),
      blob: Buffer.from((await alice.wrapKey(imported.keyHandle, W)).wrappedKey),
      BW,
      BK,
      HM,
      missing: 0x7fff_0000,
      kRevision: Number(imported.revision),
      P: pair.publicKeyHandle,
      Q: pair.privateKeyHandle,
      sig: await alice.sign(pair.privateKeyHandle, SIGNED, { mechanism: hsmProto.SignMechanism.SIGN_MECHANISM_ECDSA, hash: hsmProto.HashAlgorithm.HASH_ALGORITHM_SHA256 }),
      publicPem: outside.publicKey.export({ format: "pem", type: "spki" }).toString(),
      privatePem: outside.privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    };
    // A marker event bob can see, after every event of alice's key, so watches can be compared up to it.
    await bob.shareKey(BK, [w.carolId]);
  });

  afterAll(async () => {
    raw?.close();
    control?.close();
    await t?.close();
  });

  test("the table has a row for every HsmService RPC", () => {
    expect(Object.keys(HSM_TABLE).sort()).toEqual(HSM_METHODS.map((m) => m.name).sort());
  });

  describe("HsmService without a valid session: UNAUTHENTICATED (0x90) before anything else, Login excepted", () => {
    const columns: [string, () => grpc.Metadata][] = [
      ["no token", () => new grpc.Metadata()],
      ["an expired token", () => bearerMetadata(expiredToken)],
      ["a logged-out token", () => bearerMetadata(loggedOutToken)],
      ["a made-up token", () => bearerMetadata(randomBytes(32).toString("base64url"))],
      ["the admin secret instead of a token", () => metadataOf({ "x-admin-secret": TEST_ADMIN_SECRET })],
      ["a token without the Bearer scheme", () => metadataOf({ authorization: tokenOf(alice) })],
    ];
    test.each(columns)("%s", async (column, md) => {
      // An expired token is told so on every RPC (its session was swept before the first of these calls).
      const refusal = column === "an expired token" ? "UNAUTHENTICATED SESSION_EXPIRED 0x90" : "UNAUTHENTICATED UNAUTHENTICATED 0x90";
      const actual: Record<string, string> = {};
      const expected: Record<string, string> = {};
      for (const m of HSM_METHODS) {
        actual[m.name] = verdict(await invoke(m, HSM_TABLE[m.name]!.request(w), md()));
        expected[m.name] = m.name === "Login" ? "OK" : refusal;
      }
      expect(actual).toEqual(expected);
    });
  });

  test("another crypto user's token: alice's key answers exactly like a missing key (code, reason, message, metadata)", async () => {
    const bobMd = bearerMetadata(tokenOf(bob));
    const before = { attributes: await alice.getAttribute(w.K, 512), info: await alice.getKeyInfo(w.K) };
    let compared = 0;
    for (const m of HSM_METHODS) {
      const row = HSM_TABLE[m.name]!;
      if (!row.foreign) continue;
      for (const [mine, missing] of row.foreign) {
        // A watch is read up to bob's marker event, the newest event he can see.
        const marker = (msgs: readonly Buffer[]): boolean =>
          msgs.some((b) => {
            const r = WatchSyncStatusResponse.decode(b);
            return r.message?.$case === "event" && r.message.value.type === SyncEventType.SYNC_EVENT_TYPE_SHARING_CHANGED && r.message.value.keyHandle === w.BK;
          });
        const a = shape(m, await invoke(m, mine(w), bobMd, marker), [w.K, w.W, w.P, w.Q, w.missing]);
        const b = shape(m, await invoke(m, missing(w), bobMd, marker), [w.K, w.W, w.P, w.Q, w.missing]);
        expect({ method: m.name, ...(a as object) }).toEqual({ method: m.name, ...(b as object) });
        compared += 1;
      }
    }
    // Every pair of the table was compared (a count from the table, so rows added later count too).
    expect(compared).toBe(Object.values(HSM_TABLE).reduce((n, row) => n + (row.foreign?.length ?? 0), 0));
    // Nothing bob tried changed alice's key.
    expect({ attributes: await alice.getAttribute(w.K, 512), info: await alice.getKeyInfo(w.K) }).toEqual(before);
    // Control: alice herself sees the key (so the sameness above is invisibility, not breakage).
    expect(await alice.findKey({ label: w.KLabel })).toEqual([w.K]);
  });

  test("another crypto user's token: the RPCs that name no key simply work", async () => {
    const actual: Record<string, string> = {};
    for (const m of HSM_METHODS.filter((m) => !HSM_TABLE[m.name]!.foreign)) {
      // Logout ends the session it names: use a session of bob's own that the test can spare.
      const md = bearerMetadata(m.name === "Logout" ? tokenOf(await login("bob")) : tokenOf(bob));
      actual[m.name] = verdict(await invoke(m, HSM_TABLE[m.name]!.request(w), md));
    }
    // Except the crypto officer's changePswd.
    expect(actual).toEqual({
      Login: "OK",
      Logout: "OK",
      GenSymKey: "OK",
      GenerateKeyPair: "OK",
      ImportPublicKey: "OK",
      ListHsmUsers: "OK",
      GetAttestationKeys: "OK",
      ChangeUserPassword: "PERMISSION_DENIED INVALID_USER_TYPE 0xdb",
    });
  });

  test("a crypto officer's token: every key RPC is PERMISSION_DENIED INVALID_USER_TYPE (0xdb); the rest work", async () => {
    const before = { attributes: await alice.getAttribute(w.K, 512), info: await alice.getKeyInfo(w.K), keys: t.daemon.cluster.keyCount };
    const actual: Record<string, string> = {};
    const expected: Record<string, string> = {};
    const watch = method("HsmService", "WatchSyncStatus");
    for (const m of HSM_METHODS) {
      const row = HSM_TABLE[m.name]!;
      expected[m.name] = row.keyRpc ? "PERMISSION_DENIED INVALID_USER_TYPE 0xdb" : "OK";
      if (m === watch) continue;
      const md = bearerMetadata(m.name === "Logout" ? tokenOf(await login("officer", UserType.USER_TYPE_CO)) : tokenOf(co));
      actual[m.name] = verdict(await invoke(m, row.request(w), md));
    }
    // The officer's watch is accepted and carries node events only: alice's sharing change (made first) is not
    // delivered, the node event after it is.
    const from = Number((await control.listNodes()).revision) + 1;
    await alice.shareKey(w.K, [w.carolId]);
    await control.setFirmwareTampered(0, true);
    await control.setFirmwareTampered(0, false);
    const watched = await invoke(watch, watchFrom(from, []), bearerMetadata(tokenOf(co)));
    actual[watch.name] = verdict(watched.cancelledHere ? { ...watched, code: S.OK } : watched);
    const first = WatchSyncStatusResponse.decode(watched.messages[0]!);
    expect(first.message?.$case === "event" && first.message.value.type).toBe(SyncEventType.SYNC_EVENT_TYPE_NODE_FIRMWARE_CHANGED);
    await alice.shareKey(w.K, [w.carolId], false);

    expect(actual).toEqual(expected);
    const info = await alice.getKeyInfo(w.K);
    expect({ attributes: await alice.getAttribute(w.K, 512), info, keys: t.daemon.cluster.keyCount }).toEqual(before);
  });

  describe("AdminService and ClusterControlService without their secret: UNAUTHENTICATED ADMIN_SECRET_INVALID (0x104)", () => {
    const requests: Record<string, object> = {
      CreateUser: { userType: UserType.USER_TYPE_CU, username: "sneaky", password: TEST_PASSWORD },
      ListUsers: {},
      UnlockUser: { username: "carol", newPassword: "" },
      ListNodes: {},
      SetNodeState: { nodeId: 0, state: 2 },
      SetReplicationDelay: { nodeId: 0, delayMs: 5000 },
      SetReplicationPaused: { paused: true },
      SetFirmwareTampered: { nodeId: 0, tampered: true },
    };
    const columns: [string, () => grpc.Metadata][] = [
      ["no secret", () => new grpc.Metadata()],
      ["a wrong secret", () => metadataOf({ "x-admin-secret": "not-the-admin-secret-0123456789" })],
      ["the secret with one character changed", () => metadataOf({ "x-admin-secret": TEST_ADMIN_SECRET.slice(0, -1) + "X" })],
      ["the secret as a prefix", () => metadataOf({ "x-admin-secret": TEST_ADMIN_SECRET.slice(0, 8) })],
      ["a crypto user's session token", () => bearerMetadata(tokenOf(alice))],
      ["the secret as a bearer token", () => bearerMetadata(TEST_ADMIN_SECRET)],
    ];

    test("the table has a request for every method", () => {
      expect(Object.keys(requests).sort()).toEqual([...ADMIN_METHODS, ...CONTROL_METHODS].map((m) => m.name).sort());
    });

    test.each(columns)("%s", async (_column, md) => {
      const nodesBefore = await control.listNodes();
      const usersBefore = await t.admin.listUsers();
      const actual: Record<string, string> = {};
      const expected: Record<string, string> = {};
      for (const m of [...ADMIN_METHODS, ...CONTROL_METHODS]) {
        actual[`${m.service}/${m.name}`] = verdict(await invoke(m, requests[m.name]!, md()));
        expected[`${m.service}/${m.name}`] = "UNAUTHENTICATED ADMIN_SECRET_INVALID 0x104";
      }
      expect(actual).toEqual(expected);
      expect(await control.listNodes()).toEqual(nodesBefore);
      expect(await t.admin.listUsers()).toEqual(usersBefore);
    });
  });
});

describe("an expired session's token", () => {
  // Regression: the first call after a session's idle time used to be refused SESSION_EXPIRED while every later call
  // (and every call after the background sweep) got UNAUTHENTICATED, so the reason depended on timing.
  test("is refused SESSION_EXPIRED on every call, whether or not the expiry sweep has run", async () => {
    const time = new FakeTime();
    const t = await startTestDaemon({ clock: time, timers: time, sessionLimits: SESSION_LIMITS });
    const raw = new grpc.Client(t.address, grpc.credentials.createInsecure());
    try {
      const fay = await t.loggedInCu("fay");
      const md = bearerMetadata(tokenOf(fay));
      const getKeyInfo = method("HsmService", "GetKeyInfo");
      const call = async (): Promise<string> => verdict(await rawCall(raw, getKeyInfo.path, getKeyInfo.encode({ keyHandle: 6 }), md));
      time.jump(IDLE_MS); // expired, the sweep has not run yet
      const first = await call();
      const second = await call();
      time.advance(1); // the sweep runs
      const afterSweep = await call();
      expect({ first, second, afterSweep }).toEqual({
        first: "UNAUTHENTICATED SESSION_EXPIRED 0x90",
        second: "UNAUTHENTICATED SESSION_EXPIRED 0x90",
        afterSweep: "UNAUTHENTICATED SESSION_EXPIRED 0x90",
      });
    } finally {
      raw.close();
      await t.close();
    }
  });
});
