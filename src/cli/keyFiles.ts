// Reads and writes the files kmu handles: plaintext key files (-f, -wk), exported keys and attribute dumps (-out).
import { readFile, writeFile } from "node:fs/promises";
import { LocalError } from "./failures";

const AES_KEY_LENGTHS = [16, 24, 32];

/** The raw bytes of a key file; the caller zeroes them after use. */
export async function readKeyFile(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new LocalError(`cannot read ${flag} file "${path}": ${(err as Error).message}`, "FILE_UNREADABLE");
  }
}

/** -wk: a plaintext AES key of 16, 24 or 32 bytes (the host wraps or unwraps with it). */
export async function readAesKeyFile(flag: string, path: string): Promise<Buffer> {
  const key = await readKeyFile(flag, path);
  if (!AES_KEY_LENGTHS.includes(key.length)) {
    const length = key.length;
    key.fill(0);
    throw new LocalError(`${flag} file "${path}" must hold a plaintext AES key of 16, 24 or 32 bytes; it has ${length}`, "WRAPPING_KEY_FILE_INVALID");
  }
  return key;
}

/** Writes (overwriting, as KMU does without warning) an output file; secret content gets mode 0600. */
export async function writeOutFile(flag: string, path: string, content: Buffer | string, secret: boolean): Promise<void> {
  try {
    await writeFile(path, content, secret ? { mode: 0o600 } : {});
  } catch (err) {
    throw new LocalError(`cannot write ${flag} file "${path}": ${(err as Error).message}`, "FILE_UNWRITABLE");
  }
}
