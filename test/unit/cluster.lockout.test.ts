// Lockout that does not reveal itself and can be undone: locked, unknown and wrong-password logins are refused alike
// after the same password check, and the admin or a crypto officer resets the count, the lock and the password.
import { AuditEvent, AuditRecord, AuditTrail } from "../../src/hsm/auditLog";
import { LoginSession } from "../../src/hsm/sessions";
import { MAX_LOGIN_FAILURES, PasswordHasher, scryptHasher, UserRole } from "../../src/hsm/users";
import { ClusterHarness, expectHsmError, FAST_SCRYPT } from "./support/harness";

/** The real scrypt hasher, recording which stored hashes each verification ran against. */
class CountingHasher implements PasswordHasher {
  readonly verified: string[] = [];
  hashes = 0;
  private readonly inner = scryptHasher(FAST_SCRYPT);

  hash(password: string): Promise<string> {
    this.hashes += 1;
    return this.inner.hash(password);
  }

  verify(password: string, encoded: string): Promise<boolean> {
    this.verified.push(encoded);
    return this.inner.verify(password, encoded);
  }
}

/** Keeps the events of every committed record (no chain: these tests read what was recorded, not how). */
class RecordingAudit implements AuditTrail {
  readonly events: AuditEvent[] = [];
  private seq = 0;
  extend(events: readonly AuditEvent[]): AuditRecord[] {
    return events.map((event) => ({ ...event, seq: ++this.seq, time: "", prev: "", hash: "" }));
  }
  unwritten(): readonly AuditRecord[] {
    return [];
  }
  commit(records: readonly AuditRecord[]): void {
    this.events.push(...records);
  }
}

