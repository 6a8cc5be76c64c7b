// Turns flag values into typed request fields (handles, key types, user lists, KCVs), refusing malformed ones locally.
//
// Only the form is checked here (a number, a documented constant, hex); whether the HSM accepts the
// value (a key type it cannot import, a user that does not exist) is the daemon's answer, so that the
// documented KMU return code is what the user sees.
import { UsageError } from "./flagParser";

const UINT32_MAX = 0xffffffff;

/** A decimal integer within [min, max]. */
export function parseInteger(flag: string, raw: string, min: number, max: number = UINT32_MAX): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} must be a decimal number, got "${raw}"`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new UsageError(`${flag} must be between ${min} and ${max}, got ${raw}`);
  return value;
}

/** A key handle (-k, -o, -w): a decimal number. */
export function parseHandle(flag: string, raw: string): number {
  return parseInteger(flag, raw, 0);
}

/** The documented KMU key type constants (-t): 0 RSA, 1 DSA, 3 EC, 16 generic secret, 18 RC4, 21 3DES, 31 AES. */
export const KEY_TYPE_CONSTANTS: readonly number[] = [0, 1, 3, 16, 18, 21, 31];

/** A key type that is one of `allowed`. */
export function parseKeyType(flag: string, raw: string, allowed: readonly number[]): number {
  const value = parseInteger(flag, raw, 0);
  if (!allowed.includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(", ")}, got ${raw}`);
  return value;
}

/** The documented key classes (-c): 2 public, 3 private, 4 secret. */
export const KEY_CLASS_CONSTANTS: readonly number[] = [2, 3, 4];

/** -u: one user id or a comma-separated list such as 5,6. */
export function parseUserIds(flag: string, raw: string): number[] {
  const parts = raw.split(",");
  const ids = parts.map((part) => {
    if (!/^\d+$/.test(part.trim())) throw new UsageError(`${flag} must be user ids separated by commas, e.g. 5,6; got "${raw}"`);
    return parseInteger(flag, part.trim(), 1);
  });
  if (new Set(ids).size !== ids.length) throw new UsageError(`${flag} names a user twice: "${raw}"`);
  return ids;
}

/** -kcv: the 3-byte key check value as 6 hex digits, with or without 0x. */
export function parseKcv(flag: string, raw: string): Buffer {
  const hex = raw.replace(/^0x/i, "");
  if (!/^[0-9a-fA-F]{6}$/.test(hex)) throw new UsageError(`${flag} must be 6 hex digits (3 bytes), e.g. 0xc33cbd; got "${raw}"`);
  return Buffer.from(hex, "hex");
}

/** Error2String -r: a hex code with the required 0x prefix, e.g. 0xdb. */
export function parseReturnCode(flag: string, raw: string): number {
  if (!/^0x[0-9a-fA-F]{1,8}$/.test(raw)) throw new UsageError(`${flag} must be a hex code with the 0x prefix, e.g. 0xdb; got "${raw}"`);
  return Number.parseInt(raw.slice(2), 16);
}

/** -sess for findKey: 1 session keys, 0 token keys. */
export function parseSessionFilter(flag: string, raw: string): boolean {
  if (raw !== "0" && raw !== "1") throw new UsageError(`${flag} must be 0 (token keys) or 1 (session keys), got "${raw}"`);
  return raw === "1";
}
