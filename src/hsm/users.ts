// HSM users: crypto users and crypto officers, scrypt password hashes, and login lockout.
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { HsmError } from "./errors";

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: object) => Promise<Buffer>;

export enum UserRole {
  CU = "CU",
  CO = "CO",
}

/** A user as stored: never the password, only its salted scrypt hash. */
export interface UserRecord {
  readonly userId: number;
  readonly role: UserRole;
  readonly username: string;
  passwordHash: string;
  loginFailures: number;
  locked: boolean;
}

/** What callers may learn about a user. */
export interface UserInfo {
  readonly userId: number;
  readonly role: UserRole;
  readonly username: string;
  readonly loginFailures: number;
  readonly locked: boolean;
}

/** Failed logins after which a user is locked (CloudHSM: 5). */
export const MAX_LOGIN_FAILURES = 5;
/** CloudHSM user names: at most 31 characters; only "_" as a special character. */
const USERNAME_PATTERN = /^[A-Za-z0-9_]{1,31}$/;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 32;

/** scrypt cost; the default costs tens of milliseconds per login on purpose. */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export function toUserInfo(user: UserRecord): UserInfo {
  return { userId: user.userId, role: user.role, username: user.username, loginFailures: user.loginFailures, locked: user.locked };
}

/** Normalises and checks a user name; CloudHSM names are case-insensitive. */
export function normaliseUsername(username: string): string {
  if (!USERNAME_PATTERN.test(username)) {
    throw new HsmError("USERNAME_INVALID", "user names are 1 to 31 letters, digits or underscores", {
      length: username.length,
    });
  }
  return username.toLowerCase();
}

export function checkPasswordRules(password: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH || password.includes("\uFFFD")) {
    throw new HsmError("PASSWORD_INVALID", `passwords are ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`, {
      min_length: PASSWORD_MIN_LENGTH,
      max_length: PASSWORD_MAX_LENGTH,
    });
  }
}

/** Hashes a password as "scrypt$N$r$p$salt$hash" (base64 parts). */
export async function hashPassword(password: string, cost: ScryptCost): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32, { N: cost.N, r: cost.r, p: cost.p, maxmem: 256 * cost.N * cost.r });
  return ["scrypt", cost.N, cost.r, cost.p, salt.toString("base64"), hash.toString("base64")].join("$");
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = encoded.split("$");
  if (scheme !== "scrypt" || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const N = Number(n);
  const R = Number(r);
  const actual = await scryptAsync(password, Buffer.from(salt, "base64"), expected.length, {
    N,
    r: R,
    p: Number(p),
    maxmem: 256 * N * R,
  });
  return timingSafeEqual(actual, expected);
}

/** Hashes and checks passwords; injected so tests can see which checks run. Both run off the event loop. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, encoded: string): Promise<boolean>;
}

/** The production hasher: node's asynchronous scrypt, which runs on libuv's threadpool. */
export function scryptHasher(cost: ScryptCost): PasswordHasher {
  return { hash: (password) => hashPassword(password, cost), verify: verifyPassword };
}
