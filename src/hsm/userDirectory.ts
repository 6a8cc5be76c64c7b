// The cluster's users: creation under CloudHSM's naming rules, and password checks with lockout.
import { randomBytes } from "node:crypto";
import { HsmError } from "./errors";
import { HsmStore } from "./store/hsmStore";
import {
  checkPasswordRules,
  hashPassword,
  MAX_LOGIN_FAILURES,
  normaliseUsername,
  ScryptCost,
  toUserInfo,
  UserInfo,
  UserRecord,
  UserRole,
  verifyPassword,
} from "./users";

export class UserDirectory {
  private readonly byId = new Map<number, UserRecord>();
  private readonly byName = new Map<string, UserRecord>();
  /** A stand-in hash so an unknown user costs as much time as a wrong password. */
  private readonly decoyHash: Promise<string>;

  constructor(
    private readonly store: HsmStore,
    private readonly scryptCost: ScryptCost,
    users: readonly UserRecord[],
  ) {
    for (const user of users) this.index(user);
    this.decoyHash = hashPassword(randomBytes(16).toString("hex"), scryptCost);
  }

  /**
   * Creates a user; `persist` makes the new row durable (the cluster commits it with its audit
   * record) before the user is known in memory.
   */
  async create(role: UserRole, username: string, password: string, persist: (write: () => void, user: UserInfo) => void): Promise<UserInfo> {
    const name = normaliseUsername(username);
    checkPasswordRules(password);
    if (this.byName.has(name)) throw new HsmError("USER_ALREADY_EXISTS", "a user with this name exists", { username: name });
    const passwordHash = await hashPassword(password, this.scryptCost);
    // Checked again: another create of the same name may have finished while hashing.
    if (this.byName.has(name)) throw new HsmError("USER_ALREADY_EXISTS", "a user with this name exists", { username: name });
    const userId = Math.max(0, ...this.byId.keys()) + 1;
    const user: UserRecord = { userId, role, username: name, passwordHash, loginFailures: 0, locked: false };
    persist(() => this.store.insertUser(user), toUserInfo(user));
    this.index(user);
    return toUserInfo(user);
  }

  list(): UserInfo[] {
    return [...this.byId.values()].sort((a, b) => a.userId - b.userId).map(toUserInfo);
  }

  byUsername(username: string): UserInfo | undefined {
    const user = this.byName.get(username.toLowerCase());
    return user ? toUserInfo(user) : undefined;
  }

  /** Whether `userId` is a crypto user, the only kind keys are shared with. */
  isCryptoUser(userId: number): boolean {
    return this.byId.get(userId)?.role === UserRole.CU;
  }

  /**
   * Checks a password. An unknown user and a wrong password are answered alike, in the same time
   * and with the same metadata. The lock is checked again after the (asynchronous) scrypt, so
   * concurrent guesses count at most MAX_LOGIN_FAILURES failures before the user is locked. A change
   * of the failed-login count is handed to `persist`, which the cluster commits with the login's record.
   */
  async authenticate(role: UserRole, username: string, password: string, persist: (write: () => void) => void): Promise<UserInfo> {
    const user = this.byName.get(username.toLowerCase());
    const locked = () => new HsmError("USER_LOCKED", "user is locked after too many failed logins", { max_login_failures: MAX_LOGIN_FAILURES });
    const wrong = () => new HsmError("LOGIN_FAILED", "user name or password is wrong");
    if (!user) {
      await verifyPassword(password, await this.decoyHash);
      throw wrong();
    }
    if (user.locked) throw locked();
    const good = await verifyPassword(password, user.passwordHash);
    if (user.locked) throw locked();
    if (!good) {
      user.loginFailures += 1;
      if (user.loginFailures >= MAX_LOGIN_FAILURES) user.locked = true;
      persist(() => this.store.saveLoginState(user));
      throw user.locked ? locked() : wrong();
    }
    if (user.role !== role) throw new HsmError("INVALID_USER_TYPE", `user is not a ${role}`, { user_type: role });
    if (user.loginFailures !== 0) {
      user.loginFailures = 0;
      persist(() => this.store.saveLoginState(user));
    }
    return toUserInfo(user);
  }

  private index(user: UserRecord): void {
    this.byId.set(user.userId, user);
    this.byName.set(user.username, user);
  }
}
