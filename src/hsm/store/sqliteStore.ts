// The durable store: SQLite in WAL mode with fsync on commit, key material sealed with AES-256-GCM, rows MACed.
import Database from "better-sqlite3";
import { AuditHead, AuditRecord, GENESIS_HEAD, StoredAuditState } from "../auditChain";
import { SealedBox, SealedBoxOpenError } from "../crypto/sealedBox";
import { KeyFlags, KeyObject, MATERIAL_UNTIL_USED } from "../key";
import { UserRecord, UserRole } from "../users";
import { FIRST_KEY_HANDLE, HsmStore, PersistedState, StoredKey, StoreContents, StoredRow } from "./hsmStore";
import { KeyMacCheck } from "./keyMacCheck";
import { KeyHexRow, KeyRowColumns, RowMac, UserRowColumns } from "./rowMac";
import { SCHEMA_SQL, SCHEMA_VERSION } from "./schema";

/** Options of SqliteStore.load. */
export interface LoadOptions {
  /** From about this many keys, key row MACs are checked on a worker thread beside the load (default MAC_WORKER_FROM_KEYS). */
  readonly macWorkerFromKeys?: number;
}

/** Below this many keys a worker thread (some 30 ms to start) costs more than the MACs it would take over. */
export const MAC_WORKER_FROM_KEYS = 2_000;

/** Raised when the store cannot be opened: another version, another master key, or not a store. */
export class StoreOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreOpenError";
  }
}

/**
 * Raised at load when a row was changed outside the daemon (its MAC or its sealed material does not
 * verify): the daemon refuses to start rather than honour or silently drop it. One line, naming the row.
 */
export class StoreIntegrityError extends Error {
  constructor(
    path: string,
    /** The row, e.g. "key handle 7" or "user id 2". */
    readonly subject: string,
  ) {
    super(`store ${path}: ${subject} fails its integrity check (changed outside the daemon, or corrupted); restore the data directory from a backup`);
    this.name = "StoreIntegrityError";
  }
}

const MASTER_KEY_PROBE = "local-cloudhsm master key probe";

interface KeyRow extends KeyRowColumns {
  readonly row_mac: Buffer;
}

interface UserRow extends UserRowColumns {
  readonly row_mac: Buffer;
}

export class SqliteStore implements HsmStore {
  private readonly db: Database.Database;
  private readonly sealer: SealedBox;
  private readonly macs: RowMac;
  private readonly statements;

  private constructor(
    db: Database.Database,
    sealer: SealedBox,
    macs: RowMac,
    private readonly path: string,
  ) {
    this.db = db;
    this.sealer = sealer;
    this.macs = macs;
    this.statements = {
      setMeta: db.prepare("INSERT INTO meta(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value"),
      insertUser: db.prepare(
        "INSERT INTO users(user_id, role, username, password_hash, login_failures, locked, row_mac) VALUES (@user_id, @role, @username, @password_hash, @login_failures, @locked, @row_mac)",
      ),
      updateUser: db.prepare("UPDATE users SET password_hash = ?, login_failures = ?, locked = ?, row_mac = ? WHERE user_id = ?"),
      insertKey: db.prepare(
        `INSERT INTO keys(handle, owner_id, key_class, key_type, label, key_id, flags, value_len, kcv,
           material_nonce, material_tag, material_sealed, acknowledged, row_mac)
         VALUES (@handle, @owner_id, @key_class, @key_type, @label, @key_id, @flags, @value_len, @kcv,
           @material_nonce, @material_tag, @material_sealed, @acknowledged, @row_mac)`,
      ),
      selectKey: db.prepare("SELECT * FROM keys WHERE handle = ?"),
      selectShares: db.prepare("SELECT user_id FROM key_shares WHERE handle = ?").pluck(),
      setKeyMac: db.prepare("UPDATE keys SET row_mac = ? WHERE handle = ?"),
      insertShare: db.prepare("INSERT INTO key_shares(handle, user_id) VALUES (?, ?)"),
      deleteShares: db.prepare("DELETE FROM key_shares WHERE handle = ?"),
      insertNode: db.prepare("INSERT OR IGNORE INTO key_nodes(handle, node_id) VALUES (?, ?)"),
      acknowledge: db.prepare("UPDATE keys SET acknowledged = 1 WHERE handle = ?"),
      deleteKey: db.prepare("DELETE FROM keys WHERE handle = ?"),
    };
  }

