// Durability across a daemon restart in one process: token keys, users, sharing and lockout survive on the same data
// directory; session keys, sessions and page tokens do not; handles keep growing; no key material is on disk in plaintext.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ATTRIBUTE, HsmClient, hsmProto, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { aesKcv, des3Kcv } from "../support/kcv";
import { unaryWith } from "../support/rawGrpc";
import { StoreOpenError } from "../../src/hsm/store/sqliteStore";
import { startTestDaemon, TEST_PASSWORD, TestDaemon } from "../support/testDaemon";

const S = grpc.status;

describe("durability across a restart", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "lch-it-durable-"));
  const tokenBytes = randomBytes(32);
  const des3Bytes = randomBytes(24);
  const sessionBytes = randomBytes(16);
  const before = {} as {
    aliceId: number;
    bobId: number;
    wrappingKey: number;
    tokenKey: number;
    des3Key: number;
    sessionKey: number;
    allHandles: number[];
    dump: hsmProto.GetAttributeResponse;
    pageToken: string;
    sessionMetadata: grpc.Metadata;
  };
  let running: TestDaemon | undefined;

  const login = async (t: TestDaemon, name: string): Promise<HsmClient> => {
    const c = t.client();
    await c.login(name, TEST_PASSWORD);
    return c;
  };

  beforeAll(async () => {
    const first = await startTestDaemon({ dataDir });
    running = first;
    const alice = await first.loggedInCu("alice");
    const bob = await first.loggedInCu("bob");
    before.aliceId = alice.userId!;
    before.bobId = bob.userId!;
    before.wrappingKey = await alice.createWrappingKey();
    before.tokenKey = (await alice.importSymKey(tokenBytes, { wrappingKey: before.wrappingKey, label: "durable", id: "durable-id" })).keyHandle;
    before.des3Key = (
      await alice.importSymKey(des3Bytes, { wrappingKey: before.wrappingKey, keyType: KEY_TYPE.DES3, label: "durable-3des", shareWith: [before.bobId] })
    ).keyHandle;
    before.sessionKey = (
      await alice.importSymKey(sessionBytes, { wrappingKey: before.wrappingKey, label: "ephemeral", id: "session-id", session: true })
    ).keyHandle;
    before.allHandles = [before.wrappingKey, before.tokenKey, before.des3Key, before.sessionKey];
    expect(await alice.findKey()).toEqual([...before.allHandles].sort((a, b) => a - b));
    before.dump = await alice.getAttribute(before.tokenKey, ATTRIBUTE.ALL);
    const firstPage = await unaryWith(alice.raw.findKey.bind(alice.raw), { sharedWithUserIds: [], pageSize: 1, pageToken: "" }, alice.metadata());
    before.pageToken = firstPage.nextPageToken;
    expect(before.pageToken).not.toBe("");
    before.sessionMetadata = alice.metadata();

    await first.admin.createUser("victim", TEST_PASSWORD);
    for (let i = 0; i < 5; i++) await first.client().login("victim", "wrong-password").catch(() => undefined);

    running = undefined;
    await first.close();
  });

  afterAll(async () => {
    await running?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("the store files hold no key material in plaintext", () => {
    const files = ["store.sqlite", "store.sqlite-wal", "store.sqlite-shm"].map((f) => join(dataDir, f)).filter((p) => existsSync(p));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const content = readFileSync(file);
      for (const secret of [tokenBytes, des3Bytes, sessionBytes]) {
        expect(content.indexOf(secret)).toBe(-1);
        expect(content.indexOf(Buffer.from(secret.toString("hex")))).toBe(-1);
      }
    }
  });

  test("after the restart: token keys with the same KCV and attributes, no session key, handles keep growing", async () => {
    const second = await startTestDaemon({ dataDir });
    running = second;
    try {
      const alice = await login(second, "alice");
      expect(alice.userId).toBe(before.aliceId);

      expect(await alice.findKey()).toEqual([before.wrappingKey, before.tokenKey, before.des3Key]);
      expect(await alice.kcv(before.tokenKey)).toBe(aesKcv(tokenBytes));
      expect(await alice.kcv(before.des3Key)).toBe(des3Kcv(des3Bytes));
      expect(await alice.getAttribute(before.tokenKey, ATTRIBUTE.ALL)).toEqual(before.dump);

      await expectRpcError(alice.getAttribute(before.sessionKey, ATTRIBUTE.KCV), S.NOT_FOUND, "KEY_NOT_FOUND");
      expect(await alice.findKey({ session: true })).toEqual([]);

      // The restored wrapping key still unwraps, and a new key's handle is above every handle handed out before.
      const fresh = (await alice.importSymKey(randomBytes(32), { wrappingKey: before.wrappingKey, label: "after-restart" })).keyHandle;
      expect(fresh).toBeGreaterThan(Math.max(...before.allHandles));
      const generated = (await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "gen-after-restart" })).keyHandle;
      expect(generated).toBeGreaterThan(fresh);
    } finally {
      running = undefined;
      await second.close();
    }
  });

  test("after the restart: id uniqueness, sharing and lockout persist; the session key's id is free again", async () => {
    const again = await startTestDaemon({ dataDir });
    running = again;
    try {
      const alice = await login(again, "alice");
      const bob = await login(again, "bob");
      await expectRpcError(
        alice.importSymKey(randomBytes(32), { wrappingKey: before.wrappingKey, label: "dup", id: "durable-id" }),
        S.ALREADY_EXISTS,
        "ID_ALREADY_EXISTS",
      );
      await expect(alice.importSymKey(randomBytes(32), { wrappingKey: before.wrappingKey, label: "reuse", id: "session-id" })).resolves.toBeDefined();
      expect(await bob.findKey({ label: "durable-3des" })).toEqual([before.des3Key]);
      expect(await bob.findKey({ label: "durable" })).toEqual([]);
      // Still locked after the restart: the right password is refused like a wrong one.
      await expectRpcError(again.client().login("victim", TEST_PASSWORD), S.UNAUTHENTICATED, "LOGIN_FAILED");
      expect((await again.admin.listUsers()).users.find((u) => u.username === "victim")).toMatchObject({ locked: true });
    } finally {
      running = undefined;
      await again.close();
    }
  });

  test("after the restart: the old session token and page token are refused", async () => {
    const third = await startTestDaemon({ dataDir });
    running = third;
    try {
      const probe = third.client();
      await expectRpcError(
        unaryWith(probe.raw.findKey.bind(probe.raw), { sharedWithUserIds: [], pageSize: 0, pageToken: "" }, before.sessionMetadata),
        S.UNAUTHENTICATED,
        "UNAUTHENTICATED",
      );
      const alice = await login(third, "alice");
      await expectRpcError(
        unaryWith(alice.raw.findKey.bind(alice.raw), { sharedWithUserIds: [], pageSize: 1, pageToken: before.pageToken }, alice.metadata()),
        S.INVALID_ARGUMENT,
        "PAGE_TOKEN_INVALID",
      );
    } finally {
      running = undefined;
      await third.close();
    }
  });

  test("a different master key is refused at start", async () => {
    await expect(startTestDaemon({ dataDir, masterKey: Buffer.alloc(32, 9) })).rejects.toBeInstanceOf(StoreOpenError);
  });
});
