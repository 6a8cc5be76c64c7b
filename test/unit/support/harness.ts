// Shared helpers for the domain unit tests: a cluster over a fresh SqliteStore in a temp dir, a fake clock,
// and small builders for the option objects the cluster takes.
import { WrapMechanism } from "../../../src/hsm/crypto/wrapMechanisms";
import { WrapKeyParams } from "../../../src/hsm/wrapOperations";
import { randomBytes } from "node:crypto";
import { accessSync, constants, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterOptions, GenSymKeyParams, HsmCluster, ImportSymKeyParams, NewKeyOptions, NodeResult } from "../../../src/hsm/cluster";
import { HsmError, Reason } from "../../../src/hsm/errors";
import { KeyType } from "../../../src/hsm/keyTypes";
import { ClusterEvent, ClusterEventKind } from "../../../src/hsm/revisionLog";
import { LoginSession } from "../../../src/hsm/sessions";
import { SqliteStore } from "../../../src/hsm/store/sqliteStore";
import { WatchOptions } from "../../../src/hsm/syncWatcher";
import { ScryptCost, UserRole } from "../../../src/hsm/users";
import { FakeTime as FakeClock } from "../../support/fakeTime";
import { clusterSettings } from "../../../src/server/compositionRoot";
import { DEFAULTS } from "../../../src/server/settings";

/** Low scrypt cost so the suite stays fast; the production default is N=16384. */
export const FAST_SCRYPT: ScryptCost = { N: 1024, r: 8, p: 1 };

/** The daemon's default cluster settings, from the settings table, with the fast scrypt cost. */
export const CLUSTER_DEFAULTS = { ...clusterSettings(DEFAULTS), scryptCost: FAST_SCRYPT };

/** The fake clock and timers of the domain unit tests: the same one the daemon-level tests use. */
export { FakeClock };

/**
 * Temp dirs go to a RAM-backed tmpfs when there is one: the store fsyncs every commit
 * (synchronous = FULL), which on a disk dominates the suite's run time.
 */
const TEMP_ROOT = process.env.LCHSM_TEST_TMPDIR ?? (isWritableDir("/dev/shm") ? "/dev/shm" : tmpdir());

