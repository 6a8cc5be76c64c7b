// The master key that encrypts key material at rest: taken from configuration, or kept in a 0600 file.
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

/** Reads an existing master key file; a file that is unreadable or not a key is an error naming the file. */
export function readMasterKeyFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read master key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  try {
    return parseMasterKey(text);
  } catch (err) {
    throw new Error(`master key file ${path} is malformed: ${(err as Error).message}`, { cause: err });
  }
}

/** Creates the master key file (0600, fsynced) with a fresh random key; fails if the file exists. */
export function createMasterKeyFile(path: string): Buffer {
  const key = randomBytes(MASTER_KEY_LENGTH);
  const fd = openSync(path, "wx", 0o600);
  try {
    writeSync(fd, key.toString("hex") + "\n");
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return key;
}
