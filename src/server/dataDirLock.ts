// The data directory's exclusive lock: one daemon per directory, held for the life of the process.
//
// Node has no flock(), so the lock is SQLite's own POSIX record lock on `<data-dir>/daemon.lock`, an empty
// SQLite file opened in EXCLUSIVE locking mode. A kernel lock needs no staleness rule: it is released when
// the process exits however it exits (kill -9 included), a reused pid cannot hold it, and two daemons
// starting at the same moment cannot both win. The file itself is never deleted (deleting a lock file
// while another process has it open is how two processes end up holding "the" lock).
import Database from "better-sqlite3";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { StartupError } from "./startupError";

export const LOCK_FILE = "daemon.lock";

/** Another process holds the data directory. */
export class DataDirLockedError extends StartupError {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number | undefined,
  ) {
    super(
      holderPid !== undefined
        ? `data directory ${dataDir} is in use by another local-cloudhsm daemon (pid ${holderPid}); stop it or give another --data-dir`
        : `data directory ${dataDir} is in use by another process (its pid is not visible from here); stop it or give another --data-dir`,
    );
    this.name = "DataDirLockedError";
  }
}

export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  /** Takes the lock or throws DataDirLockedError naming the holder's pid; never waits. */
  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, LOCK_FILE);
    let db: Database.Database;
    try {
      // timeout 0: a held lock is an answer, not something to wait for.
      db = new Database(path, { timeout: 0 });
    } catch (err) {
      throw new StartupError(`cannot open lock file ${path}: ${(err as Error).message}`);
    }
    try {
      db.pragma("locking_mode = EXCLUSIVE");
      db.pragma("journal_mode = MEMORY");
      // The first write in EXCLUSIVE mode takes the exclusive lock, and the connection keeps it until closed.
      db.exec("BEGIN EXCLUSIVE; COMMIT");
      return new DataDirLock(db);
    } catch (err) {
      db.close();
      if ((err as { code?: unknown }).code === "SQLITE_BUSY") throw new DataDirLockedError(dataDir, lockHolderPid(path));
      throw new StartupError(`cannot lock ${path}: ${(err as Error).message}`);
    }
  }

  /** Releases the lock (process exit releases it too). */
  release(): void {
    if (this.db.open) this.db.close();
  }
}

/** The pid holding a POSIX lock on `path`, from the kernel's table (Linux); undefined where it cannot be seen. */
function lockHolderPid(path: string): number | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return holderPidFromProcLocks(readFileSync("/proc/locks", "utf8"), linuxDevice(st.dev), st.ino);
  } catch {
    return undefined;
  }
}

/** A device number split as /proc/locks prints it. */
export interface Device {
  readonly major: bigint;
  readonly minor: bigint;
}

/** Splits a Linux st_dev into major and minor (glibc's encoding). */
export function linuxDevice(dev: bigint): Device {
  return {
    major: ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n),
    minor: (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n),
  };
}

/**
 * Finds the pid of the process holding a POSIX lock on the file (device, inode) in the text of /proc/locks,
 * whose lines read `1: POSIX  ADVISORY  WRITE 4242 fe:00:2148208 1073741824 1073742335`. Lines of waiting
 * lockers (`1: -> POSIX ...`) are skipped. On overlay file systems the kernel may print the underlying
 * device, so a lock on the same inode of another device counts when it is the only one.
 */
export function holderPidFromProcLocks(text: string, device: Device, inode: bigint): number | undefined {
  const onInode: { pid: number; sameDevice: boolean }[] = [];
  for (const line of text.split("\n")) {
    const m = /^\d+:\s+POSIX\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m || BigInt(m[4]!) !== inode) continue;
    const pid = Number(m[1]);
    if (pid <= 0) continue;
    onInode.push({ pid, sameDevice: BigInt(`0x${m[2]!}`) === device.major && BigInt(`0x${m[3]!}`) === device.minor });
  }
  const exact = onInode.find((l) => l.sameDevice);
  if (exact) return exact.pid;
  const pids = new Set(onInode.map((l) => l.pid));
  return pids.size === 1 ? [...pids][0] : undefined;
}
