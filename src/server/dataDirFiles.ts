// The data directory's files and their modes: what lives where, which modes are too wide, and what the daemon
// does about it (secrets with group/other access are refused, everything else is narrowed with a warning).
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { LOCK_FILE } from "./dataDirLock";
import { StartupError } from "./startupError";

/** Paths of the files the daemon keeps in its data directory. */
export interface DataDirLayout {
  readonly dir: string;
  readonly store: string;
  readonly storeWal: string;
  readonly storeShm: string;
  readonly audit: string;
  readonly masterKey: string;
  readonly adminSecret: string;
  readonly lock: string;
}

export function dataDirLayout(dir: string): DataDirLayout {
  const store = join(dir, "store.sqlite");
  return {
    dir,
    store,
    storeWal: `${store}-wal`,
    storeShm: `${store}-shm`,
    audit: join(dir, "audit.jsonl"),
    masterKey: join(dir, "master.key"),
    adminSecret: join(dir, "admin-secret"),
    lock: join(dir, LOCK_FILE),
  };
}

/** Something the daemon changed about the files and says so in a warning log line. */
export interface ModeFix {
  readonly path: string;
  readonly from: number;
  readonly to: number;
}

const GROUP_OTHER = 0o077;

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

/** Creates the directory (and missing parents) with mode 0700, under the process umask. */
export function createDataDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Size of a file, or undefined when it does not exist. */
export function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StartupError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StartupError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function narrow(path: string, from: number, to: number): ModeFix {
  try {
    chmodSync(path, to);
  } catch (err) {
    throw new StartupError(`${path} has mode ${octal(from)} and cannot be changed to ${octal(to)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { path, from, to };
}

/**
 * Refuses a secret file (master key, admin secret) that group or others may read or write: it may already
 * have been copied, so quietly narrowing it would hide a leak. The operator decides, then runs chmod.
 */
export function checkSecretFileMode(path: string): void {
  const mode = modeOf(path);
  if (mode === undefined || (mode & GROUP_OTHER) === 0) return;
  throw new StartupError(
    `${path} has mode ${octal(mode)}: group or others can access this secret, so it may have leaked; rotate it if so, then run chmod 600 ${path}`,
  );
}

/**
 * Narrows the directory to 0700 and the store, its WAL and shared-memory files, the audit log and the lock
 * file to 0600 where they are wider; they hold no secret in plaintext, so a warning is enough.
 */
export function narrowDataDirModes(layout: DataDirLayout): ModeFix[] {
  const fixes: ModeFix[] = [];
  const dirMode = modeOf(layout.dir);
  if (dirMode !== undefined && (dirMode & GROUP_OTHER) !== 0) fixes.push(narrow(layout.dir, dirMode, 0o700));
  for (const path of [layout.store, layout.storeWal, layout.storeShm, layout.audit, layout.lock]) {
    const mode = modeOf(path);
    if (mode !== undefined && (mode & GROUP_OTHER) !== 0) fixes.push(narrow(path, mode, 0o600));
  }
  return fixes;
}

export function describeModeFix(fix: ModeFix): { path: string; from: string; to: string } {
  return { path: fix.path, from: octal(fix.from), to: octal(fix.to) };
}

/** Creates `path` (0600, fsynced, never overwriting) holding `text`. */
function writeNewSecretFile(path: string, text: string): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads an existing admin secret file; an unreadable or short secret is refused, naming the file. */
export function readAdminSecretFile(path: string): string {
  let secret: string;
  try {
    secret = readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new StartupError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (secret.length < 16) throw new StartupError(`${path} holds ${secret.length} characters; an admin secret needs at least 16 (delete the file to have a new one generated)`);
  return secret;
}

/** Creates the admin secret file (0600) with a random secret and returns the secret. */
export function createAdminSecretFile(path: string): string {
  const secret = randomBytes(24).toString("base64url");
  try {
    writeNewSecretFile(path, secret + "\n");
  } catch (err) {
    throw new StartupError(`cannot create ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return secret;
}

/**
 * Moves what is left of an earlier store out of the way of a new one: the audit log and any WAL are renamed
 * to `<name>.<time>` (kept for the operator), the shared-memory index (derived data) is removed.
 */
export function setAsideEarlierStore(layout: DataDirLayout, now: Date): string[] {
  const suffix = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const moved: string[] = [];
  for (const path of [layout.audit, layout.storeWal]) {
    if (fileSize(path) === undefined) continue;
    const target = `${path}.${suffix}`;
    renameSync(path, target);
    moved.push(target);
  }
  rmSync(layout.storeShm, { force: true });
  syncDir(layout.dir);
  return moved;
}

/** fsyncs a directory so a create or rename in it survives a crash. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