describe("lockout", () => {
  let h: ClusterHarness;
  let hasher: CountingHasher;
  let audit: RecordingAudit;
  let officer: LoginSession;

  beforeEach(async () => {
    hasher = new CountingHasher();
    audit = new RecordingAudit();
    h = new ClusterHarness({ cluster: { passwordHasher: hasher, audit } });
    await h.cluster.createUser(UserRole.CU, "alice", "password1");
    await h.cluster.createUser(UserRole.CU, "bob", "password2");
    officer = (await h.co("officer", "officerpw")).session;
  });
  afterEach(() => h.dispose());

  async function lock(username: string): Promise<void> {
    for (let i = 0; i < MAX_LOGIN_FAILURES; i++) await expectHsmError(() => h.cluster.login(UserRole.CU, username, `wrong-${i}-pw`), "LOGIN_FAILED");
    expect(h.cluster.findUserByName(username)?.locked).toBe(true);
  }

  const loginResults = () => audit.events.filter((e) => e.opcode === "CN_LOGIN").map((e) => e.result);

  test("unknown, locked (right or wrong password) and wrong-password logins: the same error, each after a password verification", async () => {
    await lock("bob");
    const answers = [];
    for (const [name, password] of [
      ["nobody", "password1"],
      ["bob", "password2"],
      ["bob", "wrong-password"],
      ["alice", "wrong-password"],
    ] as const) {
      const before = hasher.verified.length;
      const err = await expectHsmError(() => h.cluster.login(UserRole.CU, name, password), "LOGIN_FAILED");
      answers.push({ message: err.message, details: err.details, code: err.returnCode.code });
      // Exactly one scrypt verification per attempt, whoever the user is.
      expect(hasher.verified.length).toBe(before + 1);
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual({ message: expect.any(String) as unknown, details: {}, code: 0xa3 });
    // The unknown user was checked against the decoy, not against any user's hash.
    const bobHashChecks = hasher.verified.slice(-3, -1);
    expect(new Set(bobHashChecks).size).toBe(1);
    expect(hasher.verified.at(-4)).not.toBe(bobHashChecks[0]);
    expect(hasher.verified.at(-4)).not.toBe(hasher.verified.at(-1));
    // Only the audit log says which refusal was a lockout.
    expect(loginResults().slice(-4)).toEqual(["LOGIN_FAILED", "USER_LOCKED", "USER_LOCKED", "LOGIN_FAILED"]);
    // A locked user's attempts do not count further.
    expect(h.cluster.findUserByName("bob")).toMatchObject({ locked: true, loginFailures: MAX_LOGIN_FAILURES });
  });

  test("the attempt that reaches the limit is recorded as USER_LOCKED and answered LOGIN_FAILED", async () => {
    await lock("alice");
    expect(loginResults().filter((r) => r !== "SUCCESS")).toEqual(["LOGIN_FAILED", "LOGIN_FAILED", "LOGIN_FAILED", "LOGIN_FAILED", "USER_LOCKED"]);
  });

  test("the admin's reset without a password clears the lock and the count; the old password works again", async () => {
    await lock("alice");
    const user = await h.cluster.resetUserLogin("admin", "alice", undefined);
    expect(user).toMatchObject({ username: "alice", locked: false, loginFailures: 0 });
    expect((await h.cluster.login(UserRole.CU, "alice", "password1")).session.username).toBe("alice");
    expect(audit.events.filter((e) => e.opcode === "CN_UNLOCK_USER")).toEqual([expect.objectContaining({ user: "admin", result: "SUCCESS" })]);
  });

  test("a reset with a new password: the old one is refused, the new one works, and both survive a reopen", async () => {
    await lock("alice");
    const hashesBefore = hasher.hashes;
    await h.cluster.resetUserLogin("admin", "alice", "brand-new-pw");
    expect(hasher.hashes).toBe(hashesBefore + 1);
    h.reopen();
    expect(h.cluster.findUserByName("alice")).toMatchObject({ locked: false, loginFailures: 0 });
    await expectHsmError(() => h.cluster.login(UserRole.CU, "alice", "password1"), "LOGIN_FAILED");
    await h.cluster.login(UserRole.CU, "alice", "brand-new-pw");
  });

  test("a crypto officer's session resets a user (changePswd); a crypto user's session may not", async () => {
    await lock("alice");
    const bob = (await h.cluster.login(UserRole.CU, "bob", "password2")).session;
    await expectHsmError(() => h.cluster.resetUserLogin(bob, "alice", "brand-new-pw"), "INVALID_USER_TYPE");
    expect(h.cluster.findUserByName("alice")?.locked).toBe(true);
    await h.cluster.resetUserLogin(officer, "ALICE", "brand-new-pw");
    await h.cluster.login(UserRole.CU, "alice", "brand-new-pw");
    expect(audit.events.filter((e) => e.opcode === "CN_CHANGE_PSWD").map((e) => [e.user, e.result])).toEqual([
      [bob.userId, "INVALID_USER_TYPE"],
      [officer.userId, "SUCCESS"],
    ]);
  });

  test("an unknown user: USER_NOT_FOUND; a new password breaking the rules: PASSWORD_INVALID, nothing changed", async () => {
    await expectHsmError(() => h.cluster.resetUserLogin("admin", "nobody", undefined), "USER_NOT_FOUND");
    await lock("alice");
    await expectHsmError(() => h.cluster.resetUserLogin("admin", "alice", "short"), "PASSWORD_INVALID");
    expect(h.cluster.findUserByName("alice")).toMatchObject({ locked: true, loginFailures: MAX_LOGIN_FAILURES });
  });

  test("a login whose check started before a password reset is refused, even with the old password", async () => {
    const gate = new GatedHasher(scryptHasher(FAST_SCRYPT));
    // Two hash slots: the held check occupies one, the reset's new hash runs in the other.
    const g = new ClusterHarness({ cluster: { passwordHasher: gate, loginLimits: { hashConcurrency: 2, perConnection: 8, maxWaiting: 8 } } });
    try {
      await g.cluster.createUser(UserRole.CU, "carol", "password3");
      gate.hold = true;
      const pending = g.cluster.login(UserRole.CU, "carol", "password3");
      await gate.held;
      gate.hold = false;
      await g.cluster.resetUserLogin("admin", "carol", "replaced-pw");
      gate.release();
      await expectHsmError(() => pending, "LOGIN_FAILED");
      // Not counted as a failure of the new password.
      expect(g.cluster.findUserByName("carol")?.loginFailures).toBe(0);
      await g.cluster.login(UserRole.CU, "carol", "replaced-pw");
    } finally {
      g.dispose();
    }
  });

  test("past the per-connection cap a login is refused TOO_MANY_LOGINS before any check, and not audited", async () => {
    const gate = new GatedHasher(scryptHasher(FAST_SCRYPT));
    const recorded = new RecordingAudit();
    const g = new ClusterHarness({ cluster: { passwordHasher: gate, audit: recorded, loginLimits: { hashConcurrency: 2, perConnection: 1, maxWaiting: 8 } } });
    try {
      await g.cluster.createUser(UserRole.CU, "dave", "password4");
      gate.hold = true;
      const first = g.cluster.login(UserRole.CU, "dave", "password4", "peer-a");
      await gate.held;
      const auditedBefore = recorded.events.length;
      const err = await expectHsmError(() => g.cluster.login(UserRole.CU, "dave", "password4", "peer-a"), "TOO_MANY_LOGINS");
      expect(err.details).toEqual({ limit: "connection", max_logins: 1 });
      expect(recorded.events.length).toBe(auditedBefore);
      // Another connection is not affected.
      gate.hold = false;
      await g.cluster.login(UserRole.CU, "dave", "password4", "peer-b");
      gate.release();
      await first;
    } finally {
      g.dispose();
    }
  });
});

/** Holds verifications while `hold` is set, until `release()`; `held` resolves when one is waiting. */
class GatedHasher implements PasswordHasher {
  hold = false;
  held: Promise<void>;
  private onHeld: () => void = () => undefined;
  private waiting: (() => void)[] = [];

  constructor(private readonly inner: PasswordHasher) {
    this.held = new Promise((resolve) => (this.onHeld = resolve));
  }

  hash(password: string): Promise<string> {
    return this.inner.hash(password);
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    if (this.hold) {
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        this.onHeld();
      });
    }
    return this.inner.verify(password, encoded);
  }

  release(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}
