// Fills a data directory's store directly through SqliteStore (no RPCs): a crypto user and N replicated AES-256 token keys.
import { randomBytes } from "node:crypto";
import { keyCheckValue } from "../src/hsm/crypto/kcv";
import { defaultFlags, KeyObject } from "../src/hsm/key";
import { KeyClass, KeyType } from "../src/hsm/keyTypes";
import { createMasterKeyFile } from "../src/hsm/store/masterKey";
import { SqliteStore } from "../src/hsm/store/sqliteStore";
import { scryptHasher, UserRole } from "../src/hsm/users";
import { createDataDir, dataDirLayout, fileSize } from "../src/server/dataDirFiles";

export interface FilledStore {
  readonly keys: number;
  readonly seconds: number;
  /** Handles of the keys carrying `findLabel`. */
  readonly findHandles: readonly number[];
  /** Bytes of store.sqlite (and its WAL) after the fill. */
  readonly storeBytes: number;
}

export interface StoreFillSpec {
  readonly dataDir: string;
  readonly username: string;
  readonly password: string;
  readonly scryptN: number;
  readonly keys: number;
  readonly nodeCount: number;
  /** One key in `findEvery` gets this label; the rest share `bulkLabels`. */
  readonly findLabel: string;
  readonly findEvery: number;
  readonly bulkLabels: readonly string[];
}

/** First handle the store hands out (handles below it are the HSM's own). */
const FIRST_HANDLE = 6;
/** Keys per transaction: large enough that fsyncs do not dominate, small enough to bound the WAL. */
const KEYS_PER_TRANSACTION = 10_000;

/**
 * Writes what a daemon would have written after creating the user and generating the keys, each held by every
 * node (so nothing replicates at start): the same rows, sealed and MACed under a new master key file.
 */
export async function fillStore(spec: StoreFillSpec): Promise<FilledStore> {
  const layout = dataDirLayout(spec.dataDir);
  // The files are the owner's alone, as the daemon makes them (it would narrow wider ones, with a warning).
  const umask = process.umask(0o077);
  let store: SqliteStore;
  try {
    createDataDir(layout.dir);
    store = SqliteStore.open(layout.store, createMasterKeyFile(layout.masterKey));
  } finally {
    process.umask(umask);
  }
  const started = process.hrtime.bigint();
  const findHandles: number[] = [];
  try {
    const passwordHash = await scryptHasher({ N: spec.scryptN, r: 8, p: 1 }).hash(spec.password);
    const userId = 1;
    store.insertUser({ userId, role: UserRole.CU, username: spec.username, passwordHash, loginFailures: 0, locked: false });
    const nodes = Array.from({ length: spec.nodeCount }, (_, i) => i);
    const flags = defaultFlags(KeyType.AES, { session: false, local: true, extractable: true });
    for (let first = 0; first < spec.keys; first += KEYS_PER_TRANSACTION) {
      store.transaction(() => {
        for (let i = first; i < Math.min(spec.keys, first + KEYS_PER_TRANSACTION); i++) {
          const handle = FIRST_HANDLE + i;
          const label = i % spec.findEvery === 0 ? spec.findLabel : spec.bulkLabels[i % spec.bulkLabels.length]!;
          if (label === spec.findLabel) findHandles.push(handle);
          const material = randomBytes(32);
          const key: KeyObject = {
            handle,
            ownerId: userId,
            keyClass: KeyClass.SECRET,
            keyType: KeyType.AES,
            label,
            id: "",
            flags,
            valueLen: material.length,
            kcv: keyCheckValue(KeyType.AES, material),
            sharedWith: new Set(),
            sessionId: undefined,
            nodes: new Set(nodes),
            material,
          };
          store.insertKey(key, true);
        }
      });
    }
    store.reserveHandles(FIRST_HANDLE + spec.keys);
  } finally {
    store.close();
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const storeBytes = (fileSize(layout.store) ?? 0) + (fileSize(layout.storeWal) ?? 0);
  return { keys: spec.keys, seconds, findHandles, storeBytes };
}
