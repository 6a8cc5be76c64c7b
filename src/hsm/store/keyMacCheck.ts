// Checks every key row's MAC on a worker thread (its own read-only connection) while the loader builds the key objects.
import { Worker } from "node:worker_threads";

/** What the worker found: how many rows it checked (and the sum of their handles), or the first row that failed. */
export type KeyMacOutcome =
  | { readonly kind: "checked"; readonly rows: number; readonly handleSum: number }
  | { readonly kind: "failed"; readonly handle: number }
  /** The worker could not run (no thread, the file would not open): the caller checks the rows itself. */
  | { readonly kind: "unavailable" };

/** A MAC check running beside the load; `outcome()` blocks until it has finished. */
export interface KeyMacCheck {
  outcome(): KeyMacOutcome;
}

/** Longest the loader waits for the worker before checking the rows itself (a worker that never started). */
const WAIT_LIMIT_MS = 120_000;

/** Slots of the shared result. */
const State = { pending: 0, checked: 1, failed: 2, error: 3 } as const;

/**
 * The worker, as source text so it runs the same under ts-jest (src/*.ts) and compiled (dist/*.js). It must
 * compute exactly RowMac.keyRowHex: JSON of ["keys", every column in table order (blobs as lowercase hex, kcv
 * null when absent), the share ids sorted], HMAC-SHA256 under the row MAC key, compared as lowercase hex. A
 * difference would refuse every start (the untouched-store tests catch it), never accept an edited row.
 */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { createHmac } = require("node:crypto");
const ints = new Int32Array(workerData.shared, 0, 3);
const sum = new Float64Array(workerData.shared, 16, 1);
let db;
try {
  const Database = require(workerData.sqlite);
  db = new Database(workerData.path, { readonly: true, fileMustExist: true });
  const key = Buffer.from(workerData.macKey);
  let rows = 0;
  let handles = 0;
  let failed;
  for (const c of db.prepare(workerData.sql).raw().iterate()) {
    const shares = c[14] === null ? [] : c[14].split(",").map(Number).sort((a, b) => a - b);
    const kcv = c[8] === null || c[8] === "" ? null : c[8];
    const text = JSON.stringify(["keys", c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], kcv, c[9], c[10], c[11], c[12], shares]);
    if (createHmac("sha256", key).update(text).digest("hex") !== c[13]) {
      failed = c[0];
      break;
    }
    rows++;
    handles += c[0];
  }
  if (failed !== undefined) {
    ints[2] = failed;
    Atomics.store(ints, 0, ${State.failed});
  } else {
    ints[1] = rows;
    sum[0] = handles;
    Atomics.store(ints, 0, ${State.checked});
  }
} catch {
  Atomics.store(ints, 0, ${State.error});
} finally {
  if (db) db.close();
  Atomics.notify(ints, 0);
}
`;

/** The columns the MAC covers, in LOAD_KEYS_SQL's positions (0-14), key order as the loader reads them. */
const MAC_KEYS_SQL = `SELECT handle, owner_id, key_class, key_type, label, key_id, flags, value_len,
    lower(hex(kcv)), lower(hex(material_nonce)), lower(hex(material_tag)), lower(hex(material_sealed)), acknowledged, lower(hex(row_mac)),
    (SELECT group_concat(user_id) FROM key_shares s WHERE s.handle = k.handle)
  FROM keys k ORDER BY handle`;

/**
 * Starts checking the key rows of the store file at `path` under `macKey` (the derived row MAC key, handed
 * to the thread in memory only). The loader's own thread keeps reading and building keys meanwhile; on two
 * cores the MACs (about 4 us a row) leave the start's critical path. The start stays all-or-nothing: the
 * loader waits for the outcome before returning anything.
 */
export function startKeyMacCheck(path: string, macKey: Buffer): KeyMacCheck {
  const shared = new SharedArrayBuffer(24);
  const ints = new Int32Array(shared, 0, 3);
  const sum = new Float64Array(shared, 16, 1);
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { shared, sqlite: require.resolve("better-sqlite3"), path, macKey: new Uint8Array(macKey), sql: MAC_KEYS_SQL },
    });
  } catch {
    return { outcome: () => ({ kind: "unavailable" }) };
  }
  // Its failures are reported through the shared state; an 'error' event must not crash the daemon.
  worker.on("error", () => undefined);
  worker.unref();
  return {
    outcome(): KeyMacOutcome {
      Atomics.wait(ints, 0, State.pending, WAIT_LIMIT_MS);
      const state = Atomics.load(ints, 0);
      if (state === State.checked) return { kind: "checked", rows: ints[1]!, handleSum: sum[0]! };
      if (state === State.failed) return { kind: "failed", handle: ints[2]! };
      void worker.terminate();
      return { kind: "unavailable" };
    },
  };
}
