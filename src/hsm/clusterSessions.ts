// Users and login sessions of the cluster: user creation and login reset, login and logout, expiry and its sweep, sessions held by streams.
import { Clock } from "./clock";
import { NodeResult } from "./clusterTypes";
import { HsmError } from "./errors";
import { GroupCommit, noWrite } from "./groupCommit";
import { LoginSession, SessionEndListener, SessionRegistry } from "./sessions";
import { Timers } from "./timers";
import { LoginCheck, UserDirectory } from "./userDirectory";
import { UserInfo, UserRole } from "./users";

export interface SessionParts {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly commits: GroupCommit;
  readonly users: UserDirectory;
  readonly sessions: SessionRegistry;
  readonly nodeCount: number;
  /** Where an ended session's keys go, and the node results a logout answers with. */
  readonly placement: {
    discardSessionKeys(sessionId: string): void;
    nodeResults(): NodeResult[];
  };
}

/** Every change to users and sessions is audited, and commits with its record. */
export class ClusterSessions {
  private sweep: { at: number; timer: { cancel(): void } } | undefined;
  private loginCount = 0;

  constructor(private readonly parts: SessionParts) {}

  async createUser(role: UserRole, username: string, password: string): Promise<UserInfo> {
    const { users, commits } = this.parts;
    try {
      // The new user's row and its record are one commit.
      return await users.create(role, username, password, (write, user) =>
        commits.commit(write, [{ opcode: "CN_CREATE_USER", node: 0, user: "admin", result: "SUCCESS", detail: `${role} ${user.username} id ${user.userId}` }]),
      );
    } catch (err) {
      commits.record({ opcode: "CN_CREATE_USER", node: 0, user: "admin", result: failureReason(err), detail: `${role}` });
      throw err;
    }
  }

  /**
   * Clears a user's failed-login count and lock and, with `newPassword`, replaces the password: the admin
   * service's UnlockUser (`by` "admin") and a crypto officer's ChangeUserPassword (`by` the officer's session).
   */
  async resetUserLogin(by: "admin" | LoginSession, username: string, newPassword: string | undefined): Promise<UserInfo> {
    const { users, commits } = this.parts;
    const actor = by === "admin" ? "admin" : by.userId;
    const opcode = newPassword === undefined ? "CN_UNLOCK_USER" : "CN_CHANGE_PSWD";
    try {
      if (by !== "admin" && by.role !== UserRole.CO) {
        throw new HsmError("INVALID_USER_TYPE", "only a crypto officer changes other users' passwords", { user_type: by.role });
      }
      // The new credentials and their record are one commit.
      return await users.resetLogin(username, newPassword, (write, user) =>
        commits.commit(write, [{ opcode, node: 0, user: actor, result: "SUCCESS", detail: `${user.role} ${user.username} id ${user.userId}` }]),
      );
    } catch (err) {
      commits.record({ opcode, node: 0, user: actor, result: failureReason(err), detail: username.slice(0, 64) });
      throw err;
    }
  }

  listUsers(): UserInfo[] {
    return this.parts.users.list();
  }

  /** Open login sessions per node id. */
  openSessionsPerNode(): Map<number, number> {
    return this.parts.sessions.openPerNode();
  }

  findUserByName(username: string): UserInfo | undefined {
    return this.parts.users.byUsername(username);
  }

