// Login sessions over real gRPC: bearer tokens, logout and session keys, lockout, user types, and crypto officers.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ATTRIBUTE, HsmClient, HsmClientError, hsmProto, KEY_TYPE, UserType } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { genSymKeyRequest, importSymKeyRequest } from "../support/rawRequests";
import { expectRefusedCreatingNothing, keyCensus } from "../support/keyCensus";
import { bearer, unaryWith } from "../support/rawGrpc";
import { TEST_PASSWORD, TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";

const S = grpc.status;

const genRequest = genSymKeyRequest();
const findRequest: hsmProto.FindKeyRequest = { sharedWithUserIds: [], pageSize: 0, pageToken: "" };

/** Every HsmService call except Login, made with the given metadata. */
function everyAuthenticatedCall(client: HsmClient, md: () => grpc.Metadata, wrappingKey: number): [string, () => Promise<unknown>][] {
  const raw = client.raw;
  return [
    ["GenSymKey", () => unaryWith(raw.genSymKey.bind(raw), genRequest, md())],
    [
      "ImportSymKey",
      () =>
        unaryWith(
          raw.importSymKey.bind(raw),
          importSymKeyRequest(wrappingKey, { $case: "keyMaterial", value: randomBytes(32) }),
          md(),
        ),
    ],
    ["GetAttribute", () => unaryWith(raw.getAttribute.bind(raw), { keyHandle: wrappingKey, attributeId: ATTRIBUTE.KCV }, md())],
    ["FindKey", () => unaryWith(raw.findKey.bind(raw), findRequest, md())],
    ["Logout", () => unaryWith(raw.logout.bind(raw), {}, md())],
  ];
}

describe("authentication", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let wrappingKey: number;

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ t, alice } = await fixture.start());
    wrappingKey = await alice.createWrappingKey();
  });

  const userNamed = async (name: string) => (await t.admin.listUsers()).users.find((u) => u.username === name);

  describe("session tokens", () => {
    test.each(["GenSymKey", "ImportSymKey", "GetAttribute", "FindKey", "Logout"])(
      "%s without a token -> UNAUTHENTICATED (0x90), nothing created",
      async (method) => {
        const anonymous = t.client();
        const call = everyAuthenticatedCall(anonymous, () => new grpc.Metadata(), wrappingKey).find(([m]) => m === method)![1];
        const err = await expectRefusedCreatingNothing(t, alice, call, S.UNAUTHENTICATED, "UNAUTHENTICATED");
        expect(err.metadata.kmu_return_code).toBe("0x90");
      },
    );

    test.each([
      ["a bogus token", () => bearer("bogus-token")],
      ["a token-shaped random token", () => bearer(randomBytes(32).toString("base64url"))],
      ["another scheme", () => withAuthorization("Basic YWxpY2U6cGFzc3dvcmQx")],
      ["Bearer without a token", () => withAuthorization("Bearer")],
      ["a token with a space in it", () => withAuthorization("Bearer abc def")],
    ])("every call with %s -> UNAUTHENTICATED", async (_name, md) => {
      for (const [, call] of everyAuthenticatedCall(alice, md, wrappingKey)) {
        await expectRefusedCreatingNothing(t, alice, call, S.UNAUTHENTICATED, "UNAUTHENTICATED");
      }
    });

    test("the admin secret is not a session token", async () => {
      const md = new grpc.Metadata();
      md.set("x-admin-secret", "integration-admin-secret-0123456789");
      await expectRpcError(unaryWith(alice.raw.findKey.bind(alice.raw), findRequest, md), S.UNAUTHENTICATED, "UNAUTHENTICATED");
    });

    test("user names are case-insensitive at login", async () => {
      const c = t.client();
      expect(await c.login("ALICE", TEST_PASSWORD)).toBe(alice.userId);
    });
  });

  describe("logout", () => {
    test("after Logout the old token is UNAUTHENTICATED for every call; the session's keys are gone, token keys stay", async () => {
      await t.admin.createUser("leaver", TEST_PASSWORD);
      const c = t.client();
      await c.login("leaver", TEST_PASSWORD);
      const w = await c.createWrappingKey();
      const tokenKey = (await c.importSymKey(randomBytes(32), { wrappingKey: w, label: "token-key" })).keyHandle;
      const sessionKey = (await c.importSymKey(randomBytes(32), { wrappingKey: w, label: "session-key", session: true })).keyHandle;
      const generatedSessionKey = (await c.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "gen-session", session: true })).keyHandle;
      expect(await c.findKey({ session: true })).toEqual([sessionKey, generatedSessionKey]);
      const oldToken = c.metadata();
      const keysBefore = t.daemon.cluster.keyCount;

      await c.logout();

      expect(t.daemon.cluster.keyCount).toBe(keysBefore - 2);
      for (const [, call] of everyAuthenticatedCall(c, () => oldToken.clone(), w)) {
        await expectRpcError(call(), S.UNAUTHENTICATED, "UNAUTHENTICATED");
      }

      const fresh = t.client();
      await fresh.login("leaver", TEST_PASSWORD);
      expect(await fresh.findKey()).toEqual([w, tokenKey]);
      await expectRpcError(fresh.getAttribute(sessionKey, ATTRIBUTE.KCV), S.NOT_FOUND, "KEY_NOT_FOUND");
      await expectRpcError(fresh.getAttribute(generatedSessionKey, ATTRIBUTE.KCV), S.NOT_FOUND, "KEY_NOT_FOUND");
    });

    test("logging out one session leaves the user's other sessions and their session keys alone", async () => {
      await t.admin.createUser("twosessions", TEST_PASSWORD);
      const first = t.client();
      const second = t.client();
      await first.login("twosessions", TEST_PASSWORD);
      await second.login("twosessions", TEST_PASSWORD);
      const kept = (await second.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "kept", session: true })).keyHandle;
      await first.logout();
      expect(await second.findKey({ session: true })).toEqual([kept]);
    });
  });

  describe("failed logins and lockout", () => {
    // The lock is kept but not revealed: the fifth failure and every later attempt, even with the right password,
    // answer exactly like a wrong password (UNAUTHENTICATED LOGIN_FAILED 0xa3, same metadata) until an unlock.
    test("five wrong passwords lock the user: then even the right password -> LOGIN_FAILED, like an unknown user", async () => {
      await t.admin.createUser("victim", TEST_PASSWORD);
      const c = t.client();
      for (let i = 1; i <= 5; i++) {
        const err = await expectRpcError(c.login("victim", `wrong-password-${i}`), S.UNAUTHENTICATED, "LOGIN_FAILED");
        expect(err.metadata.kmu_return_code).toBe("0xa3");
      }
      const locked = await expectRpcError(c.login("victim", TEST_PASSWORD), S.UNAUTHENTICATED, "LOGIN_FAILED");
      const unknown = await expectRpcError(c.login("nobody_at_all", TEST_PASSWORD), S.UNAUTHENTICATED, "LOGIN_FAILED");
      expect(locked.metadata).toEqual(unknown.metadata);
      expect(locked.message).toBe(unknown.message);
      expect(await userNamed("victim")).toMatchObject({ locked: true, loginFailureCount: 5 });
    });

    test("AdminService.UnlockUser needs the admin secret; with it the locked user logs in with its password again", async () => {
      await t.admin.createUser("unlockme", TEST_PASSWORD);
      const c = t.client();
      for (let i = 1; i <= 5; i++) await expectRpcError(c.login("unlockme", `wrong-password-${i}`), S.UNAUTHENTICATED, "LOGIN_FAILED");
      const request = { username: "unlockme", newPassword: "" };
      await expectRpcError(unaryWith(t.admin.raw.unlockUser.bind(t.admin.raw), request, new grpc.Metadata()), S.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");
      const wrongSecret = new grpc.Metadata();
      wrongSecret.set("x-admin-secret", "not-the-admin-secret-at-all");
      await expectRpcError(unaryWith(t.admin.raw.unlockUser.bind(t.admin.raw), request, wrongSecret), S.UNAUTHENTICATED, "ADMIN_SECRET_INVALID");
      await expectRpcError(c.login("unlockme", TEST_PASSWORD), S.UNAUTHENTICATED, "LOGIN_FAILED");
      expect(await userNamed("unlockme")).toMatchObject({ locked: true, loginFailureCount: 5 });

      expect(await t.admin.unlockUser("UNLOCKME")).toMatchObject({ username: "unlockme", locked: false, loginFailureCount: 0 });
      expect(await c.login("unlockme", TEST_PASSWORD)).toBe((await userNamed("unlockme"))!.userId);
    });

    test("UnlockUser with a new password: the old password is refused, the new one works", async () => {
      await t.admin.createUser("newpass", TEST_PASSWORD);
      for (let i = 1; i <= 5; i++) await expectRpcError(t.client().login("newpass", `wrong-password-${i}`), S.UNAUTHENTICATED, "LOGIN_FAILED");
      await t.admin.unlockUser("newpass", "replacement-pw");
      await expectRpcError(t.client().login("newpass", TEST_PASSWORD), S.UNAUTHENTICATED, "LOGIN_FAILED");
      await t.client().login("newpass", "replacement-pw");
    });

    test("UnlockUser of an unknown user -> NOT_FOUND USER_NOT_FOUND (0x9d); a bad new password -> INVALID_ARGUMENT PASSWORD_INVALID", async () => {
      const err = await expectRpcError(t.admin.unlockUser("no_such_user"), S.NOT_FOUND, "USER_NOT_FOUND");
      expect(err.metadata.kmu_return_code).toBe("0x9d");
      await expectRpcError(t.admin.unlockUser("alice", "short"), S.INVALID_ARGUMENT, "PASSWORD_INVALID");
    });

    test("a crypto officer's ChangeUserPassword unlocks a user with a new password; a crypto user's or no session is refused", async () => {
      await t.admin.createUser("colocked", TEST_PASSWORD);
      await t.admin.createUser("cochanger", TEST_PASSWORD, UserType.USER_TYPE_CO);
      for (let i = 1; i <= 5; i++) await expectRpcError(t.client().login("colocked", `wrong-password-${i}`), S.UNAUTHENTICATED, "LOGIN_FAILED");
      await expectRpcError(alice.changeUserPassword("colocked", "officer-set-pw"), S.PERMISSION_DENIED, "INVALID_USER_TYPE");
      await expectRpcError(t.client().changeUserPassword("colocked", "officer-set-pw"), S.UNAUTHENTICATED, "UNAUTHENTICATED");
      expect(await userNamed("colocked")).toMatchObject({ locked: true });

      const officer = t.client();
      await officer.login("cochanger", TEST_PASSWORD, UserType.USER_TYPE_CO);
      expect(await officer.changeUserPassword("colocked", "officer-set-pw")).toMatchObject({ username: "colocked", locked: false, loginFailureCount: 0 });
      await expectRpcError(t.client().login("colocked", TEST_PASSWORD), S.UNAUTHENTICATED, "LOGIN_FAILED");
      await t.client().login("colocked", "officer-set-pw");
      await expectRpcError(officer.changeUserPassword("colocked", ""), S.INVALID_ARGUMENT, "PASSWORD_INVALID");
    });

    test("a successful login resets the failure count", async () => {
      await t.admin.createUser("forgetful", TEST_PASSWORD);
      const c = t.client();
      for (let i = 0; i < 4; i++) await expectRpcError(c.login("forgetful", "not-the-password"), S.UNAUTHENTICATED, "LOGIN_FAILED");
      await c.login("forgetful", TEST_PASSWORD);
      expect(await userNamed("forgetful")).toMatchObject({ locked: false, loginFailureCount: 0 });
      for (let i = 0; i < 4; i++) await expectRpcError(c.login("forgetful", "not-the-password"), S.UNAUTHENTICATED, "LOGIN_FAILED");
      await c.login("forgetful", TEST_PASSWORD);
    });

    test("an unknown user -> UNAUTHENTICATED LOGIN_FAILED", async () => {
      const err = await expectRpcError(t.client().login("nobody", TEST_PASSWORD), S.UNAUTHENTICATED, "LOGIN_FAILED");
      expect(err.metadata.kmu_return_code).toBe("0xa3");
    });

    // Neither timing (a decoy scrypt) nor the ErrorInfo may reveal which user names exist.
    test("an unknown user and a wrong password are indistinguishable (same metadata keys)", async () => {
      await t.admin.createUser("enumerated", TEST_PASSWORD);
      const c = t.client();
      const unknown = await expectRpcError(c.login("nobody_here", "wrong-password"), S.UNAUTHENTICATED, "LOGIN_FAILED");
      const wrong = await expectRpcError(c.login("enumerated", "wrong-password"), S.UNAUTHENTICATED, "LOGIN_FAILED");
      expect(Object.keys(unknown.metadata).sort()).toEqual(Object.keys(wrong.metadata).sort());
    });

    // "Five failed logins lock a user", also when the guesses arrive at once.
    test("concurrent wrong passwords are not all checked: at most five count before the lock", async () => {
      await t.admin.createUser("raced", TEST_PASSWORD);
      const c = t.client();
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => c.login("raced", `wrong-password-${i}`).then(() => "OK", (e: HsmClientError) => e.reason)),
      );
      expect(outcomes).not.toContain("OK");
      expect(await userNamed("raced")).toMatchObject({ locked: true, loginFailureCount: 5 });
    });
  });

  describe("user types", () => {
    test("a CU logging in as CO -> PERMISSION_DENIED INVALID_USER_TYPE (0xdb), not counted as a failed login", async () => {
      await t.admin.createUser("plaincu", TEST_PASSWORD);
      const err = await expectRpcError(t.client().login("plaincu", TEST_PASSWORD, UserType.USER_TYPE_CO), S.PERMISSION_DENIED, "INVALID_USER_TYPE");
      expect(err.metadata.kmu_return_code).toBe("0xdb");
      expect(await userNamed("plaincu")).toMatchObject({ locked: false, loginFailureCount: 0 });
    });

    test("a CO logging in as CU -> INVALID_USER_TYPE", async () => {
      await t.admin.createUser("officer1", TEST_PASSWORD, UserType.USER_TYPE_CO);
      await expectRpcError(t.client().login("officer1", TEST_PASSWORD, UserType.USER_TYPE_CU), S.PERMISSION_DENIED, "INVALID_USER_TYPE");
    });

    test("a login without a user type -> INVALID_ARGUMENT REQUEST_INVALID", async () => {
      await expectRpcError(t.client().login("alice", TEST_PASSWORD, UserType.USER_TYPE_UNSPECIFIED), S.INVALID_ARGUMENT, "REQUEST_INVALID");
    });

    describe("a logged-in crypto officer", () => {
      let officer: HsmClient;

      beforeAll(async () => {
        await t.admin.createUser("officer2", TEST_PASSWORD, UserType.USER_TYPE_CO);
        officer = t.client();
        await officer.login("officer2", TEST_PASSWORD, UserType.USER_TYPE_CO);
      });

      test.each(["GenSymKey", "ImportSymKey", "GetAttribute", "FindKey"])(
        "%s -> PERMISSION_DENIED INVALID_USER_TYPE with kmu_return_code 0xdb, nothing created",
        async (method) => {
          const call = everyAuthenticatedCall(officer, () => officer.metadata(), wrappingKey).find(([m]) => m === method)![1];
          const err = await expectRefusedCreatingNothing(t, alice, call, S.PERMISSION_DENIED, "INVALID_USER_TYPE");
          expect(err.metadata.kmu_return_code).toBe("0xdb");
        },
      );

      test("the facade's calls are refused the same way", async () => {
        const before = await keyCensus(t, alice);
        await expectRpcError(officer.createWrappingKey(), S.PERMISSION_DENIED, "INVALID_USER_TYPE");
        await expectRpcError(officer.importSymKey(randomBytes(16), { wrappingKey, label: "x" }), S.PERMISSION_DENIED, "INVALID_USER_TYPE");
        await expectRpcError(officer.kcv(wrappingKey), S.PERMISSION_DENIED, "INVALID_USER_TYPE");
        await expectRpcError(officer.findKey(), S.PERMISSION_DENIED, "INVALID_USER_TYPE");
        expect(await keyCensus(t, alice)).toEqual(before);
      });

      test("the officer can log out", async () => {
        await officer.logout();
        await expectRpcError(officer.findKey(), S.UNAUTHENTICATED, "UNAUTHENTICATED");
      });
    });
  });
});

function withAuthorization(value: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set("authorization", value);
  return md;
}
