// The daemon's call log over real gRPC: one "call" line per call with its fields, and no secret in any line.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ATTRIBUTE, HsmClient, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { startTestDaemon, TEST_PASSWORD, TestDaemon } from "../support/testDaemon";

const S = grpc.status;

/** Lets the logger's stream pipeline deliver what was already written (no timers: a few turns of the event loop). */
async function drainLogs(t: TestDaemon, expectedCallLines: number): Promise<Record<string, unknown>[]> {
  const callLines = () => t.logs.filter((l) => l.message === "call");
  for (let i = 0; i < 50 && callLines().length < expectedCallLines; i++) await new Promise((resolve) => setImmediate(resolve));
  return callLines();
}

/** Every way a byte string could be written into a text log. */
function renderings(bytes: Buffer): string[] {
  return [bytes.toString("hex"), bytes.toString("hex").toUpperCase(), bytes.toString("base64"), bytes.toString("base64url")];
}

describe("call logging", () => {
  let t: TestDaemon;

  beforeAll(async () => {
    t = await startTestDaemon();
  });
  afterAll(() => t.close());

  test("one call line per call, with method, status, duration_ms, user_id, key_handle and reason where they apply; no key bytes anywhere", async () => {
    const plain = randomBytes(32);
    const refusedPlain = randomBytes(15);
    const wkPlain = randomBytes(32);
    const viaWk = randomBytes(24);

    const aliceId = (await t.admin.createUser("alice", TEST_PASSWORD)).user!.userId;
    const alice: HsmClient = t.client();
    await alice.login("alice", TEST_PASSWORD);
    const token = alice.metadata().get("authorization")[0] as string;
    const wrappingKey = await alice.createWrappingKey();
    const imported = (await alice.importSymKey(plain, { wrappingKey, label: "logged" })).keyHandle;
    await alice.kcv(imported);
    await alice.findKey({ label: "logged" });
    await expectRpcError(alice.getAttribute(999_999, ATTRIBUTE.KCV), S.NOT_FOUND, "KEY_NOT_FOUND");
    await expectRpcError(alice.importSymKey(refusedPlain, { wrappingKey, label: "refused" }), S.INVALID_ARGUMENT, "KEY_LENGTH_INVALID");
    const wk = (await alice.importSymKey(wkPlain, { wrappingKey, label: "wk" })).keyHandle;
    const viaWkHandle = (await alice.importSymKey(viaWk, { wrappingKey: wk, hostWrappingKey: wkPlain, keyType: KEY_TYPE.DES3, label: "via-wk" })).keyHandle;
    await expectRpcError(t.client().findKey(), S.UNAUTHENTICATED, "UNAUTHENTICATED");
    await expectRpcError(t.client().login("alice", "wrong-password"), S.UNAUTHENTICATED, "LOGIN_FAILED");
    await alice.logout();

    const expected = [
      { method: "CreateUser", status: "OK", user_id: aliceId },
      { method: "Login", status: "OK", user_id: aliceId },
      { method: "GenSymKey", status: "OK", user_id: aliceId, key_handle: wrappingKey },
      { method: "ImportSymKey", status: "OK", user_id: aliceId, key_handle: imported },
      { method: "GetAttribute", status: "OK", user_id: aliceId, key_handle: imported },
      { method: "FindKey", status: "OK", user_id: aliceId },
      { method: "GetAttribute", status: "NOT_FOUND", user_id: aliceId, key_handle: 999_999, reason: "KEY_NOT_FOUND" },
      { method: "ImportSymKey", status: "INVALID_ARGUMENT", user_id: aliceId, reason: "KEY_LENGTH_INVALID" },
      { method: "ImportSymKey", status: "OK", user_id: aliceId, key_handle: wk },
      { method: "ImportSymKey", status: "OK", user_id: aliceId, key_handle: viaWkHandle },
      { method: "FindKey", status: "UNAUTHENTICATED", reason: "UNAUTHENTICATED" },
      { method: "Login", status: "UNAUTHENTICATED", reason: "LOGIN_FAILED" },
      { method: "Logout", status: "OK", user_id: aliceId },
    ];

    const lines = await drainLogs(t, expected.length);
    expect(lines).toHaveLength(expected.length);
    lines.forEach((line, i) => {
      const want = expected[i]!;
      expect(line).toMatchObject({ level: "info", ...want });
      expect(typeof line.duration_ms).toBe("number");
      expect(line.duration_ms as number).toBeGreaterThanOrEqual(0);
      // Exactly the fields that apply: no user_id before a session is known, no key_handle without a key, no reason on success.
      for (const field of ["user_id", "key_handle", "reason"] as const) expect(Object.hasOwn(line, field)).toBe(field in want);
    });

    const everything = t.logs.map((l) => JSON.stringify(l)).join("\n");
    for (const secret of [plain, refusedPlain, wkPlain, viaWk]) {
      for (const text of renderings(secret)) expect(everything).not.toContain(text);
    }
    expect(everything).not.toContain(TEST_PASSWORD);
    expect(everything).not.toContain(token.replace(/^Bearer\s+/, ""));
  });
});
