// Named snapshots of the store: kept in memory (in-memory stores, tests) or as SQLite files under the data directory.
import Database from "better-sqlite3";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { HsmError } from "../errors";
import { HsmStore, StoreContents } from "./hsmStore";
import { SqliteStore } from "./sqliteStore";

export interface SnapshotInfo {
  readonly name: string;
  readonly userCount: number;
  readonly keyCount: number;
  readonly savedAtMs: number;
}

/** Where the cluster's snapshots are kept. Each save replaces an earlier snapshot of the same name as a whole. */
export interface SnapshotShelf {
  /** Saves a consistent copy of `store` under `name`, durably before it returns. */
  save(name: string, store: HsmStore, now: number): SnapshotInfo;
  /** A snapshot's users and keys, every row checked (MAC, sealed material); SNAPSHOT_NOT_FOUND or SNAPSHOT_UNREADABLE otherwise. */
  load(name: string): StoreContents;
  /** Every snapshot, in name order. */
  list(): SnapshotInfo[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Snapshot names become file names: a closed alphabet, so no name can leave the snapshot directory. */
export function checkSnapshotName(name: string): void {
  if (!NAME.test(name) || name.includes("..")) {
    throw new HsmError("SNAPSHOT_NAME_INVALID", "snapshot names are 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit", {
      length: name.length,
    });
  }
}

function notFound(name: string): HsmError {
  return new HsmError("SNAPSHOT_NOT_FOUND", "no snapshot has this name", { name });
}

/** Snapshots held as row copies in memory; they end with the process. */
export class MemorySnapshotShelf implements SnapshotShelf {
  private readonly saved = new Map<string, { contents: StoreContents; info: SnapshotInfo }>();

  save(name: string, store: HsmStore, now: number): SnapshotInfo {
    checkSnapshotName(name);
    const contents = store.exportContents();
    const info = { name, userCount: contents.users.length, keyCount: contents.keys.length, savedAtMs: now };
    this.saved.set(name, { contents, info });
    return info;
  }

  load(name: string): StoreContents {
    checkSnapshotName(name);
    const found = this.saved.get(name);
    if (!found) throw notFound(name);
    return found.contents;
  }

  list(): SnapshotInfo[] {
    return [...this.saved.values()].map((s) => s.info).sort((a, b) => a.name.localeCompare(b.name));
  }
}

const SUFFIX = ".snapshot.sqlite";

/**
 * Snapshots as SQLite files `<dir>/<name>.snapshot.sqlite`, mode 0600, sealed and MACed under the store's
 * master key like the store itself. A save writes a temporary file (VACUUM INTO: a consistent copy), fsyncs
 * it and renames it over the name, so a crash leaves the old snapshot or the new one, never half of one.
 */
export class FileSnapshotShelf implements SnapshotShelf {
  constructor(
    private readonly dir: string,
    private readonly masterKey: Buffer,
  ) {}

  save(name: string, store: HsmStore, now: number): SnapshotInfo {
    checkSnapshotName(name);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const target = this.pathOf(name);
    const temporary = join(this.dir, `.${name}.${process.pid}.tmp`);
    rmSync(temporary, { force: true });
    try {
      store.copyTo(temporary);
      chmodSync(temporary, 0o600);
      fsyncPath(temporary);
      renameSync(temporary, target);
      fsyncPath(this.dir);
    } catch (err) {
      rmSync(temporary, { force: true });
      throw err;
    }
    return { ...this.counts(name, target), savedAtMs: now };
  }

  load(name: string): StoreContents {
    checkSnapshotName(name);
    const path = this.pathOf(name);
    if (!existsSync(path)) throw notFound(name);
    let snapshot: SqliteStore | undefined;
    try {
      snapshot = SqliteStore.openReadOnly(path, this.masterKey);
      // load() checks every row's MAC and opens every sealed key: a snapshot edited outside the daemon is refused.
      snapshot.load();
      return snapshot.exportContents();
    } catch (err) {
      throw new HsmError("SNAPSHOT_UNREADABLE", "the snapshot cannot be read: damaged, changed outside the daemon or sealed under another master key", {
        name,
        problem: err instanceof Error ? err.name : "unknown",
      });
    } finally {
      snapshot?.close();
    }
  }

  list(): SnapshotInfo[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((file) => file.endsWith(SUFFIX) && !file.startsWith("."))
      .map((file) => file.slice(0, -SUFFIX.length))
      .sort((a, b) => a.localeCompare(b))
      .map((name) => {
        const path = this.pathOf(name);
        return { ...this.counts(name, path), savedAtMs: Math.floor(statSync(path).mtimeMs) };
      });
  }

  private pathOf(name: string): string {
    return join(this.dir, name + SUFFIX);
  }

  private counts(name: string, path: string): { name: string; userCount: number; keyCount: number } {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const count = (table: string): number => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      return { name, userCount: count("users"), keyCount: count("keys") };
    } catch {
      return { name, userCount: 0, keyCount: 0 };
    } finally {
      db.close();
    }
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
