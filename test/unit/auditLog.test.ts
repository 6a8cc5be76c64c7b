// The keyed audit chain and its head in the store: records link under an HMAC from the master key; an edit, a removed
// record rechained (plain SHA-256 or HMAC under another key), a cut tail or an emptied file are refused at open; a crash
// between the store commit and the log write is repaired from the store; the cluster's events all land in the log.
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { AuditChain, AuditRecord } from "../../src/hsm/auditChain";
import { AuditChainError, FileAuditLog, reconcile } from "../../src/hsm/auditLog";
import { GroupCommit } from "../../src/hsm/groupCommit";
import { SqliteStore, StoreIntegrityError } from "../../src/hsm/store/sqliteStore";
import { UserRole } from "../../src/hsm/users";
import { HsmCluster } from "../../src/hsm/cluster";
import { HsmStore } from "../../src/hsm/store/hsmStore";
import { CLUSTER_DEFAULTS, ClusterHarness, FakeClock, genParams, makeTempDir, removeDir } from "./support/harness";
import { WrapMechanism } from "../../src/hsm/crypto/wrapMechanisms";

const NOW = Date.UTC(2026, 0, 1);

describe("FileAuditLog against the head in the store", () => {
  let dir: string;
  let path: string;
  let dbPath: string;
  const masterKey = randomBytes(32);
  const chain = new AuditChain(masterKey);
  beforeEach(() => {
    dir = makeTempDir("lchsm-audit-");
    path = join(dir, "audit.jsonl");
    dbPath = join(dir, "store.sqlite");
  });
  afterEach(() => removeDir(dir));

  /** Opens store and log as the daemon does. */
  function open(): { store: SqliteStore; log: FileAuditLog; close: () => void } {
    const store = SqliteStore.open(dbPath, masterKey);
    try {
      const log = new FileAuditLog(path, chain, store.auditState(), () => NOW);
      return { store, log, close: () => (log.close(), store.close()) };
    } catch (err) {
      store.close();
      throw err;
    }
  }

  /** Writes `count` records, each in its own commit (one batch each), through the durable write path. */
  function writeRecords(count: number): void {
    const { store, log, close } = open();
    const commits = new GroupCommit(store, log);
    for (let i = 0; i < count; i++) commits.commit(() => undefined, [{ opcode: "CN_LOGIN", node: 0, user: i, result: "SUCCESS" }]);
    close();
  }

  const lines = (): string[] => readFileSync(path, "utf8").split("\n").filter((l) => l !== "");
  const openFails = (): string => {
    try {
      open().close();
    } catch (err) {
      expect(err).toBeInstanceOf(AuditChainError);
      return (err as Error).message;
    }
    throw new Error("the log opened");
  };

  test("records chain to each other under the keyed hash; reopening continues the chain", () => {
    writeRecords(3);
    writeRecords(2);
    expect(chain.verify(readFileSync(path, "utf8"))).toMatchObject({ ok: true, records: 5, head: { seq: 5 } });
    expect(lines().map((l) => (JSON.parse(l) as AuditRecord).seq)).toEqual([1, 2, 3, 4, 5]);
    // Another master key's chain does not verify the same log.
    expect(new AuditChain(randomBytes(32)).verify(readFileSync(path, "utf8"))).toMatchObject({ ok: false, brokenLine: 1 });
  });

  test("editing one record is caught at that line, and the log does not open", () => {
    writeRecords(5);
    const all = lines();
    all[2] = all[2]!.replace('"result":"SUCCESS"', '"result":"LOGIN_FAILED"');
    writeFileSync(path, all.join("\n") + "\n");
    expect(chain.verify(readFileSync(path, "utf8"))).toMatchObject({ ok: false, brokenLine: 3, records: 2 });
    expect(openFails()).toBe(`audit log ${path} is broken at line 3: content does not match its hash`);
  });

  test.each([
    ["plain SHA-256 (the old chain)", (body: string) => createHash("sha256").update(body).digest("hex")],
    ["HMAC under a wrong key", (body: string) => new AuditChain(randomBytes(32)).hash(JSON.parse(body) as AuditRecord)],
  ])("a record removed and the rest rechained with %s is refused", (_name, rehash) => {
    writeRecords(4);
    const kept = lines().map((l) => JSON.parse(l) as AuditRecord);
    kept.splice(1, 1);
    let prev = "0".repeat(64);
    const rechained = kept.map((r, i) => {
      const base = { ...r, seq: i + 1, prev };
      const body = JSON.stringify(base);
      const hash = rehash(body);
      prev = hash;
      return JSON.stringify({ ...base, hash });
    });
    writeFileSync(path, rechained.join("\n") + "\n");
    expect(openFails()).toBe(`audit log ${path} is broken at line 1: content does not match its hash`);
  });

  test("a deleted tail is refused: the store's head names a later record", () => {
    writeRecords(5);
    writeFileSync(path, lines().slice(0, 3).join("\n") + "\n");
    expect(openFails()).toBe(`audit log ${path} ends at record 3 but the store's audit head is record 5: records were removed from its end`);
  });

  test("an emptied or deleted log is refused", () => {
    writeRecords(3);
    writeFileSync(path, "");
    expect(openFails()).toBe(`audit log ${path} ends at record 0 but the store's audit head is record 3: records were removed from its end`);
  });

  test("a log that goes past the store's head (an older store put back) is refused", () => {
    writeRecords(2);
    const olderStore = readFileSync(dbPath);
    writeRecords(2);
    writeFileSync(dbPath, olderStore);
    expect(openFails()).toBe(`audit log ${path} goes past the store's audit head (record 2) to record 4: the store is older than the log`);
  });

  test("an audit head edited in the store fails its MAC", () => {
    writeRecords(3);
    const record3 = JSON.parse(lines()[1]!) as AuditRecord;
    writeFileSync(path, lines().slice(0, 2).join("\n") + "\n");
    const db = new Database(dbPath);
    db.prepare("UPDATE meta SET value = ? WHERE name = 'audit_head'").run(JSON.stringify({ head: { seq: 2, hash: record3.hash }, pending: [] }));
    db.close();
    const store = SqliteStore.open(dbPath, masterKey);
    try {
      expect(() => store.auditState()).toThrow(StoreIntegrityError);
    } finally {
      store.close();
    }
  });

  test("a crash after the store commit, before (or while) the log write, is repaired from the store at open", () => {
    writeRecords(2);
    // The commit of records 3 and 4 reached the store; the process died with a torn line in the log.
    const { store, log, close } = open();
    const records = log.extend([
      { opcode: "CN_LOGOUT", node: 1, user: 7, result: "SUCCESS" },
      { opcode: "CN_LOGIN", node: 1, user: 8, result: "SUCCESS" },
    ]);
    store.transaction(() => store.saveAuditHead({ seq: 4, hash: records[1]!.hash }, records));
    close();
    appendFileSync(path, JSON.stringify(records[0]).slice(0, 40));
    expect(reconcile(chain, readFileSync(path, "utf8"), { head: { seq: 4, hash: records[1]!.hash }, pending: records })).toMatchObject({
      ok: true,
      torn: true,
      missing: records,
    });
    const reopened = open();
    expect(reopened.log.restored).toBe(2);
    reopened.close();
    expect(chain.verify(readFileSync(path, "utf8"))).toMatchObject({ ok: true, records: 4 });
    expect(lines().map((l) => (JSON.parse(l) as AuditRecord).opcode)).toEqual(["CN_LOGIN", "CN_LOGIN", "CN_LOGOUT", "CN_LOGIN"]);
    // And the chain goes on from there.
    writeRecords(1);
    expect(chain.verify(readFileSync(path, "utf8"))).toMatchObject({ ok: true, records: 5 });
  });

  test("a failed batch leaves neither its store write nor its record", () => {
    writeRecords(1);
    const { store, log, close } = open();
    const commits = new GroupCommit(store, log);
    expect(() =>
      commits.commit(() => {
        throw new Error("disk says no");
      }, [{ opcode: "CN_LOGOUT", node: 0, user: 1, result: "SUCCESS" }]),
    ).toThrow("disk says no");
    expect(store.auditState().head.seq).toBe(1);
    commits.commit(() => undefined, [{ opcode: "CN_LOGOUT", node: 0, user: 1, result: "SUCCESS" }]);
    close();
    expect(chain.verify(readFileSync(path, "utf8"))).toMatchObject({ ok: true, records: 2 });
    open().close();
  });
});