  /**
   * Opens (creating if new) the store at `path`; ":memory:" gives a private in-memory store.
   * Refuses a store written by another schema version or sealed under another master key.
   */
  static open(path: string, masterKey: Buffer): SqliteStore {
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (err) {
      throw new StoreOpenError(`cannot open store ${path}: ${(err as Error).message}`);
    }
    try {
      db.pragma("journal_mode = WAL");
      // FULL makes every commit fsync the WAL: an acknowledged write survives power loss and kill -9.
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      // A damaged page would otherwise show up later as a wrong answer or a failed call; refuse it at start.
      const check = db.pragma("quick_check(1)", { simple: true });
      if (check !== "ok") throw new StoreOpenError(`store ${path} is damaged (${String(check)}); restore it from a backup`);
      return SqliteStore.over(db, masterKey, path);
    } catch (err) {
      db.close();
      if (err instanceof StoreOpenError) throw err;
      const code = (err as { code?: unknown }).code;
      if (code === "SQLITE_CORRUPT" || code === "SQLITE_NOTADB") {
        throw new StoreOpenError(`store ${path} is damaged (${(err as Error).message}); restore it from a backup`);
      }
      throw new StoreOpenError(`cannot open store ${path}: ${(err as Error).message}`);
    }
  }

  /** Opens an existing store read-only (for `audit:verify` next to a running daemon); never creates one. */
  static openReadOnly(path: string, masterKey: Buffer): SqliteStore {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new StoreOpenError(`cannot open store ${path}: ${(err as Error).message}`);
    }
    try {
      return SqliteStore.over(db, masterKey, path);
    } catch (err) {
      db.close();
      if (err instanceof StoreOpenError) throw err;
      throw new StoreOpenError(`cannot open store ${path}: ${(err as Error).message}`);
    }
  }

  /** The store over an open database: its schema created or checked, its rows sealed and MACed with keys from `masterKey`. */
  private static over(db: Database.Database, masterKey: Buffer, path: string): SqliteStore {
    const sealer = new SealedBox(masterKey);
    const macs = new RowMac(masterKey);
    SqliteStore.initialise(db, sealer, macs, path);
    return new SqliteStore(db, sealer, macs, path);
  }

  private static initialise(db: Database.Database, sealer: SealedBox, macs: RowMac, path: string): void {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
    if (!hasMeta) {
      const tableCount = (db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number }).n;
      if (tableCount > 0) throw new StoreOpenError(`${path} is an SQLite database but not a local-cloudhsm store`);
      const probe = sealer.seal(Buffer.from(MASTER_KEY_PROBE), "meta:probe");
      db.transaction(() => {
        db.exec(SCHEMA_SQL);
        const set = db.prepare("INSERT INTO meta(name, value) VALUES (?, ?)");
        set.run("schema_version", String(SCHEMA_VERSION));
        set.run("revision_ceiling", "0");
        set.run("handle_ceiling", String(FIRST_KEY_HANDLE));
        set.run("master_key_probe", JSON.stringify(encodeSealed(probe)));
        const head = encodeAuditState({ head: GENESIS_HEAD, pending: [] });
        set.run(AUDIT_HEAD, head);
        set.run(AUDIT_HEAD_MAC, macs.metaValue(AUDIT_HEAD, head).toString("hex"));
      })();
      return;
    }
    const version = Number(meta(db, "schema_version"));
    if (version !== SCHEMA_VERSION) {
      throw new StoreOpenError(
        `store ${path} has schema version ${version}, this daemon reads version ${SCHEMA_VERSION}; use the matching release or a new data directory`,
      );
    }
    try {
      sealer.open(decodeSealed(JSON.parse(meta(db, "master_key_probe")) as Record<string, string>), "meta:probe");
    } catch {
      throw new StoreOpenError(`store ${path} was sealed under a different master key`);
    }
  }

  /**
   * Everything at start-up; every user and key row is checked against its MAC first (StoreIntegrityError).
   * Key rows are read in one pass as plain arrays, blobs as hex text (the form the MAC covers), so 100,000 keys
   * cost no per-row Buffer from SQLite. Key material is unsealed on first use, not here: the row MAC, checked
   * here, covers the sealed bytes, so tampered material still stops the start. From `macWorkerFromKeys` keys,
   * the key row MACs are checked on a worker thread while this one builds the keys, and waited for at the end.
   */
  load(options: LoadOptions = {}): PersistedState {
    // Started first, so the worker opens its connection and checks rows while this thread reads users and keys.
    const workerFrom = options.macWorkerFromKeys ?? MAC_WORKER_FROM_KEYS;
    const macCheck = this.path !== ":memory:" && this.approximateKeyCount() >= workerFrom ? this.macs.startKeyCheck(this.path) : undefined;
    const users = (this.db.prepare("SELECT * FROM users ORDER BY user_id").all() as UserRow[]).map((row): UserRecord => {
      if (!RowMac.matches(this.macs.userRow(row), row.row_mac)) throw new StoreIntegrityError(this.path, `user id ${row.user_id}`);
      return {
        userId: row.user_id,
        role: row.role === "CO" ? UserRole.CO : UserRole.CU,
        username: row.username,
        passwordHash: row.password_hash,
        loginFailures: row.login_failures,
        locked: row.locked === 1,
      };
    });
    const keys: StoredKey[] = [];
    const flagsByText = new Map<string, Readonly<KeyFlags>>();
    // Labels repeat (findKey's index groups by them): one string per distinct label instead of one per row.
    const labels = new Map<string, string>();
    let handleSum = 0;
    for (const cells of this.db.prepare(LOAD_KEYS_SQL).raw().iterate() as IterableIterator<KeyLoadCells>) {
      const row = keyHexRow(cells);
      const sharedWith = idList(cells[KeyCell.shares]);
      if (macCheck === undefined) {
        if (this.macs.keyRowHex(row, sharedWith) !== cells[KeyCell.rowMac]) throw new StoreIntegrityError(this.path, `key handle ${row.handle}`);
      } else {
        handleSum += row.handle;
      }
      // Most keys share one of a few flag sets: parse each once (the objects are frozen; a change makes a new one).
      let flags = flagsByText.get(row.flags);
      if (!flags) flagsByText.set(row.flags, (flags = Object.freeze(JSON.parse(row.flags) as KeyFlags)));
      let label = labels.get(row.label);
      if (label === undefined) labels.set(row.label, (label = row.label));
      keys.push({ key: this.keyFromRow(row, label, flags, sharedWith, idList(cells[KeyCell.nodes])), acknowledged: row.acknowledged === 1 });
    }
    if (macCheck !== undefined) this.awaitKeyCheck(macCheck, keys.length, handleSum);
    return {
      users,
      keys,
      handleCeiling: Number(meta(this.db, "handle_ceiling")),
      revisionCeiling: Number(meta(this.db, "revision_ceiling")),
    };
  }

  /**
   * Nothing is returned before every key row's MAC has been checked: the worker's outcome must name exactly
   * the rows loaded here (same count, same handles; the data directory lock keeps writers out meanwhile).
   * If the worker could not run, the rows are checked here instead (slower, same verdict).
   */
  private awaitKeyCheck(check: KeyMacCheck, rows: number, handleSum: number): void {
    const outcome = check.outcome();
    if (outcome.kind === "failed") throw new StoreIntegrityError(this.path, `key handle ${outcome.handle}`);
    if (outcome.kind === "checked") {
      if (outcome.rows !== rows || outcome.handleSum !== handleSum) throw new StoreIntegrityError(this.path, "the key table (changed while loading)");
      return;
    }
    for (const cells of this.db.prepare(LOAD_KEYS_SQL).raw().iterate() as IterableIterator<KeyLoadCells>) {
      const row = keyHexRow(cells);
      if (this.macs.keyRowHex(row, idList(cells[KeyCell.shares])) !== cells[KeyCell.rowMac]) throw new StoreIntegrityError(this.path, `key handle ${row.handle}`);
    }
  }

  /** About how many keys the store holds (handles are allocated upwards), without scanning the table (two separate min/max are index lookups; min and max in one SELECT would scan). */
  private approximateKeyCount(): number {
    const row = this.db.prepare("SELECT (SELECT max(handle) FROM keys) - (SELECT min(handle) FROM keys) + 1 AS n").get() as { n: number | null };
    return row.n ?? 0;
  }

  /** A loaded key whose material is unsealed (and its GCM tag checked) the first time something reads it. */
  private keyFromRow(row: KeyHexRow, label: string, flags: Readonly<KeyFlags>, sharedWith: number[], nodes: number[]): KeyObject {
    const fields = {
      handle: row.handle,
      ownerId: row.owner_id,
      keyClass: row.key_class,
      keyType: row.key_type,
      label,
      id: row.key_id,
      flags,
      valueLen: row.value_len,
      kcv: row.kcv === null ? undefined : Buffer.from(row.kcv, "hex"),
      sharedWith: new Set(sharedWith),
      sessionId: undefined,
      nodes: new Set(nodes),
    };
    const pending: PendingMaterial = { sealed: { nonce: row.material_nonce, tag: row.material_tag, ciphertext: row.material_sealed }, unseal: this.unsealHex };
    // One shared getter, not a closure per key: an accessor made per object literal costs about 1 KB a key.
    // Enumerable, so a spread copy ({ ...key }) reads the material like any other field.
    return Object.defineProperties(fields, {
      material: { get: materialOnFirstUse, enumerable: true },
      [MATERIAL_UNTIL_USED]: { value: pending, writable: true },
    }) as typeof fields & { readonly material: Buffer };
  }

  /** Unseals a loaded key's material; a GCM failure is the row's integrity failure. */
  private readonly unsealHex = (handle: number, sealed: SealedHex): Buffer => {
    const box = { nonce: Buffer.from(sealed.nonce, "hex"), tag: Buffer.from(sealed.tag, "hex"), ciphertext: Buffer.from(sealed.ciphertext, "hex") };
    try {
      return this.sealer.open(box, `key:${handle}`);
    } catch (err) {
      if (err instanceof SealedBoxOpenError) throw new StoreIntegrityError(this.path, `key handle ${handle}`);
      throw err;
    }
  };

  auditState(): StoredAuditState {
    const value = meta(this.db, AUDIT_HEAD);
    const mac = Buffer.from(meta(this.db, AUDIT_HEAD_MAC), "hex");
    if (!RowMac.matches(this.macs.metaValue(AUDIT_HEAD, value), mac)) throw new StoreIntegrityError(this.path, "the audit head");
    return JSON.parse(value) as StoredAuditState;
  }

  saveAuditHead(head: AuditHead, pending: readonly AuditRecord[]): void {
    const value = encodeAuditState({ head, pending });
    this.db.transaction(() => {
      this.statements.setMeta.run(AUDIT_HEAD, value);
      this.statements.setMeta.run(AUDIT_HEAD_MAC, this.macs.metaValue(AUDIT_HEAD, value).toString("hex"));
    })();
  }

  insertUser(user: UserRecord): void {
    const row = userColumns(user);
    this.statements.insertUser.run({ ...row, row_mac: this.macs.userRow(row) });
  }

  updateUser(user: UserRecord): void {
    const row = userColumns(user);
    this.statements.updateUser.run(row.password_hash, row.login_failures, row.locked, this.macs.userRow(row), row.user_id);
  }

  insertKey(key: KeyObject, acknowledged: boolean): void {
    if (!key.flags.token) throw new Error("session keys are never written to disk");
    const sealed = this.sealer.seal(key.material, `key:${key.handle}`);
    const s = this.statements;
    const row: KeyRowColumns = {
        handle: key.handle,
        owner_id: key.ownerId,
        key_class: key.keyClass,
        key_type: key.keyType,
        label: key.label,
        key_id: key.id,
        flags: JSON.stringify(key.flags),
        value_len: key.valueLen,
        kcv: key.kcv ?? null,
        material_nonce: sealed.nonce,
        material_tag: sealed.tag,
        material_sealed: sealed.ciphertext,
        acknowledged: acknowledged ? 1 : 0,
    };
    this.db.transaction(() => {
      s.insertKey.run({ ...row, row_mac: this.macs.keyRow(row, [...key.sharedWith]) });
      for (const userId of key.sharedWith) s.insertShare.run(key.handle, userId);
      for (const nodeId of key.nodes) s.insertNode.run(key.handle, nodeId);
    })();
  }

  transaction(writes: () => void): void {
    this.db.transaction(writes)();
  }

  markAcknowledged(handle: number): void {
    this.db.transaction(() => {
      this.statements.acknowledge.run(handle);
      this.remac(handle);
    })();
  }

  addKeyNodes(nodeId: number, handles: readonly number[]): void {
    const s = this.statements;
    this.db.transaction(() => {
      for (const handle of handles) s.insertNode.run(handle, nodeId);
    })();
  }

  replaceShares(handle: number, userIds: ReadonlySet<number>): void {
    const s = this.statements;
    this.db.transaction(() => {
      s.deleteShares.run(handle);
      for (const userId of userIds) s.insertShare.run(handle, userId);
      this.remac(handle);
    })();
  }

  /** Recomputes a key row's MAC after one of its columns or its shares changed (inside the caller's transaction). */
  private remac(handle: number): void {
    const row = this.statements.selectKey.get(handle) as KeyRow | undefined;
    if (!row) return;
    const shares = this.statements.selectShares.all(handle) as number[];
    this.statements.setKeyMac.run(this.macs.keyRow(row, shares), handle);
  }

  deleteKey(handle: number): void {
    this.statements.deleteKey.run(handle);
  }

  reserveRevisions(ceiling: number): void {
    this.statements.setMeta.run("revision_ceiling", String(ceiling));
  }

  reserveHandles(ceiling: number): void {
    this.statements.setMeta.run("handle_ceiling", String(ceiling));
  }

  exportContents(): StoreContents {
    const read = (): StoreContents => ({
      users: this.db.prepare(`SELECT ${USER_COLUMNS.join(", ")} FROM users ORDER BY user_id`).all() as StoredRow[],
      keys: this.db.prepare(`SELECT ${KEY_COLUMNS.join(", ")} FROM keys ORDER BY handle`).all() as StoredRow[],
      keyShares: this.db.prepare("SELECT handle, user_id FROM key_shares ORDER BY handle, user_id").all() as StoredRow[],
      keyNodes: this.db.prepare("SELECT handle, node_id FROM key_nodes ORDER BY handle, node_id").all() as StoredRow[],
      handleCeiling: Number(meta(this.db, "handle_ceiling")),
    });
    // One read transaction, so the four tables come from the same moment.
    return this.db.transaction(read)();
  }

  replaceContents(contents: StoreContents): void {
    const ceiling = Math.max(Number(meta(this.db, "handle_ceiling")), contents.handleCeiling);
    this.db.transaction(() => {
      this.deleteContents();
      const insert = (table: string, columns: readonly string[], rows: readonly StoredRow[]): void => {
        const statement = this.db.prepare(`INSERT INTO ${table}(${columns.join(", ")}) VALUES (${columns.map((c) => "@" + c).join(", ")})`);
        for (const row of rows) statement.run(Object.fromEntries(columns.map((c) => [c, row[c] ?? null])));
      };
      insert("users", USER_COLUMNS, contents.users);
      insert("keys", KEY_COLUMNS, contents.keys);
      insert("key_shares", ["handle", "user_id"], contents.keyShares);
      insert("key_nodes", ["handle", "node_id"], contents.keyNodes);
      this.statements.setMeta.run("handle_ceiling", String(ceiling));
    })();
  }

  clearContents(): void {
    this.db.transaction(() => {
      this.deleteContents();
      this.statements.setMeta.run("handle_ceiling", String(FIRST_KEY_HANDLE));
    })();
  }

  private deleteContents(): void {
    this.db.exec("DELETE FROM key_shares; DELETE FROM key_nodes; DELETE FROM keys; DELETE FROM users;");
  }

  copyTo(path: string): void {
    this.db.prepare("VACUUM INTO ?").run(path);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** The stored columns copied by snapshots and restores (row MACs and sealed material as they are). */
const USER_COLUMNS = ["user_id", "role", "username", "password_hash", "login_failures", "locked", "row_mac"] as const;
const KEY_COLUMNS = [
  "handle",
  "owner_id",
  "key_class",
  "key_type",
  "label",
  "key_id",
  "flags",
  "value_len",
  "kcv",
  "material_nonce",
  "material_tag",
  "material_sealed",
  "acknowledged",
  "row_mac",
] as const;

const AUDIT_HEAD = "audit_head";
const AUDIT_HEAD_MAC = "audit_head_mac";

function encodeAuditState(state: StoredAuditState): string {
  return JSON.stringify(state);
}

function userColumns(user: UserRecord): UserRowColumns {
  return {
    user_id: user.userId,
    role: user.role,
    username: user.username,
    password_hash: user.passwordHash,
    login_failures: user.loginFailures,
    locked: user.locked ? 1 : 0,
  };
}

function meta(db: Database.Database, name: string): string {
  const row = db.prepare("SELECT value FROM meta WHERE name = ?").get(name) as { value: string } | undefined;
  if (!row) throw new StoreOpenError(`store is missing its ${name} record`);
  return row.value;
}

/** Every key column, blobs as lowercase hex (hex(NULL) is "": keyHexRow maps it back), with the key's shares and nodes as comma-separated ids. */
const LOAD_KEYS_SQL = `SELECT handle, owner_id, key_class, key_type, label, key_id, flags, value_len,
    lower(hex(kcv)), lower(hex(material_nonce)), lower(hex(material_tag)), lower(hex(material_sealed)), acknowledged, lower(hex(row_mac)),
    (SELECT group_concat(user_id) FROM key_shares s WHERE s.handle = k.handle),
    (SELECT group_concat(node_id) FROM key_nodes n WHERE n.handle = k.handle)
  FROM keys k ORDER BY handle`;

/** Sealed key material as the loader read it: lowercase hex. */
interface SealedHex {
  readonly nonce: string;
  readonly tag: string;
  readonly ciphertext: string;
}

/** A loaded key's material until first use: the sealed text and how to open it. */
interface PendingMaterial {
  readonly sealed: SealedHex;
  readonly unseal: (handle: number, sealed: SealedHex) => Buffer;
}

/** The `material` getter of every loaded key: unseals once, then keeps the plaintext (and drops the sealed text). */
function materialOnFirstUse(this: { readonly handle: number; [MATERIAL_UNTIL_USED]: PendingMaterial | Buffer }): Buffer {
  const held = this[MATERIAL_UNTIL_USED];
  if (Buffer.isBuffer(held)) return held;
  const material = held.unseal(this.handle, held.sealed);
  this[MATERIAL_UNTIL_USED] = material;
  return material;
}

/** Positions in a LOAD_KEYS_SQL row. */
const KeyCell = {
  rowMac: 13,
  shares: 14,
  nodes: 15,
} as const;

type KeyLoadCells = [number, number, number, number, string, string, string, number, string | null, string, string, string, number, string, string | null, string | null];

function keyHexRow(c: KeyLoadCells): KeyHexRow {
  return {
    handle: c[0],
    owner_id: c[1],
    key_class: c[2],
    key_type: c[3],
    label: c[4],
    key_id: c[5],
    flags: c[6],
    value_len: c[7],
    // hex(NULL) is "", and a stored kcv is never empty.
    kcv: c[8] === null || c[8] === "" ? null : c[8],
    material_nonce: c[9],
    material_tag: c[10],
    material_sealed: c[11],
    acknowledged: c[12],
  };
}

/** "3,1,2" (group_concat) as numbers; none for NULL. */
function idList(text: string | null): number[] {
  return text === null ? [] : text.split(",").map(Number);
}

function encodeSealed(sealed: { nonce: Buffer; tag: Buffer; ciphertext: Buffer }): Record<string, string> {
  return { nonce: sealed.nonce.toString("base64"), tag: sealed.tag.toString("base64"), ciphertext: sealed.ciphertext.toString("base64") };
}

function decodeSealed(value: Record<string, string>): { nonce: Buffer; tag: Buffer; ciphertext: Buffer } {
  return {
    nonce: Buffer.from(value.nonce ?? "", "base64"),
    tag: Buffer.from(value.tag ?? "", "base64"),
    ciphertext: Buffer.from(value.ciphertext ?? "", "base64"),
  };
}
