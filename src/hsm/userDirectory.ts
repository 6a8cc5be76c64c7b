// The cluster's users: creation under CloudHSM's naming rules, password checks with lockout, and the officer's way out of a lockout.
import { randomBytes } from "node:crypto";
import { HsmError } from "./errors";
import { HashQueue, INTERNAL_ORIGIN } from "./hashQueue";
import { HsmStore } from "./store/hsmStore";
import {
  checkPasswordRules,
  MAX_LOGIN_FAILURES,
  normaliseUsername,
  PasswordHasher,
  toUserInfo,
  UserInfo,
  UserRecord,
  UserRole,
} from "./users";

/**
 * What a password check concluded. A refusal always reaches the caller as LOGIN_FAILED; `refused` is what the
 * audit log records (USER_LOCKED when the user is locked, which the caller is not told).
 */
export type LoginCheck = { readonly user: UserInfo } | { readonly refused: "LOGIN_FAILED" | "USER_LOCKED" };

export class UserDirectory {
  private readonly byId = new Map<number, UserRecord>();
  private readonly byName = new Map<string, UserRecord>();
  /** A stand-in hash so an unknown user costs as much time as a wrong password. */
  private readonly decoyHash: Promise<string>;

  constructor(
    private readonly store: HsmStore,
    private readonly hasher: PasswordHasher,
    private readonly queue: HashQueue,
    users: readonly UserRecord[],
  ) {
    for (const user of users) this.index(user);
    this.decoyHash = hasher.hash(randomBytes(16).toString("hex"));
  }

  /**
   * Creates a user; `persist` makes the new row durable (the cluster commits it with its audit
   * record) before the user is known in memory.
   */
  async create(role: UserRole, username: string, password: string, persist: (write: () => void, user: UserInfo) => void): Promise<UserInfo> {
    const name = normaliseUsername(username);
    checkPasswordRules(password);
    if (this.byName.has(name)) throw new HsmError("USER_ALREADY_EXISTS", "a user with this name exists", { username: name });
    const passwordHash = await this.queue.run(INTERNAL_ORIGIN, () => this.hasher.hash(password));
    // Checked again: another create of the same name may have finished while hashing.
    if (this.byName.has(name)) throw new HsmError("USER_ALREADY_EXISTS", "a user with this name exists", { username: name });
    const userId = Math.max(0, ...this.byId.keys()) + 1;
    const user: UserRecord = { userId, role, username: name, passwordHash, loginFailures: 0, locked: false };
    persist(() => this.store.insertUser(user), toUserInfo(user));
    this.index(user);
    return toUserInfo(user);
  }

  /** A user already made durable by the caller (a seed) joins the directory. */
  adopt(user: UserRecord): void {
    this.index({ ...user });
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
   * Checks a password. An unknown user, a locked user (even with the right password) and a wrong password
   * are refused alike: the same scrypt work (a decoy hash for an unknown user), the same answer. The lock
   * is checked again after the (asynchronous) scrypt, so concurrent guesses count at most
   * MAX_LOGIN_FAILURES failures before the user is locked. A change of the failed-login count is handed to
   * `persist`, which the cluster commits with the login's record. `origin` (the client connection) bounds how
   * many checks one client may have queued; past it TOO_MANY_LOGINS is thrown before any work is done.
   */
  async authenticate(role: UserRole, username: string, password: string, origin: string, persist: (write: () => void) => void): Promise<LoginCheck> {
    const user = this.byName.get(username.toLowerCase());
    const checkedHash = user?.passwordHash ?? (await this.decoyHash);
    const lockedBefore = user?.locked ?? false;
    const good = await this.queue.run(origin, () => this.hasher.verify(password, checkedHash));
    if (!user) return { refused: "LOGIN_FAILED" };
    if (lockedBefore || user.locked) return { refused: "USER_LOCKED" };
    // The password was reset while this check ran: it was checked against the old one.
    if (user.passwordHash !== checkedHash) return { refused: "LOGIN_FAILED" };
    if (!good) {
      user.loginFailures += 1;
      if (user.loginFailures >= MAX_LOGIN_FAILURES) user.locked = true;
      persist(() => this.store.updateUser(user));
      return { refused: user.locked ? "USER_LOCKED" : "LOGIN_FAILED" };
    }
    if (user.role !== role) throw new HsmError("INVALID_USER_TYPE", `user is not a ${role}`, { user_type: role });
    if (user.loginFailures !== 0) {
      user.loginFailures = 0;
      persist(() => this.store.updateUser(user));
    }
    return { user: toUserInfo(user) };
  }

  /**
   * CloudHSM's way out of a lockout (cloudhsm_mgmt_util changePswd): clears the failed-login count and the
   * lock and, when `newPassword` is given, replaces the password. Unknown names are USER_NOT_FOUND: only
   * the admin and crypto officers get here, and both can list the users anyway.
   */
  async resetLogin(username: string, newPassword: string | undefined, persist: (write: () => void, user: UserInfo) => void): Promise<UserInfo> {
    if (newPassword !== undefined) checkPasswordRules(newPassword);
    const find = (): UserRecord => {
      const user = this.byName.get(username.toLowerCase());
      if (!user) throw new HsmError("USER_NOT_FOUND", "no user has this name", { username: username.slice(0, 64) });
      return user;
    };
    find();
    const passwordHash = newPassword === undefined ? undefined : await this.queue.run(INTERNAL_ORIGIN, () => this.hasher.hash(newPassword));
    const user = find();
    const updated: UserRecord = { ...user, passwordHash: passwordHash ?? user.passwordHash, loginFailures: 0, locked: false };
    // Durable first (with its audit record), then known in memory.
    persist(() => this.store.updateUser(updated), toUserInfo(updated));
    user.passwordHash = updated.passwordHash;
    user.loginFailures = 0;
    user.locked = false;
    return toUserInfo(user);
  }

  private index(user: UserRecord): void {
    this.byId.set(user.userId, user);
    this.byName.set(user.username, user);
  }
}