describe("the cluster's audit trail", () => {
  test("logins (both outcomes), key creation, share, export, deletion and control actions are recorded without key material, each advancing the store's head", async () => {
    const dir = makeTempDir("lchsm-audit-");
    const path = join(dir, "audit.jsonl");
    const masterKey = randomBytes(32);
    const chain = new AuditChain(masterKey);
    const audit = new FileAuditLog(path, chain, { head: { seq: 0, hash: "0".repeat(64) }, pending: [] });
    const h = new ClusterHarness({ masterKey, cluster: { audit } });
    try {
      const alice = await h.cu("alice");
      const bob = await h.cu("bob");
      await h.cluster.login(UserRole.CU, "alice", "wrong-password").catch(() => undefined);
      const key = await h.cluster.genSymKey(alice.session, genParams({ label: "audited" }));
      const wrapping = await h.cluster.genSymKey(alice.session, genParams({ label: "wrapper" }));
      h.cluster.shareKey(alice.session, key.handle, [bob.userId], true);
      const exported = h.cluster.wrapKey(alice.session, { keyHandle: key.handle, wrappingKeyHandle: wrapping.handle, mechanism: WrapMechanism.AES_KEY_WRAP_PAD_PKCS5, aad: Buffer.alloc(0), oaepHash: "sha256" });
      h.cluster.deleteKey(alice.session, key.handle);
      h.cluster.setNodeState(2, "DOWN");
      const text = readFileSync(path, "utf8");
      const records = text.trim().split("\n").map((l) => JSON.parse(l) as AuditRecord);
      expect(records.map((r) => `${r.opcode}:${r.result}`)).toEqual([
        "CN_CREATE_USER:SUCCESS",
        "CN_LOGIN:SUCCESS",
        "CN_CREATE_USER:SUCCESS",
        "CN_LOGIN:SUCCESS",
        "CN_LOGIN:LOGIN_FAILED",
        "CN_GENERATE_KEY:SUCCESS",
        "CN_GENERATE_KEY:SUCCESS",
        "CN_SHARE_OBJECT:SUCCESS",
        "CN_WRAP_KEY:SUCCESS",
        "CN_DESTROY_OBJECT:SUCCESS",
        "CN_CLUSTER_CONTROL:SUCCESS",
      ]);
      expect(chain.verify(text).ok).toBe(true);
      expect(text).not.toContain(exported.toString("hex"));
      expect(text).not.toContain("password1");
      h.cluster.close();
      const store = SqliteStore.open(h.dbPath, masterKey);
      try {
        expect(store.auditState().head).toEqual({ seq: records.length, hash: records[records.length - 1]!.hash });
      } finally {
        store.close();
      }
    } finally {
      h.dispose();
      audit.close();
      removeDir(dir);
    }
  });
});

