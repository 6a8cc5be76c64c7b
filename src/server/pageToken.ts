// AIP-158 page tokens for FindKey: opaque, signed, and bound to the caller and the filters they were issued for.
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { HsmError } from "../hsm/errors";

/** Signs and checks page tokens; the key lives for the daemon's lifetime, so tokens do not survive a restart. */
export class PageTokenCodec {
  private readonly key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.key = key;
  }

  /** A fingerprint of whatever must not change between pages (caller, session and filters). */
  static scope(parts: unknown): string {
    return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 22);
  }

  encode(scope: string, afterHandle: number): string {
    const payload = Buffer.from(JSON.stringify({ s: scope, a: afterHandle })).toString("base64url");
    return `${payload}.${this.sign(payload)}`;
  }

  /** The handle after which the next page starts; PAGE_TOKEN_INVALID for malformed, foreign or mismatched tokens. */
  decode(token: string, scope: string): number {
    const invalid = () => new HsmError("PAGE_TOKEN_INVALID", "the page token is malformed, from another daemon, or for other filters");
    const [payload, signature, extra] = token.split(".");
    if (!payload || !signature || extra !== undefined) throw invalid();
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    } catch {
      throw invalid();
    }
    const { s, a } = (parsed ?? {}) as { s?: unknown; a?: unknown };
    if (s !== scope || typeof a !== "number" || !Number.isInteger(a) || a < 0) throw invalid();
    return a;
  }

  private sign(payload: string): string {
    return createHmac("sha256", this.key).update(payload).digest("base64url");
  }
}