  /**
   * Logs in (see UserDirectory.authenticate for lockout and enumeration rules) and opens a session.
   * `origin` names the client connection (in-process callers share "local"): it bounds how many logins one
   * client may have in progress.
   */
  async login(role: UserRole, username: string, password: string, origin = "local"): Promise<{ token: string; session: LoginSession }> {
    const { users, commits, sessions, clock, nodeCount } = this.parts;
    // The failed-login counter's change, if any, commits with this login's record.
    const loginState: { write?: () => void } = {};
    const persist = (write: () => void): void => {
      loginState.write = write;
    };
    // Batched (submit): a flood of logins costs one commit per turn, not one fsync each on the event loop.
    const refuse = (result: string): Promise<void> =>
      commits.submit(loginState.write ?? noWrite, [{ opcode: "CN_LOGIN", node: 0, user: username.slice(0, 64), result, detail: role }]);
    let check: LoginCheck;
    try {
      check = await users.authenticate(role, username, password, origin, persist);
    } catch (err) {
      // TOO_MANY_LOGINS is refused before any check, and not audited: a flood of logins must not become a
      // flood of audit records (the call log still has one line per refusal).
      const reason = failureReason(err);
      if (reason !== "TOO_MANY_LOGINS") await refuse(reason);
      throw err;
    }
    if ("refused" in check) {
      // The audit log tells a locked user apart; the caller is told only that the login failed.
      await refuse(check.refused);
      throw new HsmError("LOGIN_FAILED", "user name or password is wrong");
    }
    const user = check.user;
    // Sessions spread over the nodes, as the CloudHSM client balances its connections.
    const nodeId = this.loginCount++ % nodeCount;
    let opened: { token: string; session: LoginSession };
    try {
      opened = sessions.open(user, clock.now(), nodeId);
    } catch (err) {
      if (loginState.write) await commits.submit(loginState.write);
      throw err;
    }
    try {
      await commits.submit(loginState.write ?? noWrite, [{ opcode: "CN_LOGIN", node: nodeId, user: user.userId, result: "SUCCESS", detail: role }]);
    } catch (err) {
      // Not durable, so no session: nobody has seen its token yet.
      sessions.close(opened.token);
      throw err;
    }
    this.scheduleSweep();
    return opened;
  }

  /** The session of a token; UNAUTHENTICATED if none, SESSION_EXPIRED (and its session keys gone) if expired. */
  session(token: string | undefined): LoginSession {
    try {
      return this.parts.sessions.resolve(token, this.parts.clock.now());
    } catch (err) {
      if (err instanceof HsmError && err.reason === "SESSION_EXPIRED") this.expireSessions();
      throw err;
    }
  }

  /**
   * Holds a session open while a stream (a watch) uses it: it does not idle out meanwhile. `onEnd`
   * is called if the session is logged out or reaches its absolute lifetime first. Call the returned
   * function when the stream ends.
   */
  useSession(session: LoginSession, onEnd: SessionEndListener): () => void {
    const release = this.parts.sessions.hold(session.sessionId, onEnd);
    return () => {
      release(this.parts.clock.now());
      this.scheduleSweep();
    };
  }

  /** Ends every expired session; their session keys vanish, visibly in the event log. */
  expireSessions(): void {
    const { sessions, commits, placement, clock } = this.parts;
    for (const { session, streams } of sessions.expire(clock.now())) {
      commits.record({ opcode: "CN_SESSION_EXPIRED", node: session.nodeId, user: session.userId, result: "SUCCESS" });
      placement.discardSessionKeys(session.sessionId);
      // After the discards, so a watch still delivers its session keys' removal before it ends.
      for (const onEnd of streams) onEnd(new HsmError("SESSION_EXPIRED", "the session has expired; log in again"));
    }
  }

  /** Ends a session; its session keys vanish. */
  logout(token: string): NodeResult[] {
    const { sessions, commits, placement } = this.parts;
    const ended = sessions.close(token);
    if (!ended) throw new HsmError("UNAUTHENTICATED", "no valid session token; log in first");
    const { session, streams } = ended;
    commits.record({ opcode: "CN_LOGOUT", node: session.nodeId, user: session.userId, result: "SUCCESS" });
    placement.discardSessionKeys(session.sessionId);
    for (const onEnd of streams) onEnd(new HsmError("UNAUTHENTICATED", "the session was logged out; log in again"));
    return placement.nodeResults();
  }

  /** When the session expires if left unused from now on (GetLoginStatus). */
  expiresAt(session: LoginSession): number {
    return this.parts.sessions.expiresAt(session.sessionId) ?? this.parts.clock.now();
  }

  /** Open login sessions. */
  get openSessions(): number {
    return this.parts.sessions.size;
  }

  close(): void {
    this.sweep?.timer.cancel();
  }

  /** Keeps one timer set for the earliest possible expiry, so idle sessions end without a call. */
  private scheduleSweep(): void {
    const { sessions, timers, clock } = this.parts;
    const next = sessions.nextExpiry();
    if (next === undefined || (this.sweep && this.sweep.at <= next)) return;
    this.sweep?.timer.cancel();
    const timer = timers.after(Math.max(0, next - clock.now()), () => {
      this.sweep = undefined;
      this.expireSessions();
      this.scheduleSweep();
    });
    this.sweep = { at: next, timer };
  }
}

function failureReason(err: unknown): string {
  return err instanceof HsmError ? err.reason : "INTERNAL";
}