describe("one durable write path", () => {
  test("every audited store change commits in the transaction that moves the audit head: users, login failures, keys, share, setAttribute, delete", async () => {
    const dir = makeTempDir("lchsm-audit-");
    const masterKey = randomBytes(32);
    const store = SqliteStore.open(join(dir, "store.sqlite"), masterKey);
    const audit = new FileAuditLog(join(dir, "audit.jsonl"), new AuditChain(masterKey), store.auditState());
    // Each transaction as the list of store calls made inside it; calls outside any transaction are their own list.
    const transactions: string[][] = [];
    let open: string[] | undefined;
    const watched = new Set(["insertUser", "updateUser", "insertKey", "replaceShares", "deleteKey", "markAcknowledged", "addKeyNodes", "saveAuditHead"]);
    const spied = new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== "function") return value;
        const method = value as (...args: unknown[]) => unknown;
        if (name === "transaction") {
          return (writes: () => void) => {
            if (open) return method.call(target, writes);
            open = [];
            try {
              return method.call(target, writes);
            } finally {
              transactions.push(open);
              open = undefined;
            }
          };
        }
        if (typeof name === "string" && watched.has(name)) {
          return (...args: unknown[]) => {
            if (open) open.push(name);
            else transactions.push([name]);
            return method.apply(target, args);
          };
        }
        return method.bind(target);
      },
    }) as HsmStore;
    const clock = new FakeClock();
    const cluster = new HsmCluster({ store: spied, clock, timers: clock, nodeCount: 3, ...CLUSTER_DEFAULTS, replicationDelayMs: 0, audit });
    try {
      await cluster.createUser(UserRole.CU, "alice", "password1");
      const bob = await cluster.createUser(UserRole.CU, "bob", "password1");
      await cluster.login(UserRole.CU, "bob", "wrong-password").catch(() => undefined);
      const { session } = await cluster.login(UserRole.CU, "alice", "password1");
      const key = await cluster.genSymKey(session, genParams());
      cluster.shareKey(session, key.handle, [bob.userId], true);
      const sessionKey = await cluster.genSymKey(session, genParams({ session: true }));
      cluster.setAttribute(session, sessionKey.handle, 1, 1);
      cluster.deleteKey(session, key.handle);
      const audited = ["insertUser", "updateUser", "insertKey", "replaceShares", "deleteKey"];
      for (const name of audited) expect(transactions.some((t) => t.includes(name))).toBe(true);
      // No store change outside a transaction, and none audited without the head moving with it.
      for (const t of transactions) {
        if (t.some((name) => audited.includes(name))) expect(t).toContain("saveAuditHead");
        if (t.length === 1) expect(["saveAuditHead", "addKeyNodes", "markAcknowledged"]).toContain(t[0]);
      }
    } finally {
      cluster.close();
      audit.close();
      removeDir(dir);
    }
  });
});
