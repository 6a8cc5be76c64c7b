// The durable store: persistence across reopen, refusal of foreign stores, sealed material, the master key file.
import { MATERIAL_UNTIL_USED, wipeMaterial } from "../../src/hsm/key";
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALL_ATTRIBUTES } from "../../src/hsm/attributes";
import { HsmCluster } from "../../src/hsm/cluster";
import { keyCheckValue } from "../../src/hsm/crypto/kcv";
import { KeyType } from "../../src/hsm/keyTypes";
import { createMasterKeyFile, parseMasterKey, readMasterKeyFile } from "../../src/hsm/store/masterKey";
import { SCHEMA_VERSION } from "../../src/hsm/store/schema";
import { RowMac } from "../../src/hsm/store/rowMac";
import { SqliteStore, StoreIntegrityError, StoreOpenError } from "../../src/hsm/store/sqliteStore";
import { UserRole } from "../../src/hsm/users";
import { CLUSTER_DEFAULTS, ClusterHarness, containsBytes, expectHsmError, FakeClock, genParams, importParams, makeTempDir, removeDir } from "./support/harness";

function withDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** The bytes of the store file and, if present, its WAL and shared-memory files. */
function storeBytes(dbPath: string): Buffer {
  const parts = [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, `${dbPath}-journal`].filter((p) => existsSync(p)).map((p) => readFileSync(p));
  return Buffer.concat(parts);
}

describe("SqliteStore", () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  test("a fresh store loads no users and no keys, with a handle ceiling above the internal key", () => {
    const store = SqliteStore.open(join(dir, "s.db"), randomBytes(32));
    try {
      const state = store.load();
      expect(state.users).toEqual([]);
      expect(state.keys).toEqual([]);
      expect(state.handleCeiling).toBeGreaterThan(4);
    } finally {
      store.close();
      store.close(); // idempotent
    }
  });

  describe("opening", () => {
    test("with another master key fails StoreOpenError", () => {
      const path = join(dir, "s.db");
      SqliteStore.open(path, randomBytes(32)).close();
      expect(() => SqliteStore.open(path, randomBytes(32))).toThrow(StoreOpenError);
    });

    test("a store whose schema_version was edited to 99 fails StoreOpenError", () => {
      const path = join(dir, "s.db");
      const masterKey = randomBytes(32);
      SqliteStore.open(path, masterKey).close();
      withDb(path, (db) => db.prepare("UPDATE meta SET value = '99' WHERE name = 'schema_version'").run());
      expect(SCHEMA_VERSION).not.toBe(99);
      expect(() => SqliteStore.open(path, masterKey)).toThrow(StoreOpenError);
      // The refused open left the file alone and closed it: editing it back makes it open again.
      withDb(path, (db) => db.prepare("UPDATE meta SET value = ? WHERE name = 'schema_version'").run(String(SCHEMA_VERSION)));
      SqliteStore.open(path, masterKey).close();
    });

    test("a store with its meta rows missing fails StoreOpenError", () => {
      const path = join(dir, "s.db");
      const masterKey = randomBytes(32);
      SqliteStore.open(path, masterKey).close();
      withDb(path, (db) => db.prepare("DELETE FROM meta WHERE name = 'master_key_probe'").run());
      expect(() => SqliteStore.open(path, masterKey)).toThrow(StoreOpenError);
    });

    test("an SQLite file that is not a store fails StoreOpenError and is not modified", () => {
      const path = join(dir, "other.db");
      withDb(path, (db) => {
        db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)");
        db.prepare("INSERT INTO customers(name) VALUES ('x')").run();
      });
      expect(() => SqliteStore.open(path, randomBytes(32))).toThrow(StoreOpenError);
      const tables = withDb(path, (db) => (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name));
      expect(tables).toEqual(["customers"]);
    });

    test("a file that is not SQLite at all fails StoreOpenError", () => {
      const path = join(dir, "garbage.db");
      writeFileSync(path, Buffer.concat([Buffer.from("definitely not sqlite\n"), randomBytes(4096)]));
      expect(() => SqliteStore.open(path, randomBytes(32))).toThrow(StoreOpenError);
    });

    test("a path in a missing directory fails StoreOpenError", () => {
      expect(() => SqliteStore.open(join(dir, "no", "such", "dir", "s.db"), randomBytes(32))).toThrow(StoreOpenError);
    });

    test("a master key of the wrong length fails StoreOpenError", () => {
      expect(() => SqliteStore.open(join(dir, "s.db"), randomBytes(16))).toThrow(StoreOpenError);
    });

    test("a cluster is not built over a store that does not open", () => {
      const path = join(dir, "s.db");
      SqliteStore.open(path, randomBytes(32)).close();
      expect(() => new HsmCluster({ store: SqliteStore.open(path, randomBytes(32)), clock: new FakeClock(), nodeCount: 3, ...CLUSTER_DEFAULTS })).toThrow(
        StoreOpenError,
      );
    });
  });
});

