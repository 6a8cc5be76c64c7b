// Login sessions: bearer tokens mapped to the logged-in user, in memory only.
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

/**
 * Holds live sessions. Tokens are looked up by their SHA-256 so the table never holds a
 * usable token, and the session id (which keys refer to) is not the token.
 */
export class SessionRegistry {
  private readonly byTokenHash = new Map<string, LoginSession>();
  private sequence = 0;

  open(user: { userId: number; role: UserRole; username: string }, now: number, nodeId: number): { token: string; session: LoginSession } {
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
    this.byTokenHash.set(tokenHash(token), session);
    return { token, session };
  }

  /** The session of a token, or UNAUTHENTICATED. */
  resolve(token: string | undefined): LoginSession {
    const session = token ? this.byTokenHash.get(tokenHash(token)) : undefined;
    if (!session) throw new HsmError("UNAUTHENTICATED", "no valid session token; log in first");
    return session;
  }

  close(token: string): LoginSession | undefined {
    const key = tokenHash(token);
    const session = this.byTokenHash.get(key);
    this.byTokenHash.delete(key);
    return session;
  }

  get size(): number {
    return this.byTokenHash.size;
  }
}

function tokenHash(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
