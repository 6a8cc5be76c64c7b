// Login sessions: bearer tokens mapped to the logged-in user, in memory only, with idle and absolute expiry.
import { createHash, randomBytes } from "node:crypto";
import { HsmError } from "./errors";
import { UserRole } from "./users";

/** One login session; session keys are bound to `sessionId`. */
export interface LoginSession {
  readonly sessionId: string;
  readonly userId: number;
  readonly role: UserRole;
  readonly username: string;
  readonly createdAt: number;
  /** The node this session's session keys live on. */
  readonly nodeId: number;
}

/** How long sessions live and how many a user may hold. */
export interface SessionLimits {
  /** A session unused this long expires. */
  readonly idleMs: number;
  /** A session expires this long after login, used or not. */
  readonly maxLifetimeMs: number;
  /** Open sessions per user; the next login is refused. */
  readonly perUser: number;
  /** Open streams (watches) per session; the next is refused. */
  readonly watchesPerSession: number;
}

/** Told why the session ended; an open stream ends with that error. */
export type SessionEndListener = (reason: HsmError) => void;

/** A session that was closed or expired, with the streams that were still using it. */
export interface EndedSession {
  readonly session: LoginSession;
  readonly streams: readonly SessionEndListener[];
}

interface Entry {
  readonly session: LoginSession;
  lastUsedAt: number;
  /** Open streams using the session (watches): while any is open the session is in use and does not idle out. */
  readonly streams: Set<SessionEndListener>;
}

/**
 * Holds live sessions. Tokens are looked up by their SHA-256 so the table never holds a
 * usable token, and the session id (which keys refer to) is not the token.
 */
export class SessionRegistry {
  private readonly byTokenHash = new Map<string, Entry>();
  private readonly bySessionId = new Map<string, Entry>();
  /** Tokens of expired sessions, remembered until their absolute lifetime would have ended (at least one idle period), so they keep answering SESSION_EXPIRED. */
  private readonly expiredTokens = new Map<string, number>();
  private sequence = 0;

  constructor(readonly limits: SessionLimits) {}

  open(user: { userId: number; role: UserRole; username: string }, now: number, nodeId: number): { token: string; session: LoginSession } {
    const open = [...this.byTokenHash.values()].filter((e) => e.session.userId === user.userId).length;
    if (open >= this.limits.perUser) {
      throw new HsmError("TOO_MANY_SESSIONS", "the user has too many open sessions; log out of one first", {
        max_sessions: this.limits.perUser,
      });
    }
    const token = randomBytes(32).toString("base64url");
    this.sequence += 1;
    const session: LoginSession = {
      sessionId: `s${this.sequence}-${randomBytes(6).toString("hex")}`,
      userId: user.userId,
      role: user.role,
      username: user.username,
      createdAt: now,
      nodeId,
    };
    const entry: Entry = { session, lastUsedAt: now, streams: new Set() };
    this.byTokenHash.set(tokenHash(token), entry);
    this.bySessionId.set(session.sessionId, entry);
    return { token, session };
  }

  /** The live session of a token (marking it used), or UNAUTHENTICATED. Expired sessions are left for `expire`. */
  resolve(token: string | undefined, now: number): LoginSession {
    const hash = token ? tokenHash(token) : undefined;
    const entry = hash ? this.byTokenHash.get(hash) : undefined;
    if (!entry) {
      if (hash && this.expiredTokens.has(hash)) throw new HsmError("SESSION_EXPIRED", "the session has expired; log in again");
      throw new HsmError("UNAUTHENTICATED", "no valid session token; log in first");
    }
    if (this.isExpired(entry, now)) throw new HsmError("SESSION_EXPIRED", "the session has expired; log in again");
    entry.lastUsedAt = now;
    return entry.session;
  }

  close(token: string): EndedSession | undefined {
    const key = tokenHash(token);
    const entry = this.byTokenHash.get(key);
    if (!entry) return undefined;
    this.byTokenHash.delete(key);
    this.bySessionId.delete(entry.session.sessionId);
    return ended(entry);
  }

  /** Removes and returns every expired session; their tokens keep answering SESSION_EXPIRED for a while. */
  expire(now: number): EndedSession[] {
    for (const [hash, forgetAt] of this.expiredTokens) if (forgetAt <= now) this.expiredTokens.delete(hash);
    const expired: EndedSession[] = [];
    for (const [key, entry] of this.byTokenHash) {
      if (this.isExpired(entry, now)) {
        this.byTokenHash.delete(key);
        this.bySessionId.delete(entry.session.sessionId);
        // Remembered at least an idle period, so a session that reached its lifetime also says SESSION_EXPIRED for a while.
        this.expiredTokens.set(key, Math.max(now + this.limits.idleMs, entry.session.createdAt + this.limits.maxLifetimeMs));
        expired.push(ended(entry));
      }
    }
    return expired;
  }

  /**
   * Marks a live session in use by a stream (a watch) until the returned release is called with the
   * time: it does not idle out meanwhile, and if it is closed or expires first, `close`/`expire`
   * hand `onEnd` back with it. Releasing twice, or after the session ended, does nothing.
   * A session holds at most `watchesPerSession` streams (each costs memory and a scan per event):
   * past that, TOO_MANY_WATCHES until one ends.
   */
  hold(sessionId: string, onEnd: SessionEndListener): (now: number) => void {
    const entry = this.bySessionId.get(sessionId);
    if (!entry) return () => undefined;
    const max = this.limits.watchesPerSession;
    if (entry.streams.size >= max) {
      throw new HsmError("TOO_MANY_WATCHES", "the session has too many open watches; end one first", { max_watches: max });
    }
    entry.streams.add(onEnd);
    return (now) => {
      if (entry.streams.delete(onEnd)) entry.lastUsedAt = now;
    };
  }

  /** Removes and returns every session (the cluster's state was replaced); their tokens answer UNAUTHENTICATED from then on. */
  closeAll(): EndedSession[] {
    const all = [...this.byTokenHash.values()].map(ended);
    this.byTokenHash.clear();
    this.bySessionId.clear();
    this.expiredTokens.clear();
    return all;
  }

  /** When the next session may expire, for scheduling the sweep; undefined if none are open. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const entry of this.byTokenHash.values()) {
      const absolute = entry.session.createdAt + this.limits.maxLifetimeMs;
      const at = entry.streams.size > 0 ? absolute : Math.min(entry.lastUsedAt + this.limits.idleMs, absolute);
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  get size(): number {
    return this.byTokenHash.size;
  }

  /** When a live session expires if left unused from now on (only its absolute lifetime while a stream holds it). */
  expiresAt(sessionId: string): number | undefined {
    const entry = this.bySessionId.get(sessionId);
    if (!entry) return undefined;
    const absolute = entry.session.createdAt + this.limits.maxLifetimeMs;
    return entry.streams.size > 0 ? absolute : Math.min(entry.lastUsedAt + this.limits.idleMs, absolute);
  }

  /** Open sessions per node id (the node their session keys live on); nodes without any are absent. */
  openPerNode(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const entry of this.byTokenHash.values()) counts.set(entry.session.nodeId, (counts.get(entry.session.nodeId) ?? 0) + 1);
    return counts;
  }

  private isExpired(entry: Entry, now: number): boolean {
    const idle = entry.streams.size === 0 && now - entry.lastUsedAt >= this.limits.idleMs;
    return idle || now - entry.session.createdAt >= this.limits.maxLifetimeMs;
  }
}

function ended(entry: Entry): EndedSession {
  return { session: entry.session, streams: [...entry.streams] };
}

function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