describe("the store under a cluster", () => {
  let h: ClusterHarness;
  beforeEach(() => {
    h = new ClusterHarness();
  });
  afterEach(() => h.dispose());

  test("a token key survives close and reopen with the same attributes and material (same KCV)", async () => {
    const alice = await h.cu("alice");
    const bob = await h.cu("bob");
    const wrapping = (await h.cluster.genSymKey(alice.session, genParams({ label: "w", id: "wrap-1" }))).handle;
    const material = randomBytes(24);
    const imported = (await h.cluster.importSymKey(alice.session, importParams(wrapping, material, { keyType: KeyType.DES3, label: "des", id: "des-1", shareWith: [bob.userId] }))).handle;
    const before = {
      wrapping: h.cluster.getAttribute(alice.session, wrapping, ALL_ATTRIBUTES),
      imported: h.cluster.getAttribute(alice.session, imported, ALL_ATTRIBUTES),
    };

    h.reopen();
    const a = await h.cluster.login(UserRole.CU, "alice", "password1");
    expect(h.cluster.getAttribute(a.session, wrapping, ALL_ATTRIBUTES)).toEqual(before.wrapping);
    expect(h.cluster.getAttribute(a.session, imported, ALL_ATTRIBUTES)).toEqual(before.imported);
    expect(h.cluster.getAttribute(a.session, imported, 371)[0]!.text).toBe(`0x${keyCheckValue(KeyType.DES3, material)!.toString("hex")}`);

    // The reloaded wrapping key still unwraps: its material is the same.
    const second = randomBytes(16);
    const again = (await h.cluster.importSymKey(a.session, importParams(wrapping, second))).handle;
    expect(h.cluster.getAttribute(a.session, again, 371)[0]!.text).toBe(`0x${keyCheckValue(KeyType.AES, second)!.toString("hex")}`);

    // Ids stay unique across the restart.
    await expectHsmError(() => h.cluster.genSymKey(a.session, genParams({ id: "des-1" })), "ID_ALREADY_EXISTS");
    // Sharing survives.
    const b = await h.cluster.login(UserRole.CU, "bob", "password1");
    expect(h.cluster.findKey(b.session, {})).toEqual([imported]);
  });

  test("sealed material is bound to its row: material moved to another key's row fails the load, naming the key", async () => {
    const alice = await h.cu("alice");
    const first = (await h.cluster.genSymKey(alice.session, genParams())).handle;
    const second = (await h.cluster.genSymKey(alice.session, genParams())).handle;
    h.cluster.close();
    const select = "SELECT material_nonce, material_tag, material_sealed FROM keys WHERE handle = ?";
    const update = "UPDATE keys SET material_nonce = ?, material_tag = ?, material_sealed = ? WHERE handle = ?";
    const original = withDb(h.dbPath, (db) => db.prepare(select).get(second) as Record<string, Buffer>);
    withDb(h.dbPath, (db) => {
      const moved = db.prepare(select).get(first) as Record<string, Buffer>;
      db.prepare(update).run(moved.material_nonce, moved.material_tag, moved.material_sealed, second);
    });
    const store = SqliteStore.open(h.dbPath, h.masterKey);
    try {
      expect(() => new HsmCluster({ store, clock: new FakeClock(), nodeCount: 3, ...CLUSTER_DEFAULTS })).toThrow(
        new StoreIntegrityError(h.dbPath, `key handle ${second}`),
      );
    } finally {
      store.close();
    }
    // Put the row back: the store opens again.
    withDb(h.dbPath, (db) => db.prepare(update).run(original.material_nonce, original.material_tag, original.material_sealed, second));
    h.reopen();
    expect(h.cluster.keyCount).toBe(2);
  });

  test("key material never appears in plaintext in the database files", async () => {
    const alice = await h.cu("alice");
    const wrapping = (await h.cluster.genSymKey(alice.session, genParams())).handle;
    const materials: Buffer[] = [];
    for (const [keyType, size] of [
      [KeyType.AES, 16],
      [KeyType.AES, 24],
      [KeyType.AES, 32],
      [KeyType.DES3, 24],
      [KeyType.AES, 32],
      [KeyType.AES, 16],
    ] as const) {
      const material = randomBytes(size);
      materials.push(material);
      await h.cluster.importSymKey(alice.session, importParams(wrapping, material, { keyType }));
    }
    // A known wrapping key made by import, then used: its material must not leak either.
    const kekMaterial = randomBytes(32);
    materials.push(kekMaterial);
    const kek = (await h.cluster.importSymKey(alice.session, importParams(wrapping, kekMaterial))).handle;
    const last = randomBytes(32);
    materials.push(last);
    await h.cluster.importSymKey(alice.session, importParams(kek, last));

    const check = (bytes: Buffer) => {
      expect(bytes.length).toBeGreaterThan(0);
      for (const m of materials) {
        expect(containsBytes(bytes, m)).toBe(false);
        // Nor as text.
        expect(containsBytes(bytes, Buffer.from(m.toString("hex")))).toBe(false);
        expect(containsBytes(bytes, Buffer.from(m.toString("base64")))).toBe(false);
        // Nor any 8-byte run of it.
        for (let i = 0; i + 8 <= m.length; i += 4) expect(containsBytes(bytes, m.subarray(i, i + 8))).toBe(false);
      }
    };
    // While open: the WAL holds the recent writes.
    expect(existsSync(`${h.dbPath}-wal`)).toBe(true);
    check(storeBytes(h.dbPath));
    // After a clean close, checkpointed into the main file.
    h.cluster.close();
    check(storeBytes(h.dbPath));
    h.reopen();
  });
});

