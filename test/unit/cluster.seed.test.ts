// Seed documents: checking, applying (users, keys with fixed or generated material, sharing), idempotence and stable handles.
import { HsmCluster } from "../../src/hsm/cluster";
import { KeyType } from "../../src/hsm/keyTypes";
import { checkSeed, SeedDocument, SeedError } from "../../src/hsm/seed";
import { UserRole } from "../../src/hsm/users";
import { ClusterHarness, expectHsmError, pkcs5Wrap } from "./support/harness";

const KEK = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

const SEED: SeedDocument = {
  users: [
    { role: "CU", name: "alice", password: "password1" },
    { role: "CU", name: "bob", password: "password2" },
    { role: "CO", name: "officer", password: "password3" },
  ],
  keys: [
    { owner: "alice", label: "kek", id: "kek-1", type: "aes", material: { hex: KEK } },
    { owner: "alice", label: "data", id: "data-1", type: "aes", size: 16, sharedWith: ["bob"] },
    { owner: "bob", label: "mac", id: "mac-1", type: KeyType.GENERIC_SECRET, size: 20, extractable: false },
  ],
};

function seedError(fn: () => unknown): SeedError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeedError);
    return err as SeedError;
  }
  throw new Error("expected a SeedError");
}

async function login(cluster: HsmCluster, name: string, password: string) {
  return (await cluster.login(UserRole.CU, name, password)).session;
}

describe("seed documents", () => {
  let h: ClusterHarness;
  beforeEach(() => {
    h = new ClusterHarness();
  });
  afterEach(() => h.dispose());

  test("a seed creates its users and keys: fixed material, generated material, owner and sharing", async () => {
    const seeded = await h.cluster.applySeed(checkSeed(SEED));
    expect(seeded.map((k) => [k.id, k.owner, k.created])).toEqual([
      ["kek-1", "alice", true],
      ["data-1", "alice", true],
      ["mac-1", "bob", true],
    ]);
    expect(h.cluster.listUsers().map((u) => [u.username, u.role])).toEqual([
      ["alice", UserRole.CU],
      ["bob", UserRole.CU],
      ["officer", UserRole.CO],
    ]);
    const alice = await login(h.cluster, "alice", "password1");
    const bob = await login(h.cluster, "bob", "password2");
    const [kek, data, mac] = seeded.map((k) => k.handle) as [number, number, number];
    // The fixed material is the key's: wrapped under the KEK and unwrapped again it is the seed's bytes.
    const wrapped = h.cluster.wrapKey(alice, pkcs5Wrap(kek, kek));
    expect(h.cluster.unwrapHostKey(alice, kek, wrapped).toString("hex")).toBe(KEK);
    expect(h.cluster.findKey(bob, { label: "data" })).toEqual([data]);
    expect(h.cluster.getKeyInfo(alice, data).sharedWith).toEqual([h.cluster.findUserByName("bob")!.userId]);
    // Seeded keys are on every node from the start.
    expect(h.cluster.getKeyInfo(bob, mac).nodes.every((n) => n.holdsKey)).toBe(true);
    // extractable: false is honoured.
    await expectHsmError(() => h.cluster.wrapKey(bob, pkcs5Wrap(mac, kek)), "KEY_NOT_EXTRACTABLE");
  });

  test("applying the same seed again, after a restart, changes nothing and gives the same handles", async () => {
    const first = await h.cluster.applySeed(SEED);
    const alice = await login(h.cluster, "alice", "password1");
    const wrappedBefore = h.cluster.wrapKey(alice, pkcs5Wrap(first[1]!.handle, first[0]!.handle));
    const revision = h.cluster.currentRevision;
    h.reopen();
    const again = await h.cluster.applySeed(SEED);
    expect(again.map((k) => [k.handle, k.created])).toEqual(first.map((k) => [k.handle, false]));
    expect(h.cluster.keyCount).toBe(3);
    expect(h.cluster.listUsers()).toHaveLength(3);
    const alice2 = await login(h.cluster, "alice", "password1");
    // Generated material was generated once: the key is the same key.
    expect(h.cluster.wrapKey(alice2, pkcs5Wrap(first[1]!.handle, first[0]!.handle))).toEqual(wrappedBefore);
    expect(h.cluster.currentRevision).toBeGreaterThanOrEqual(revision);
  });

  test("the same seed on two fresh stores gives the same handles", async () => {
    const other = new ClusterHarness();
    try {
      const a = await h.cluster.applySeed(SEED);
      const b = await other.cluster.applySeed(SEED);
      expect(b.map((k) => k.handle)).toEqual(a.map((k) => k.handle));
    } finally {
      other.dispose();
    }
  });

  test("a key id owned by another user in the store refuses the whole seed and changes nothing", async () => {
    await h.cluster.applySeed({ users: [{ role: "CU", name: "carol", password: "password9" }], keys: [{ owner: "carol", label: "x", id: "data-1", type: "aes", size: 32 }] });
    const users = h.cluster.listUsers().length;
    let caught: unknown;
    try {
      await h.cluster.applySeed(SEED);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SeedError);
    expect((caught as SeedError).path).toEqual(["keys", 1, "id"]);
    expect(h.cluster.listUsers()).toHaveLength(users);
    expect(h.cluster.keyCount).toBe(1);
  });

  test("an in-process seed gets the file's checks, and node delays must name nodes of the cluster", async () => {
    await expect(h.cluster.applySeed({ users: [{ role: "CU", name: "weak", password: "short" }] })).rejects.toMatchObject({ path: ["users", 0, "password"] });
    await expect(h.cluster.applySeed({ cluster: { nodeDelaysMs: { "3": 10 } } })).rejects.toMatchObject({ path: ["cluster", "nodeDelaysMs", "3"] });
    expect(h.cluster.listUsers()).toEqual([]);
    await h.cluster.applySeed({ cluster: { nodeDelaysMs: { "2": 750 } } });
    expect(h.cluster.listNodes()[2]?.replicationDelayMs).toBe(750);
  });

  test("an existing user of another role refuses the seed", async () => {
    await h.cluster.createUser(UserRole.CO, "alice", "password1");
    await expect(h.cluster.applySeed(SEED)).rejects.toMatchObject({ path: ["users", 0, "role"] });
    expect(h.cluster.keyCount).toBe(0);
  });
});

