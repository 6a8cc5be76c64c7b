// startEmulator (local-cloudhsm/testing): several in one process, in memory or on a data directory, users made,
// clients ready, and stop() closing everything (jest would hang on a server or channel left open).
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { HsmClient, KEY_TYPE } from "../../clients";
import { Emulator, startEmulator } from "../../src/testing";
import { expectRpcError } from "../support/expectRpcError";

const USERS = [
  { username: "alice", password: "password1" },
  { username: "officer", password: "password2", role: "CO" as const },
];

/** Collects the emulator's JSON log lines (the default, stderr, would clutter jest's output). */
function logCollector(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString("utf8").split("\n")) if (text.trim() !== "") lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

describe("startEmulator", () => {
  const started: Emulator[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((e) => e.stop()));
  });

  it("runs two independent emulators in one process, each with its users, nodes and keys", async () => {
    const a = await startEmulator({ nodes: 3, users: USERS, logStream: logCollector().stream });
    started.push(a);
    const b = await startEmulator({ nodes: 1, users: [{ username: "bob", password: "password3" }], logStream: logCollector().stream });
    started.push(b);

    expect(a.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(a.port).not.toBe(b.port);
    expect(a.dataDir).toBeUndefined();

    const alice = await a.login("alice");
    const bob = await b.login("bob");
    const keyA = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "in-a" });
    const keyB = await bob.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "in-b" });
    expect(keyA.nodeStatuses).toHaveLength(3);
    expect(keyB.nodeStatuses).toHaveLength(1);
    // Separate clusters: each numbers its own keys and finds only its own.
    expect(await alice.findKey({ label: "in-b" })).toEqual([]);
    expect(await bob.findKey({ label: "in-b" })).toEqual([keyB.keyHandle]);

    expect((await a.control.listNodes()).nodes).toHaveLength(3);
    expect((await a.admin.listUsers()).users.map((u) => u.username).sort()).toEqual(["alice", "officer"]);
    // bob exists only in b.
    await expectRpcError(a.login("bob", "password3"), grpc.status.UNAUTHENTICATED, "LOGIN_FAILED");
  });

  it("logs the crypto officer in as a CO and writes the daemon's ready line", async () => {
    const logs = logCollector();
    const emulator = await startEmulator({ users: USERS, logStream: logs.stream, logLevel: "info" });
    started.push(emulator);
    const officer = await emulator.login("officer");
    // A CO may not create keys (crypto users only), which shows the session is a CO's.
    await expectRpcError(officer.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "x" }), grpc.status.PERMISSION_DENIED, "INVALID_USER_TYPE");
    const ready = logs.lines.find((l) => l.message === "local-cloudhsm serving");
    expect(ready).toMatchObject({ address: emulator.address, data_dir: "memory", nodes: 3 });
  });

  it("accepts daemon settings by name and refuses a bad one as the daemon does", async () => {
    const emulator = await startEmulator({ nodeCount: 2, maxKeys: 1, users: USERS, logStream: logCollector().stream });
    started.push(emulator);
    const alice = await emulator.login("alice");
    await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "one" });
    await expectRpcError(alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "two" }), grpc.status.RESOURCE_EXHAUSTED, "KEY_LIMIT_REACHED");
    expect((await emulator.control.listNodes()).nodes).toHaveLength(2);

    await expect(startEmulator({ nodes: 2, createObjectMinimumNodes: 3 })).rejects.toThrow(/--create-object-minimum-nodes/);
    await expect(startEmulator({ nodes: 2, nodeCount: 3 })).rejects.toThrow(/disagree/);
  });

  it("keeps keys and users in a data directory across a stop and a new start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lch-emu-"));
    try {
      const first = await startEmulator({ dataDir: dir, users: USERS, logStream: logCollector().stream });
      started.push(first);
      const alice = await first.login("alice");
      const { keyHandle } = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "kept" });
      await first.stop();
      expect(readdirSync(dir)).toEqual(expect.arrayContaining(["store.sqlite", "master.key", "admin-secret", "audit.jsonl"]));

      const second = await startEmulator({ dataDir: dir, users: USERS, logStream: logCollector().stream });
      started.push(second);
      expect(second.adminSecret).toBe(first.adminSecret);
      const again = await second.login("alice");
      expect(await again.findKey({ label: "kept" })).toEqual([keyHandle]);
    } finally {
      await Promise.all(started.splice(0).map((e) => e.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stop() closes the server and is idempotent", async () => {
    const emulator = await startEmulator({ users: USERS, logStream: logCollector().stream });
    await emulator.login("alice");
    await Promise.all([emulator.stop(), emulator.stop()]);
    await emulator.stop();
    // Nothing listens any more: a fresh client's call fails as unreachable (the port was closed, not merely idle).
    const fresh = new HsmClient(emulator.address);
    try {
      await expect(fresh.login("alice", "password1")).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      fresh.close();
    }
  });

  it("a start that fails after the daemon is built closes it again and releases the data directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lch-emu-"));
    try {
      await expect(
        startEmulator({ dataDir: dir, users: [{ username: "alice", password: "short" }], logStream: logCollector().stream }),
      ).rejects.toMatchObject({ reason: "PASSWORD_INVALID" });
      // The lock was released: the same directory starts again.
      const again = await startEmulator({ dataDir: dir, users: USERS, logStream: logCollector().stream });
      started.push(again);
      await again.login("alice");
    } finally {
      await Promise.all(started.splice(0).map((e) => e.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes a seed as an object or as a file: its users log in and its keys are there; a bad seed starts nothing", async () => {
    const seed = {
      users: [{ role: "CU" as const, name: "sam", password: "sam-password" }],
      keys: [{ owner: "sam", label: "seeded", id: "seed-1", type: "aes" as const, material: { hex: "00".repeat(16) } }],
    };
    const dir = mkdtempSync(join(tmpdir(), "lch-emu-seed-"));
    try {
      const seedFile = join(dir, "seed.json");
      writeFileSync(seedFile, JSON.stringify(seed));
      for (const given of [seed, seedFile]) {
        const emulator = await startEmulator({ seed: given, logStream: logCollector().stream });
        started.push(emulator);
        const sam = await emulator.login("sam");
        const [handle] = await sam.findKey({ label: "seeded" });
        expect(handle).toBeDefined();
        // KCV of the all-zero AES-128 key (AES-128(0, 0) = 66e94bd4...).
        expect(await sam.kcv(handle!)).toBe("66e94b");
      }
      await expect(startEmulator({ seed: { keys: [{ owner: "nobody", label: "x", id: "x", type: "aes", size: 7 }] }, logStream: logCollector().stream })).rejects.toThrow(/seed/);
    } finally {
      await Promise.all(started.splice(0).map((e) => e.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
