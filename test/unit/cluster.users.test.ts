// Users and login: name and password rules, scrypt storage, role checks, lockout, sessions and logout.
import Database from "better-sqlite3";
import { readFileSync } from "node:fs";
import { HsmError } from "../../src/hsm/errors";
import { SessionRegistry } from "../../src/hsm/sessions";
import { MAX_LOGIN_FAILURES, UserRole, verifyPassword } from "../../src/hsm/users";
import { ClusterHarness, containsBytes, expectHsmError, genParams, importParams } from "./support/harness";
import { DEFAULTS } from "../../src/server/settings";

describe("users", () => {
  let h: ClusterHarness;
  beforeEach(() => {
    h = new ClusterHarness();
  });
  afterEach(() => h.dispose());

  describe("creation", () => {
    test("creates crypto users and crypto officers with increasing ids", async () => {
      const cu = await h.cluster.createUser(UserRole.CU, "alice", "password1");
      const co = await h.cluster.createUser(UserRole.CO, "officer", "password2");
      expect(cu).toEqual({ userId: expect.any(Number) as unknown, role: UserRole.CU, username: "alice", loginFailures: 0, locked: false });
      expect(co.role).toBe(UserRole.CO);
      expect(co.userId).toBeGreaterThan(cu.userId);
      expect(h.cluster.listUsers().map((u) => [u.username, u.role])).toEqual([
        ["alice", UserRole.CU],
        ["officer", UserRole.CO],
      ]);
      // What callers learn about a user never includes the hash.
      expect(JSON.stringify(h.cluster.listUsers())).not.toContain("scrypt");
    });

    test.each([
      ["31 characters", "u".repeat(31)],
      ["underscores and digits", "crypto_user_01"],
    ])("a user name of %s is accepted", async (_n, name) => {
      await h.cluster.createUser(UserRole.CU, name, "password1");
    });

    test.each([
      ["32 characters", "u".repeat(32)],
      ["a dash", "crypto-user"],
      ["empty", ""],
      ["a space", "crypto user"],
      ["a dot", "crypto.user"],
      ["non-ASCII letters", "j\u00fcrgen"],
    ])("a user name with %s: USERNAME_INVALID", async (_n, name) => {
      await expectHsmError(() => h.cluster.createUser(UserRole.CU, name, "password1"), "USERNAME_INVALID");
      expect(h.cluster.listUsers()).toEqual([]);
    });

    test("names are case-insensitive: a duplicate differing only in case is USER_ALREADY_EXISTS", async () => {
      await h.cluster.createUser(UserRole.CU, "Alice", "password1");
      await expectHsmError(() => h.cluster.createUser(UserRole.CU, "ALICE", "password2"), "USER_ALREADY_EXISTS");
      await expectHsmError(() => h.cluster.createUser(UserRole.CO, "alice", "password2"), "USER_ALREADY_EXISTS");
      expect(h.cluster.listUsers()).toHaveLength(1);
      expect(h.cluster.findUserByName("aLiCe")?.username).toBe("alice");
    });

    test("two concurrent creates of the same name: one wins, the other is USER_ALREADY_EXISTS", async () => {
      const results = await Promise.allSettled([
        h.cluster.createUser(UserRole.CU, "race", "password1"),
        h.cluster.createUser(UserRole.CU, "RACE", "password2"),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      expect((rejected?.reason as HsmError).reason).toBe("USER_ALREADY_EXISTS");
      expect(h.cluster.listUsers()).toHaveLength(1);
    });

    test.each([
      ["7 characters", "a".repeat(7)],
      ["33 characters", "a".repeat(33)],
      ["empty", ""],
      ["U+FFFD", "passw\uFFFDrd"],
    ])("a password of %s: PASSWORD_INVALID", async (_n, password) => {
      await expectHsmError(() => h.cluster.createUser(UserRole.CU, "alice", password), "PASSWORD_INVALID");
      expect(h.cluster.listUsers()).toEqual([]);
    });

    test("passwords of 8 and 32 characters are accepted", async () => {
      await h.cluster.createUser(UserRole.CU, "eight", "a".repeat(8));
      await h.cluster.createUser(UserRole.CU, "thirtytwo", "b".repeat(32));
      await h.cluster.login(UserRole.CU, "eight", "a".repeat(8));
      await h.cluster.login(UserRole.CU, "thirtytwo", "b".repeat(32));
    });

    test("the password is stored only as a salted scrypt hash", async () => {
      const password = "Sup3r-Secret!pw";
      await h.cluster.createUser(UserRole.CU, "alice", password);
      await h.cluster.createUser(UserRole.CU, "bob", password);
      h.cluster.close();
      const db = new Database(h.dbPath, { readonly: true });
      try {
        const rows = db.prepare("SELECT * FROM users ORDER BY user_id").all() as Record<string, unknown>[];
        expect(rows).toHaveLength(2);
        for (const row of rows) {
          for (const value of Object.values(row)) expect(String(value)).not.toContain(password);
          const hash = String(row.password_hash);
          expect(hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
          expect(await verifyPassword(password, hash)).toBe(true);
          expect(await verifyPassword("wrong password", hash)).toBe(false);
        }
        // Same password, different salt, different hash.
        expect(rows[0]!.password_hash).not.toBe(rows[1]!.password_hash);
      } finally {
        db.close();
      }
      expect(containsBytes(readFileSync(h.dbPath), Buffer.from(password))).toBe(false);
      h.reopen();
    });
  });

  describe("login", () => {
    beforeEach(async () => {
      await h.cluster.createUser(UserRole.CU, "alice", "password1");
      await h.cluster.createUser(UserRole.CO, "officer", "password2");
    });

    test("a CU logs in as CU, with the user name in any case; the session records the clock's time", async () => {
      h.clock.advance(60_000);
      const { token, session } = await h.cluster.login(UserRole.CU, "ALICE", "password1");
      expect(session).toMatchObject({ role: UserRole.CU, username: "alice", createdAt: h.clock.now() });
      expect(h.cluster.session(token)).toBe(session);
    });

    test("each login is its own session with its own token", async () => {
      const a = await h.cluster.login(UserRole.CU, "alice", "password1");
      const b = await h.cluster.login(UserRole.CU, "alice", "password1");
      expect(a.token).not.toBe(b.token);
      expect(a.session.sessionId).not.toBe(b.session.sessionId);
      expect(a.session.sessionId).not.toBe(a.token);
    });

    test("the wrong role: INVALID_USER_TYPE", async () => {
      await expectHsmError(() => h.cluster.login(UserRole.CO, "alice", "password1"), "INVALID_USER_TYPE");
      const err = await expectHsmError(() => h.cluster.login(UserRole.CU, "officer", "password2"), "INVALID_USER_TYPE");
      expect(err.returnCode.code).toBe(0xdb);
    });

    test("an unknown user: LOGIN_FAILED", async () => {
      await expectHsmError(() => h.cluster.login(UserRole.CU, "nobody", "password1"), "LOGIN_FAILED");
    });

    test("a wrong password: LOGIN_FAILED, counted; a good login resets the count", async () => {
      await expectHsmError(() => h.cluster.login(UserRole.CU, "alice", "wrongpass"), "LOGIN_FAILED");
      await expectHsmError(() => h.cluster.login(UserRole.CU, "alice", "wrongpass"), "LOGIN_FAILED");
      expect(h.cluster.findUserByName("alice")?.loginFailures).toBe(2);
      await h.cluster.login(UserRole.CU, "alice", "password1");
      expect(h.cluster.findUserByName("alice")?.loginFailures).toBe(0);
    });

    // The lock is kept (CloudHSM locks too) but not revealed: a locked user is refused exactly like a wrong password.
    test(`${MAX_LOGIN_FAILURES} wrong passwords lock the user: then even the right password is LOGIN_FAILED, across a reopen`, async () => {
      expect(MAX_LOGIN_FAILURES).toBe(5);
      for (let i = 1; i <= MAX_LOGIN_FAILURES; i++) {
        const err = await expectHsmError(() => h.cluster.login(UserRole.CU, "alice", `wrong${i}pass`), "LOGIN_FAILED");
        expect(err.details).toEqual({});
      }
      const refused = await expectHsmError(() => h.cluster.login(UserRole.CU, "alice", "password1"), "LOGIN_FAILED");
      expect(refused.details).toEqual({});
      expect(h.cluster.findUserByName("alice")).toMatchObject({ locked: true, loginFailures: 5 });

      h.reopen();
      await expectHsmError(() => h.cluster.login(UserRole.CU, "alice", "password1"), "LOGIN_FAILED");
      expect(h.cluster.findUserByName("alice")).toMatchObject({ locked: true, loginFailures: 5 });
      // Other users are unaffected.
      await h.cluster.login(UserRole.CO, "officer", "password2");
    });

    test("the failure count survives a reopen", async () => {
      await expectHsmError(() => h.cluster.login(UserRole.CU, "alice", "wrongpass"), "LOGIN_FAILED");
      await expectHsmError(() => h.cluster.login(UserRole.CU, "alice", "wrongpass"), "LOGIN_FAILED");
      h.reopen();
      expect(h.cluster.findUserByName("alice")?.loginFailures).toBe(2);
    });

    test("users survive a reopen and can log in", async () => {
      h.reopen();
      const { session } = await h.cluster.login(UserRole.CU, "alice", "password1");
      expect(session.username).toBe("alice");
      expect(h.cluster.listUsers().map((u) => u.username)).toEqual(["alice", "officer"]);
    });

    test("sessions do not survive a reopen", async () => {
      const { token } = await h.cluster.login(UserRole.CU, "alice", "password1");
      h.reopen();
      await expectHsmError(() => h.cluster.session(token), "UNAUTHENTICATED");
    });
  });

  describe("logout", () => {
    test("ends the session: its token no longer resolves, and a second logout is UNAUTHENTICATED", async () => {
      const alice = await h.cu("alice");
      const nodes = h.cluster.logout(alice.token);
      expect(nodes).toHaveLength(h.nodeCount);
      await expectHsmError(() => h.cluster.session(alice.token), "UNAUTHENTICATED");
      await expectHsmError(() => h.cluster.logout(alice.token), "UNAUTHENTICATED");
    });

    test("an unknown or missing token is UNAUTHENTICATED", async () => {
      await expectHsmError(() => h.cluster.session(undefined), "UNAUTHENTICATED");
      await expectHsmError(() => h.cluster.session(""), "UNAUTHENTICATED");
      await expectHsmError(() => h.cluster.session("not-a-token"), "UNAUTHENTICATED");
    });
  });

  describe("crypto officers cannot manage keys", () => {
    test("genSymKey, importSymKey, getAttribute and findKey: INVALID_USER_TYPE", async () => {
      const alice = await h.cu("alice");
      const officer = await h.co("officer");
      const wrapping = (await h.cluster.genSymKey(alice.session, genParams())).handle;
      await expectHsmError(() => h.cluster.genSymKey(officer.session, genParams()), "INVALID_USER_TYPE");
      await expectHsmError(() => h.cluster.importSymKey(officer.session, importParams(wrapping, Buffer.alloc(16, 1))), "INVALID_USER_TYPE");
      await expectHsmError(() => h.cluster.getAttribute(officer.session, wrapping, 256), "INVALID_USER_TYPE");
      await expectHsmError(() => h.cluster.findKey(officer.session, {}), "INVALID_USER_TYPE");
      expect(h.cluster.keyCount).toBe(1);
    });
  });
});

describe("SessionRegistry", () => {
  test("resolves tokens it issued, and only those", async () => {
    const registry = new SessionRegistry(DEFAULTS.sessionLimits);
    const user = { userId: 7, role: UserRole.CU, username: "alice" };
    const { token, session } = registry.open(user, 1000, 0);
    expect(registry.resolve(token, 1000)).toBe(session);
    expect(session).toMatchObject({ userId: 7, role: UserRole.CU, username: "alice", createdAt: 1000, nodeId: 0 });
    expect(registry.size).toBe(1);
    expect(() => registry.resolve(token + "x", 1000)).toThrow(HsmError);
    const closed = registry.close(token);
    expect(closed?.session).toBe(session);
    expect(closed?.streams).toEqual([]);
    expect(registry.close(token)).toBeUndefined();
    expect(registry.size).toBe(0);
    await expectHsmError(() => registry.resolve(token, 1000), "UNAUTHENTICATED");
  });

  test("a session expires after its idle time and after its absolute lifetime", async () => {
    const registry = new SessionRegistry({ ...DEFAULTS.sessionLimits, idleMs: 100, maxLifetimeMs: 250, perUser: 10 });
    const user = { userId: 7, role: UserRole.CU, username: "alice" };
    const idle = registry.open(user, 0, 0);
    const busy = registry.open(user, 0, 0);
    registry.resolve(busy.token, 90);
    registry.resolve(busy.token, 180);
    await expectHsmError(() => registry.resolve(idle.token, 100), "SESSION_EXPIRED");
    expect(registry.expire(100).map((s) => s.session.sessionId)).toEqual([idle.session.sessionId]);
    expect(registry.resolve(busy.token, 249)).toBe(busy.session);
    await expectHsmError(() => registry.resolve(busy.token, 250), "SESSION_EXPIRED");
  });

  test("a held session does not idle out; closing hands back its streams; a release counts idle time from then", () => {
    const registry = new SessionRegistry({ ...DEFAULTS.sessionLimits, idleMs: 100, maxLifetimeMs: 10_000, perUser: 10 });
    const user = { userId: 7, role: UserRole.CU, username: "alice" };
    const watched = registry.open(user, 0, 0);
    const onEnd = (): void => undefined;
    const release = registry.hold(watched.session.sessionId, onEnd);
    expect(registry.expire(5_000)).toEqual([]);
    expect(registry.resolve(watched.token, 5_000)).toBe(watched.session);
    release(6_000);
    release(9_000);
    expect(registry.expire(6_099)).toEqual([]);
    expect(registry.expire(6_100).map((e) => e.session)).toEqual([watched.session]);

    const other = registry.open(user, 0, 0);
    registry.hold(other.session.sessionId, onEnd);
    expect(registry.close(other.token)?.streams).toEqual([onEnd]);
  });

  test("a user may hold at most perUser sessions", async () => {
    const registry = new SessionRegistry({ ...DEFAULTS.sessionLimits, idleMs: 1000, maxLifetimeMs: 1000, perUser: 2 });
    const user = { userId: 7, role: UserRole.CU, username: "alice" };
    const first = registry.open(user, 0, 0);
    registry.open(user, 0, 0);
    await expectHsmError(() => registry.open(user, 0, 0), "TOO_MANY_SESSIONS");
    registry.close(first.token);
    expect(registry.open(user, 0, 0).session.userId).toBe(7);
    expect(registry.open({ ...user, userId: 8 }, 0, 0).session.userId).toBe(8);
  });
});
