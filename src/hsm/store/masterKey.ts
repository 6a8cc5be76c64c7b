// The master key that encrypts key material at rest: taken from configuration or created once with mode 0600.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { MASTER_KEY_LENGTH } from "../crypto/sealedBox";

/** Parses a configured master key: 64 hex digits or base64 of 32 bytes. */
export function parseMasterKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, "hex") : Buffer.from(trimmed, "base64");
  if (key.length !== MASTER_KEY_LENGTH) {
    throw new Error(`master key must be 32 bytes, given as 64 hex digits or base64 (got ${key.length} bytes)`);
  }
  return key;
}

/** Reads the master key file, creating it (0600, fsynced) with a fresh random key if absent. */
export function loadOrCreateMasterKeyFile(path: string): Buffer {
  try {
    const fd = openSync(path, "wx", 0o600);
    try {
      writeSync(fd, randomBytes(MASTER_KEY_LENGTH).toString("hex") + "\n");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return parseMasterKey(readFileSync(path, "utf8"));
}
