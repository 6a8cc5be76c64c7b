// findKey and visibility: owned and shared keys only, AND-combined exact filters, session keys bound to their session.
import { randomBytes } from "node:crypto";
import Database from "better-sqlite3";
import { keyCheckValue } from "../../src/hsm/crypto/kcv";
import { KeyClass, KeyType } from "../../src/hsm/keyTypes";
import { UserRole } from "../../src/hsm/users";
import { ClusterHarness, CuLogin, expectHsmError, genParams, importParams } from "./support/harness";

describe("findKey and visibility", () => {
  let h: ClusterHarness;
  let alice: CuLogin;
  let bob: CuLogin;
  let carol: CuLogin;

  beforeEach(async () => {
    h = new ClusterHarness();
    alice = await h.cu("alice");
    bob = await h.cu("bob");
    carol = await h.cu("carol");
  });
  afterEach(() => h.dispose());

  test("with no filter a user sees exactly the keys it owns or that are shared with it, ascending", async () => {
    const a1 = (await h.cluster.genSymKey(alice.session, genParams({ label: "a1" }))).handle;
    const b1 = (await h.cluster.genSymKey(bob.session, genParams({ label: "b1" }))).handle;
    const a2 = (await h.cluster.genSymKey(alice.session, genParams({ label: "a2", shareWith: [bob.userId] }))).handle;
    const c1 = (await h.cluster.genSymKey(carol.session, genParams({ label: "c1", shareWith: [alice.userId, bob.userId] }))).handle;

    expect(h.cluster.findKey(alice.session, {})).toEqual([a1, a2, c1]);
    expect(h.cluster.findKey(bob.session, {})).toEqual([b1, a2, c1]);
    expect(h.cluster.findKey(carol.session, {})).toEqual([c1]);
    expect(h.cluster.keyCount).toBe(4);
  });

  test("getAttribute follows the same visibility", async () => {
    const mine = (await h.cluster.genSymKey(alice.session, genParams())).handle;
    const shared = (await h.cluster.genSymKey(bob.session, genParams({ shareWith: [alice.userId] }))).handle;
    const hidden = (await h.cluster.genSymKey(bob.session, genParams())).handle;
    expect(h.cluster.getAttribute(alice.session, mine, 0)).toHaveLength(1);
    expect(h.cluster.getAttribute(alice.session, shared, 0)).toHaveLength(1);
    await expectHsmError(() => h.cluster.getAttribute(alice.session, hidden, 0), "KEY_NOT_FOUND");
    await expectHsmError(() => h.cluster.getAttribute(carol.session, shared, 0), "KEY_NOT_FOUND");
  });

  test("sharing with several users works at genSymKey and importSymKey", async () => {
    const gen = (await h.cluster.genSymKey(alice.session, genParams({ shareWith: [bob.userId, carol.userId] }))).handle;
    const imp = (await h.cluster.importSymKey(alice.session, importParams(gen, randomBytes(16), { shareWith: [carol.userId] }))).handle;
    expect(h.cluster.findKey(bob.session, {})).toEqual([gen]);
    expect(h.cluster.findKey(carol.session, {})).toEqual([gen, imp]);
  });

  describe("filters", () => {
    let aesTagged: number;
    let aesOther: number;
    let des: number;
    let generic: number;
    let session: number;
    let sharedWithBob: number;
    let sharedWithBoth: number;
    let bobsShared: number;
    let importedMaterial: Buffer;
    let imported: number;

    beforeEach(async () => {
      const g = async (o: Parameters<typeof genParams>[0]) => (await h.cluster.genSymKey(alice.session, genParams(o))).handle;
      aesTagged = await g({ label: "tagged", id: "id-1", keySize: 16 });
      aesOther = await g({ label: "other", id: "id-2", keySize: 32 });
      des = await g({ label: "tagged", keyType: KeyType.DES3, keySize: 24 });
      generic = await g({ label: "tagged", keyType: KeyType.GENERIC_SECRET, keySize: 40 });
      session = await g({ label: "tagged", session: true });
      sharedWithBob = await g({ label: "shared", shareWith: [bob.userId] });
      sharedWithBoth = await g({ label: "shared", shareWith: [bob.userId, carol.userId] });
      bobsShared = (await h.cluster.genSymKey(bob.session, genParams({ label: "tagged", shareWith: [alice.userId] }))).handle;
      importedMaterial = randomBytes(24);
      imported = (await h.cluster.importSymKey(alice.session, importParams(aesOther, importedMaterial, { label: "imported", id: "id-3" }))).handle;
    });

    const find = (filter: Parameters<HsmClusterFind>[1]) => h.cluster.findKey(alice.session, filter);

    test("class", () => {
      expect(find({ keyClass: KeyClass.SECRET })).toEqual([aesTagged, aesOther, des, generic, session, sharedWithBob, sharedWithBoth, bobsShared, imported]);
      expect(find({ keyClass: KeyClass.PRIVATE })).toEqual([]);
    });

    test("type", () => {
      expect(find({ keyType: KeyType.DES3 })).toEqual([des]);
      expect(find({ keyType: KeyType.GENERIC_SECRET })).toEqual([generic]);
      expect(find({ keyType: KeyType.AES })).toEqual([aesTagged, aesOther, session, sharedWithBob, sharedWithBoth, bobsShared, imported]);
      expect(find({ keyType: 18 })).toEqual([]);
    });

    test("label: exact, case-sensitive, no wildcards", () => {
      expect(find({ label: "tagged" })).toEqual([aesTagged, des, generic, session, bobsShared]);
      expect(find({ label: "Tagged" })).toEqual([]);
      expect(find({ label: "tag" })).toEqual([]);
      expect(find({ label: "tag*" })).toEqual([]);
      // bob does not see alice's "tagged" keys, only his own.
      expect(h.cluster.findKey(bob.session, { label: "tagged" })).toEqual([bobsShared]);
    });

    test("id", () => {
      expect(find({ id: "id-1" })).toEqual([aesTagged]);
      expect(find({ id: "id-3" })).toEqual([imported]);
      expect(find({ id: "id" })).toEqual([]);
      expect(find({ id: "" })).toEqual([des, generic, session, sharedWithBob, sharedWithBoth, bobsShared]);
    });

    test("session", () => {
      expect(find({ session: true })).toEqual([session]);
      expect(find({ session: false })).toEqual([aesTagged, aesOther, des, generic, sharedWithBob, sharedWithBoth, bobsShared, imported]);
    });

    test("shared with: keys every listed user can use", () => {
      expect(find({ sharedWith: [bob.userId] })).toEqual([sharedWithBob, sharedWithBoth, bobsShared]);
      expect(find({ sharedWith: [bob.userId, carol.userId] })).toEqual([sharedWithBoth]);
      expect(find({ sharedWith: [carol.userId] })).toEqual([sharedWithBoth]);
      expect(find({ sharedWith: [9999] })).toEqual([]);
      // The caller itself can use all of its visible keys.
      expect(find({ sharedWith: [alice.userId] })).toEqual(find({}));
    });

    test("KCV", () => {
      const kcv = keyCheckValue(KeyType.AES, importedMaterial)!;
      expect(find({ kcv })).toEqual([imported]);
      expect(find({ kcv: Buffer.from("000000", "hex") })).toEqual([]);
      // Generic secrets have no KCV, so never match one.
      expect(find({ kcv: Buffer.alloc(3) })).not.toContain(generic);
    });

    test("filters combine with AND", () => {
      expect(find({ label: "tagged", keyType: KeyType.AES })).toEqual([aesTagged, session, bobsShared]);
      expect(find({ label: "tagged", keyType: KeyType.AES, session: false })).toEqual([aesTagged, bobsShared]);
      expect(find({ label: "tagged", keyType: KeyType.AES, session: false, id: "id-1" })).toEqual([aesTagged]);
      expect(find({ label: "tagged", id: "id-2" })).toEqual([]);
      expect(find({ label: "shared", sharedWith: [carol.userId], keyClass: KeyClass.SECRET })).toEqual([sharedWithBoth]);
      const kcv = keyCheckValue(KeyType.AES, importedMaterial)!;
      expect(find({ kcv, label: "imported", id: "id-3", keyType: KeyType.AES, session: false })).toEqual([imported]);
      expect(find({ kcv, label: "imported", keyType: KeyType.DES3 })).toEqual([]);
    });

    test("results never include keys the caller cannot see, whatever the filter", async () => {
      const hidden = (await h.cluster.genSymKey(carol.session, genParams({ label: "tagged", id: "carol-id" }))).handle;
      expect(find({ label: "tagged" })).not.toContain(hidden);
      expect(find({ id: "carol-id" })).toEqual([]);
      expect(find({ sharedWith: [carol.userId] })).not.toContain(hidden);
    });
  });

  describe("session keys", () => {
    test("are visible only in the session that made them, even to the same user", async () => {
      const sessionKey = (await h.cluster.genSymKey(alice.session, genParams({ session: true, label: "sess" }))).handle;
      const tokenKey = (await h.cluster.genSymKey(alice.session, genParams({ label: "tok" }))).handle;
      const second = await h.cluster.login(UserRole.CU, "alice", "password1");
      expect(h.cluster.findKey(alice.session, {})).toEqual([sessionKey, tokenKey]);
      expect(h.cluster.findKey(second.session, {})).toEqual([tokenKey]);
      await expectHsmError(() => h.cluster.getAttribute(second.session, sessionKey, 0), "KEY_NOT_FOUND");
    });

    test("shared session keys are still bound to their session", async () => {
      const sessionKey = (await h.cluster.genSymKey(alice.session, genParams({ session: true, shareWith: [bob.userId] }))).handle;
      expect(h.cluster.findKey(bob.session, {})).not.toContain(sessionKey);
      await expectHsmError(() => h.cluster.getAttribute(bob.session, sessionKey, 0), "KEY_NOT_FOUND");
    });

    test("are placed on one node", async () => {
      const { nodes } = await h.cluster.genSymKey(alice.session, genParams({ session: true }));
      expect(nodes.map((n) => [n.nodeId, n.errState])).toEqual([[alice.session.nodeId, 0]]);
    });

    test("vanish at logout, together with their ids; token keys stay", async () => {
      const sessionKey = (await h.cluster.genSymKey(alice.session, genParams({ session: true, id: "sess-id" }))).handle;
      const tokenKey = (await h.cluster.genSymKey(alice.session, genParams())).handle;
      expect(h.cluster.keyCount).toBe(2);
      h.cluster.logout(alice.token);
      expect(h.cluster.keyCount).toBe(1);
      const again = await h.cluster.login(UserRole.CU, "alice", "password1");
      expect(h.cluster.findKey(again.session, {})).toEqual([tokenKey]);
      await expectHsmError(() => h.cluster.getAttribute(again.session, sessionKey, 0), "KEY_NOT_FOUND");
      // The id is free again.
      await h.cluster.genSymKey(again.session, genParams({ id: "sess-id" }));
    });

    test("logout of one session leaves another session's keys alone", async () => {
      const second = await h.cluster.login(UserRole.CU, "alice", "password1");
      const keep = (await h.cluster.genSymKey(second.session, genParams({ session: true }))).handle;
      await h.cluster.genSymKey(alice.session, genParams({ session: true }));
      h.cluster.logout(alice.token);
      expect(h.cluster.findKey(second.session, {})).toEqual([keep]);
    });

    test("are never persisted: gone after a reopen, and never written to the store", async () => {
      const tokenKey = (await h.cluster.genSymKey(alice.session, genParams({ label: "tok" }))).handle;
      const sessionKey = (await h.cluster.genSymKey(alice.session, genParams({ session: true, label: "sess" }))).handle;
      const sessionImport = (await h.cluster.importSymKey(alice.session, importParams(tokenKey, randomBytes(16), { session: true }))).handle;
      h.cluster.close();
      const db = new Database(h.dbPath, { readonly: true });
      try {
        const handles = (db.prepare("SELECT handle FROM keys").all() as { handle: number }[]).map((r) => r.handle);
        expect(handles).toEqual([tokenKey]);
      } finally {
        db.close();
      }
      h.reopen();
      expect(h.cluster.keyCount).toBe(1);
      const { session } = await h.cluster.login(UserRole.CU, "alice", "password1");
      expect(h.cluster.findKey(session, {})).toEqual([tokenKey]);
      await expectHsmError(() => h.cluster.getAttribute(session, sessionKey, 0), "KEY_NOT_FOUND");
      await expectHsmError(() => h.cluster.getAttribute(session, sessionImport, 0), "KEY_NOT_FOUND");
    });
  });

  test("token keys and their sharing survive a reopen", async () => {
    const shared = (await h.cluster.genSymKey(alice.session, genParams({ shareWith: [bob.userId], label: "s" }))).handle;
    const own = (await h.cluster.genSymKey(alice.session, genParams({ label: "o" }))).handle;
    h.reopen();
    const a = await h.cluster.login(UserRole.CU, "alice", "password1");
    const b = await h.cluster.login(UserRole.CU, "bob", "password1");
    expect(h.cluster.findKey(a.session, {})).toEqual([shared, own]);
    expect(h.cluster.findKey(b.session, {})).toEqual([shared]);
    expect(h.cluster.findKey(a.session, { sharedWith: [b.session.userId] })).toEqual([shared]);
  });
});

type HsmClusterFind = ClusterHarness["cluster"]["findKey"];