describe("master key", () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => removeDir(dir));

  test("createMasterKeyFile creates a 0600 file that readMasterKeyFile reads back; it never overwrites", () => {
    const path = join(dir, "master.key");
    const first = createMasterKeyFile(path);
    expect(first).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readMasterKeyFile(path).equals(first)).toBe(true);
    expect(readFileSync(path, "utf8").trim()).toBe(first.toString("hex"));
    let overwrite: unknown;
    try {
      createMasterKeyFile(path);
    } catch (err) {
      overwrite = err;
    }
    expect(overwrite).toMatchObject({ code: "EEXIST" });
    expect(readMasterKeyFile(path).equals(first)).toBe(true);
    // Another file gets another key.
    expect(createMasterKeyFile(join(dir, "other.key")).equals(first)).toBe(false);
  });

  test("a store opened with the file's key reopens with the re-read key", () => {
    const keyPath = join(dir, "master.key");
    const dbPath = join(dir, "s.db");
    SqliteStore.open(dbPath, createMasterKeyFile(keyPath)).close();
    SqliteStore.open(dbPath, readMasterKeyFile(keyPath)).close();
  });

  test("a malformed key file is refused with an error naming the file, and left as it was", () => {
    const path = join(dir, "master.key");
    writeFileSync(path, "too short\n", { mode: 0o600 });
    expect(() => readMasterKeyFile(path)).toThrow(`master key file ${path} is malformed`);
    expect(readFileSync(path, "utf8")).toBe("too short\n");
  });

  test("parseMasterKey takes 64 hex digits or base64 of 32 bytes, trimmed", () => {
    const key = randomBytes(32);
    expect(parseMasterKey(key.toString("hex")).equals(key)).toBe(true);
    expect(parseMasterKey(`  ${key.toString("hex").toUpperCase()}\n`).equals(key)).toBe(true);
    expect(parseMasterKey(key.toString("base64")).equals(key)).toBe(true);
    expect(() => parseMasterKey(randomBytes(16).toString("hex"))).toThrow();
    expect(() => parseMasterKey(randomBytes(31).toString("base64"))).toThrow();
    expect(() => parseMasterKey("")).toThrow();
  });
});