function isWritableDir(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function makeTempDir(prefix = "lchsm-unit-"): string {
  return mkdtempSync(join(TEMP_ROOT, prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * One test's world: a temp dir, a store file and master key in it, and a cluster over them.
 * `reopen()` closes the cluster and builds a new one over the same file (a daemon restart).
 */
export class ClusterHarness {
  readonly dir: string;
  readonly dbPath: string;
  readonly masterKey: Buffer;
  readonly clock = new FakeClock();
  readonly nodeCount: number;
  cluster: HsmCluster;
  private disposed = false;

  readonly replicationDelayMs: number;

  /** Replication is immediate by default (zero delay); pass a delay and advance the clock to test timing. */
  private readonly extra: Partial<ClusterOptions>;

  constructor(options: { nodeCount?: number; masterKey?: Buffer; replicationDelayMs?: number; cluster?: Partial<ClusterOptions> } = {}) {
    this.extra = options.cluster ?? {};
    this.replicationDelayMs = options.replicationDelayMs ?? 0;
    this.dir = makeTempDir();
    this.dbPath = join(this.dir, "store.sqlite");
    this.masterKey = options.masterKey ?? randomBytes(32);
    this.nodeCount = options.nodeCount ?? 3;
    this.cluster = this.open();
  }

  private open(): HsmCluster {
    const store = SqliteStore.open(this.dbPath, this.masterKey);
    try {
      return new HsmCluster({
        store,
        clock: this.clock,
        timers: this.clock,
        nodeCount: this.nodeCount,
        ...CLUSTER_DEFAULTS,
        replicationDelayMs: this.replicationDelayMs,
        ...this.extra,
      });
    } catch (err) {
      store.close();
      throw err;
    }
  }

  /** A daemon restart over the same store file. */
  reopen(): HsmCluster {
    this.cluster.close();
    this.cluster = this.open();
    return this.cluster;
  }

  /** Creates a crypto user and logs it in. */
  async cu(username: string, password = "password1"): Promise<CuLogin> {
    const info = await this.cluster.createUser(UserRole.CU, username, password);
    const { token, session } = await this.cluster.login(UserRole.CU, username, password);
    return { userId: info.userId, token, session };
  }

  /** Creates a crypto officer and logs it in. */
  async co(username: string, password = "password1"): Promise<CuLogin> {
    const info = await this.cluster.createUser(UserRole.CO, username, password);
    const { token, session } = await this.cluster.login(UserRole.CO, username, password);
    return { userId: info.userId, token, session };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    try {
      this.cluster.close();
    } finally {
      removeDir(this.dir);
    }
  }
}

export interface CuLogin {
  readonly userId: number;
  readonly token: string;
  readonly session: LoginSession;
}

export function keyOptions(overrides: Partial<NewKeyOptions> = {}): NewKeyOptions {
  return { label: "key", id: "", session: false, shareWith: [], minSrv: undefined, timeoutSeconds: undefined, ...overrides };
}

/** exSymKey's wrap: mechanism 4 (AES key wrap with PKCS#5 padding), no AAD. */
export function pkcs5Wrap(keyHandle: number, wrappingKeyHandle: number): WrapKeyParams {
  return { keyHandle, wrappingKeyHandle, mechanism: WrapMechanism.AES_KEY_WRAP_PAD_PKCS5, aad: Buffer.alloc(0), oaepHash: "sha256" };
}

export function genParams(overrides: Partial<GenSymKeyParams> = {}): GenSymKeyParams {
  return { ...keyOptions(), keyType: KeyType.AES, keySize: 32, nonExtractable: false, ...overrides };
}

export function importParams(wrappingKeyHandle: number, bytes: Buffer, overrides: Partial<ImportSymKeyParams> = {}): ImportSymKeyParams {
  return {
    ...keyOptions(),
    keyType: KeyType.AES,
    wrappingKeyHandle,
    material: { kind: "plaintext", bytes },
    ...overrides,
  };
}

/**
 * Runs `fn`, expects it to throw or reject with an HsmError of `reason`, and returns the error for
 * further checks. Works for synchronous and asynchronous calls alike, so tests do not depend on
 * whether a cluster operation is sync or async.
 */
export async function expectHsmError(fn: () => unknown, reason: Reason): Promise<HsmError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  return checkHsmError(caught, reason);
}

/** As expectHsmError, for functions that are synchronous by nature (pure rule checks). */
export function expectHsmErrorSync(fn: () => unknown, reason: Reason): HsmError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  return checkHsmError(caught, reason);
}

function checkHsmError(caught: unknown, reason: Reason): HsmError {
  if (caught === undefined) throw new Error(`expected HsmError ${reason}, but the call succeeded`);
  expect(caught).toBeInstanceOf(HsmError);
  const err = caught as HsmError;
  expect(err.reason).toBe(reason);
  return err;
}

/** Byte-wise search; Buffer.indexOf does the same but this keeps intent explicit in tests. */
export function containsBytes(haystack: Buffer, needle: Buffer): boolean {
  return needle.length > 0 && haystack.indexOf(needle) !== -1;
}

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ""), "hex");
}

// Replication tests (cluster.replication*.test.ts): reading the event log and node counts, and letting fake-timer
// work run.

/** Lets zero-delay fake timers (setImmediate) and the promise continuations they wake run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** Every event after `revision`, as [kind, handle, node, nodesHolding]. */
export function eventsAfter(cluster: HsmCluster, revision: number): [ClusterEventKind, number, number, number][] {
  return cluster.events.readFrom(revision + 1, 100_000).map((e) => [e.kind, e.handle, e.nodeId, e.nodesHolding]);
}

export function keyCounts(cluster: HsmCluster): number[] {
  return cluster.listNodes().map((n) => n.keyCount);
}

export function pending(cluster: HsmCluster): number[] {
  return cluster.listNodes().map((n) => n.pendingReplications);
}

export function holders(nodes: readonly NodeResult[]): number[] {
  return nodes.filter((n) => n.holdsKey).map((n) => n.nodeId);
}

/** A token key is written by group commit on the next turn of the event loop; let that happen before moving time. */
export async function committed(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}

/** Resolves `true` if the promise has settled after a few turns of the event loop. */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await settle();
  return settled;
}

/**
 * A SyncWatcher's options in the watcher tests: alice watching everything `canSee` lets through, on `time`,
 * with a progress interval long enough never to fire by itself and ample lag allowance.
 */
export function aliceWatchOptions(time: FakeClock, startRevision: number, canSee: (e: ClusterEvent) => boolean): WatchOptions {
  return {
    startRevision,
    handles: new Set(),
    nodes: new Set(),
    canSee,
    progressIntervalMs: 600_000,
    maxLag: 10_000,
    now: () => time.now(),
    timers: time,
    viewer: "alice",
  };
}
