// The durable store: SQLite in WAL mode with fsync on commit, key material sealed with AES-256-GCM.
import Database from "better-sqlite3";
import { SealedBox } from "../crypto/sealedBox";
import { KeyFlags, KeyObject } from "../key";
import { KeyClass, KeyType } from "../keyTypes";
import { UserRecord, UserRole } from "../users";
import { HsmStore, PersistedState, StoredKey } from "./hsmStore";
import { SCHEMA_SQL, SCHEMA_VERSION } from "./schema";

/** Raised when the store cannot be opened: another version, another master key, or not a store. */
export class StoreOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreOpenError";
  }
}

const MASTER_KEY_PROBE = "local-cloudhsm master key probe";
const FIRST_HANDLE = 6;

interface KeyRow {
  handle: number;
  owner_id: number;
  key_class: number;
  key_type: number;
  label: string;
  key_id: string;
  flags: string;
  value_len: number;
  kcv: Buffer | null;
  material_nonce: Buffer;
  material_tag: Buffer;
  material_sealed: Buffer;
  acknowledged: number;
}

interface UserRow {
  user_id: number;
  role: string;
  username: string;
  password_hash: string;
  login_failures: number;
  locked: number;
}

export class SqliteStore implements HsmStore {
  private readonly db: Database.Database;
  private readonly sealer: SealedBox;
  private readonly statements;

  private constructor(db: Database.Database, sealer: SealedBox) {
    this.db = db;
    this.sealer = sealer;
    this.statements = {
      setMeta: db.prepare("INSERT INTO meta(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value"),
      insertUser: db.prepare(
        "INSERT INTO users(user_id, role, username, password_hash, login_failures, locked) VALUES (@userId, @role, @username, @passwordHash, @loginFailures, @locked)",
      ),
      saveLogin: db.prepare("UPDATE users SET login_failures = ?, locked = ? WHERE user_id = ?"),
      saveCredentials: db.prepare("UPDATE users SET password_hash = ?, login_failures = ?, locked = ? WHERE user_id = ?"),
      insertKey: db.prepare(
        `INSERT INTO keys(handle, owner_id, key_class, key_type, label, key_id, flags, value_len, kcv,
           material_nonce, material_tag, material_sealed, acknowledged)
         VALUES (@handle, @owner_id, @key_class, @key_type, @label, @key_id, @flags, @value_len, @kcv,
           @material_nonce, @material_tag, @material_sealed, @acknowledged)`,
      ),
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
      const sealer = new SealedBox(masterKey);
      SqliteStore.initialise(db, sealer, path);
      return new SqliteStore(db, sealer);
    } catch (err) {
      db.close();
      if (err instanceof StoreOpenError) throw err;
      throw new StoreOpenError(`cannot open store ${path}: ${(err as Error).message}`);
    }
  }

  private static initialise(db: Database.Database, sealer: SealedBox, path: string): void {
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
        set.run("handle_ceiling", String(FIRST_HANDLE));
        set.run("master_key_probe", JSON.stringify(encodeSealed(probe)));
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
      sealer.open(decodeSealed(JSON.parse(meta(db, "master_key_probe"))), "meta:probe");
    } catch {
      throw new StoreOpenError(`store ${path} was sealed under a different master key`);
    }
  }

  load(): PersistedState {
    const users = (this.db.prepare("SELECT * FROM users ORDER BY user_id").all() as UserRow[]).map(
      (row): UserRecord => ({
        userId: row.user_id,
        role: row.role === "CO" ? UserRole.CO : UserRole.CU,
        username: row.username,
        passwordHash: row.password_hash,
        loginFailures: row.login_failures,
        locked: row.locked === 1,
      }),
    );
    const shares = groupBy(this.db.prepare("SELECT handle, user_id AS v FROM key_shares").all() as { handle: number; v: number }[]);
    const nodes = groupBy(this.db.prepare("SELECT handle, node_id AS v FROM key_nodes").all() as { handle: number; v: number }[]);
    const keys = (this.db.prepare("SELECT * FROM keys ORDER BY handle").all() as KeyRow[]).map(
      (row): StoredKey => ({ key: this.rowToKey(row, shares, nodes), acknowledged: row.acknowledged === 1 }),
    );
    return {
      users,
      keys,
      handleCeiling: Number(meta(this.db, "handle_ceiling")),
      revisionCeiling: Number(meta(this.db, "revision_ceiling")),
    };
  }

  private rowToKey(row: KeyRow, shares: Map<number, number[]>, nodes: Map<number, number[]>): KeyObject {
    return {
        handle: row.handle,
        ownerId: row.owner_id,
        keyClass: row.key_class as KeyClass,
        keyType: row.key_type as KeyType,
        label: row.label,
        id: row.key_id,
        flags: JSON.parse(row.flags) as KeyFlags,
        valueLen: row.value_len,
        kcv: row.kcv ?? undefined,
        sharedWith: new Set(shares.get(row.handle) ?? []),
        sessionId: undefined,
        nodes: new Set(nodes.get(row.handle) ?? []),
        material: this.sealer.open(
          { nonce: row.material_nonce, tag: row.material_tag, ciphertext: row.material_sealed },
          `key:${row.handle}`,
        ),
    };
  }

  insertUser(user: UserRecord): void {
    this.statements.insertUser.run({ ...user, locked: user.locked ? 1 : 0 });
  }

  saveLoginState(user: UserRecord): void {
    this.statements.saveLogin.run(user.loginFailures, user.locked ? 1 : 0, user.userId);
  }

  saveCredentials(user: UserRecord): void {
    this.statements.saveCredentials.run(user.passwordHash, user.loginFailures, user.locked ? 1 : 0, user.userId);
  }

  insertKey(key: KeyObject, acknowledged: boolean): void {
    if (!key.flags.token) throw new Error("session keys are never written to disk");
    const sealed = this.sealer.seal(key.material, `key:${key.handle}`);
    const s = this.statements;
    this.db.transaction(() => {
      s.insertKey.run({
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
      });
      for (const userId of key.sharedWith) s.insertShare.run(key.handle, userId);
      for (const nodeId of key.nodes) s.insertNode.run(key.handle, nodeId);
    })();
  }

  transaction(writes: () => void): void {
    this.db.transaction(writes)();
  }

  markAcknowledged(handle: number): void {
    this.statements.acknowledge.run(handle);
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
    })();
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

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function meta(db: Database.Database, name: string): string {
  const row = db.prepare("SELECT value FROM meta WHERE name = ?").get(name) as { value: string } | undefined;
  if (!row) throw new StoreOpenError(`store is missing its ${name} record`);
  return row.value;
}

function groupBy(rows: { handle: number; v: number }[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const row of rows) {
    const list = out.get(row.handle);
    if (list) list.push(row.v);
    else out.set(row.handle, [row.v]);
  }
  return out;
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