describe("rows at rest are bound by their MAC: an edit made with the daemon stopped fails the load, naming the row", () => {
  let h: ClusterHarness;
  let wrapping: number;
  let shared: number;
  let alice: number;
  let bob: number;
  let carol: number;
  beforeEach(async () => {
    h = new ClusterHarness();
    const a = await h.cu("alice");
    alice = a.userId;
    bob = (await h.cu("bob")).userId;
    carol = (await h.cu("carol")).userId;
    wrapping = (await h.cluster.genSymKey(a.session, genParams({ label: "w", id: "wrap-1" }))).handle;
    shared = (await h.cluster.importSymKey(a.session, importParams(wrapping, randomBytes(16), { label: "s", id: "s-1", shareWith: [bob] }))).handle;
    h.cluster.close();
  });
  afterEach(() => h.dispose());

  /**
   * Loads the store as a start does; returns the error's message, or undefined if it loaded. It loads twice:
   * key MACs checked on the loading thread (as for a small store) and on a worker thread (as from
   * MAC_WORKER_FROM_KEYS keys), and expects the same verdict from both.
   */
  function loadError(): string | undefined {
    const inline = loadErrorWith(Number.POSITIVE_INFINITY);
    expect(loadErrorWith(0)).toBe(inline);
    return inline;
  }
  function loadErrorWith(macWorkerFromKeys: number): string | undefined {
    const store = SqliteStore.open(h.dbPath, h.masterKey);
    try {
      store.load({ macWorkerFromKeys });
      return undefined;
    } catch (err) {
      expect(err).toBeInstanceOf(StoreIntegrityError);
      return (err as Error).message;
    } finally {
      store.close();
    }
  }
  const keyRefused = (handle: number) => new StoreIntegrityError(h.dbPath, `key handle ${handle}`).message;
  const userRefused = (userId: number) => new StoreIntegrityError(h.dbPath, `user id ${userId}`).message;

  test("the untouched store loads", () => {
    expect(loadError()).toBeUndefined();
  });

  test.each([
    ["owner_id", "UPDATE keys SET owner_id = :carol WHERE handle = :key"],
    ["key_class", "UPDATE keys SET key_class = 2 WHERE handle = :key"],
    ["key_type", "UPDATE keys SET key_type = 21 WHERE handle = :key"],
    ["label", "UPDATE keys SET label = 'other' WHERE handle = :key"],
    ["key_id", "UPDATE keys SET key_id = 'other' WHERE handle = :key"],
    ["flags: extractable", `UPDATE keys SET flags = replace(flags, '"extractable":true', '"extractable":false') WHERE handle = :key`],
    ["flags: wrap", `UPDATE keys SET flags = replace(flags, '"wrap":true', '"wrap":false') WHERE handle = :key`],
    ["flags: unwrap", `UPDATE keys SET flags = replace(flags, '"unwrap":true', '"unwrap":false') WHERE handle = :key`],
    ["value_len", "UPDATE keys SET value_len = 32 WHERE handle = :key"],
    ["kcv", "UPDATE keys SET kcv = x'000000' WHERE handle = :key"],
    ["acknowledged", "UPDATE keys SET acknowledged = 0 WHERE handle = :key"],
    ["material_nonce", "UPDATE keys SET material_nonce = zeroblob(12) WHERE handle = :key"],
    ["material_tag", "UPDATE keys SET material_tag = zeroblob(16) WHERE handle = :key"],
    ["a key_shares row added", "INSERT INTO key_shares(handle, user_id) VALUES (:key, :carol)"],
    ["a key_shares row removed", "DELETE FROM key_shares WHERE handle = :key AND user_id = :bob"],
    ["the MAC itself", "UPDATE keys SET row_mac = zeroblob(32) WHERE handle = :key"],
  ])("key column %s", (_column, sql) => {
    withDb(h.dbPath, (db) => {
      const used = Object.fromEntries(Object.entries({ key: shared, carol, bob }).filter(([name]) => sql.includes(`:${name}`)));
      // An edit that left the value as it was would load fine and fail the expectation below.
      expect(db.prepare(sql).run(used).changes).toBe(1);
    });
    expect(loadError()).toBe(keyRefused(shared));
  });

  test("the worker thread's check runs (not the fallback): it counts the untouched rows and names the first edited one", () => {
    const macs = new RowMac(h.masterKey);
    const handles = withDb(h.dbPath, (db) => db.prepare("SELECT handle FROM keys ORDER BY handle").pluck().all() as number[]);
    expect(handles.length).toBeGreaterThan(1);
    expect(macs.startKeyCheck(h.dbPath).outcome()).toEqual({ kind: "checked", rows: handles.length, handleSum: handles.reduce((a, b) => a + b, 0) });
    withDb(h.dbPath, (db) => {
      expect(db.prepare("UPDATE keys SET label = 'other' WHERE handle = ?").run(shared).changes).toBe(1);
    });
    expect(macs.startKeyCheck(h.dbPath).outcome()).toEqual({ kind: "failed", handle: shared });
  });

  test("a key row copied under another handle (a whole row forged) is refused", () => {
    withDb(h.dbPath, (db) => {
      db.prepare(
        "INSERT INTO keys SELECT 99, :carol, key_class, key_type, label, 'copy', flags, value_len, kcv, material_nonce, material_tag, material_sealed, acknowledged, row_mac FROM keys WHERE handle = :key",
      ).run({ carol, key: shared });
    });
    expect(loadError()).toBe(keyRefused(99));
  });

  test("a flipped byte in the sealed material is refused", () => {
    withDb(h.dbPath, (db) => {
      const sealed = Buffer.from((db.prepare("SELECT material_sealed FROM keys WHERE handle = ?").get(shared) as { material_sealed: Buffer }).material_sealed);
      sealed[3] = sealed[3]! ^ 0x40;
      db.prepare("UPDATE keys SET material_sealed = ? WHERE handle = ?").run(sealed, shared);
    });
    expect(loadError()).toBe(keyRefused(shared));
  });

  test("a flipped byte in the sealed material under a recomputed MAC (forged with the master key) is refused by AES-GCM at first use", () => {
    const macs = new RowMac(h.masterKey);
    withDb(h.dbPath, (db) => {
      const row = db.prepare("SELECT * FROM keys WHERE handle = ?").get(shared) as Parameters<RowMac["keyRow"]>[0];
      const sealed = Buffer.from(row.material_sealed);
      sealed[0] = sealed[0]! ^ 0x01;
      const edited = { ...row, material_sealed: sealed };
      db.prepare("UPDATE keys SET material_sealed = ?, row_mac = ? WHERE handle = ?").run(sealed, macs.keyRow(edited, [bob]), shared);
    });
    // The start checks row MACs only (they cover the sealed bytes); the material is unsealed when first read.
    const store = SqliteStore.open(h.dbPath, h.masterKey);
    try {
      const loaded = store.load().keys.find((k) => k.key.handle === shared)!.key;
      expect(() => loaded.material).toThrow(new StoreIntegrityError(h.dbPath, `key handle ${shared}`));
    } finally {
      store.close();
    }
  });

  test("loaded material is unsealed on first use: the stored bytes, the same Buffer on every read, carried by a spread copy", async () => {
    const material = randomBytes(32);
    const again = new ClusterHarness();
    try {
      const a = await again.cu("alice");
      const w = (await again.cluster.genSymKey(a.session, genParams({ label: "w" }))).handle;
      const handle = (await again.cluster.importSymKey(a.session, importParams(w, material, { label: "m" }))).handle;
      again.cluster.close();
      const store = SqliteStore.open(again.dbPath, again.masterKey);
      try {
        const loaded = store.load().keys.find((k) => k.key.handle === handle)!.key;
        expect(loaded.material.equals(material)).toBe(true);
        expect(loaded.material).toBe(loaded.material);
        expect({ ...loaded }.material.equals(material)).toBe(true);
        expect(Object.keys(loaded)).toContain("material");
        // Wiping zeroes read material; a key nothing has read is left sealed, not unsealed to be zeroed.
        const unread = store.load().keys.find((k) => k.key.handle === w)!.key;
        wipeMaterial(unread);
        expect((unread as unknown as Record<symbol, unknown>)[MATERIAL_UNTIL_USED]).not.toBeInstanceOf(Buffer);
        wipeMaterial(loaded);
        expect(loaded.material.equals(Buffer.alloc(material.length))).toBe(true);
      } finally {
        store.close();
      }
    } finally {
      again.dispose();
    }
  });

  test.each([
    ["role", "UPDATE users SET role = 'CO' WHERE user_id = :carol"],
    ["username", "UPDATE users SET username = 'mallory' WHERE user_id = :carol"],
    ["password_hash (swapped for another user's)", "UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE user_id = :alice) WHERE user_id = :carol"],
    ["login_failures", "UPDATE users SET login_failures = 3 WHERE user_id = :carol"],
    ["locked", "UPDATE users SET locked = 1 WHERE user_id = :carol"],
  ])("user column %s", (_column, sql) => {
    withDb(h.dbPath, (db) => {
      const used = Object.fromEntries(Object.entries({ alice, carol }).filter(([name]) => sql.includes(`:${name}`)));
      expect(db.prepare(sql).run(used).changes).toBe(1);
    });
    expect(loadError()).toBe(userRefused(carol));
  });

  test("a user added offline is refused", () => {
    withDb(h.dbPath, (db) => {
      db.prepare("INSERT INTO users SELECT 42, 'CU', 'mallory', password_hash, 0, 0, row_mac FROM users WHERE user_id = ?").run(alice);
    });
    expect(loadError()).toBe(userRefused(42));
  });

  test("changes made through the daemon keep every MAC valid: share, unshare, setAttribute, delete, failed logins", async () => {
    h.reopen();
    const a = await h.cluster.login(UserRole.CU, "alice", "password1");
    h.cluster.shareKey(a.session, shared, [carol], true);
    h.cluster.shareKey(a.session, shared, [bob], false);
    const sessionKey = (await h.cluster.genSymKey(a.session, genParams({ session: true }))).handle;
    h.cluster.setAttribute(a.session, sessionKey, 1, 1);
    h.cluster.deleteKey(a.session, wrapping);
    await h.cluster.login(UserRole.CU, "carol", "wrong-password").catch(() => undefined);
    h.cluster.close();
    expect(loadError()).toBeUndefined();
    h.reopen();
    expect(h.cluster.getKeyInfo(a.session, shared).sharedWith).toEqual([carol]);
  });
});