describe("checkSeed", () => {
  test.each<[string, unknown, (string | number)[]]>([
    ["an unknown top-level field", { user: [] }, ["user"]],
    ["a session key", { users: [{ role: "CU", name: "a", password: "password1" }], keys: [{ owner: "a", label: "l", id: "i", type: "aes", size: 16, token: false }] }, ["keys", 0, "token"]],
    ["an AES size of 20", { keys: [{ owner: "a", label: "l", id: "i", type: "aes", size: 20 }] }, ["keys", 0, "size"]],
    ["material of the wrong length", { keys: [{ owner: "a", label: "l", id: "i", type: "aes", size: 32, material: { hex: "0011" } }] }, ["keys", 0, "size"]],
    ["an empty id", { keys: [{ owner: "a", label: "l", id: "", type: "aes", size: 16 }] }, ["keys", 0, "id"]],
    ["a key type 18", { keys: [{ owner: "a", label: "l", id: "i", type: 18, size: 16 }] }, ["keys", 0, "type"]],
    ["a short password", { users: [{ role: "CU", name: "a", password: "short" }] }, ["users", 0, "password"]],
    ["a user listed twice", { users: [{ role: "CU", name: "a", password: "password1" }, { role: "CO", name: "A", password: "password1" }] }, ["users", 1, "name"]],
    ["a node delay for node 5 of 3", { cluster: { nodes: 3, nodeDelaysMs: { "5": 10 } } }, ["cluster", "nodeDelaysMs", "5"]],
    ["29 nodes", { cluster: { nodes: 29 } }, ["cluster", "nodes"]],
  ])("refuses %s, naming where", (_name, doc, path) => {
    expect(seedError(() => checkSeed(doc)).path).toEqual(path);
  });

  test("no error message quotes a password or material", () => {
    const secret = "zz-not-hex-material-zz";
    const err = seedError(() => checkSeed({ keys: [{ owner: "a", label: "l", id: "i", type: "aes", material: { hex: secret } }] }));
    expect(err.message).not.toContain(secret);
    const pw = seedError(() => checkSeed({ users: [{ role: "CU", name: "a", password: "x".repeat(40) }] }));
    expect(pw.message).not.toContain("x".repeat(40));
  });
});
