// The audit log file: one JSON line per security event, keyed-hash chained, reconciled at open with the head in the store.
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { AuditChain, AuditEvent, AuditHead, AuditRecord, ChainCheck, headOf, StoredAuditState } from "./auditChain";

export type { AuditEvent, AuditOpcode, AuditRecord, StoredAuditState } from "./auditChain";

/**
 * Where the durable write path (GroupCommit) sends audit events.
 *
 * The order of one commit, and why kill -9 at any point leaves a consistent pair:
 *   1. inside the SQLite transaction: the change, the new head and the new records (as "pending");
 *   2. COMMIT (fsync of the WAL): from here on the change and its records are durable, in the store;
 *   3. the records are appended to the log file and fsynced.
 * A crash before 2 leaves neither the change nor its records (a torn line cannot exist yet). A crash
 * between 2 and 3 leaves the file short of the head by exactly the pending records (perhaps with a
 * torn last line): at the next open they are appended from the store. So a file that ends before the
 * head by more than the pending records, or that goes past the head, was tampered with.
 */
export interface AuditTrail {
  /** The records for `events` following the current head; nothing changes until `commit`. */
  extend(events: readonly AuditEvent[]): AuditRecord[];
  /** Committed records not yet durable in the file (a write failed); they stay pending in the store. */
  unwritten(): readonly AuditRecord[];
  /** `records` were committed to the store: they become the head; writes and fsyncs them (throws if that fails). */
  commit(records: readonly AuditRecord[]): void;
}

/** No audit log (domain tests): no records, the head stays at the genesis. */
export const NULL_AUDIT: AuditTrail = { extend: () => [], unwritten: () => [], commit: () => undefined };

/** Raised at open when the log does not verify or does not match the store's head. */
export class AuditChainError extends Error {
  constructor(path: string, problem: string) {
    super(`audit log ${path} ${problem}`);
    this.name = "AuditChainError";
  }
}

/** How a log file's text stands against the store's head. */
export interface Reconciliation {
  readonly ok: boolean;
  /** The file's own chain check (torn last line excluded). */
  readonly check: ChainCheck;
  /** Whether the last line was cut short by a crash (it is dropped). */
  readonly torn: boolean;
  /** Records the store holds that the file is missing (a crash between commit and file write). */
  readonly missing: readonly AuditRecord[];
  /** Why the file and the store disagree, or the chain problem, as the end of a sentence naming the log. */
  readonly problem?: string;
  /** The text without a torn last line. */
  readonly text: string;
}

/** Compares a log's text with the store's audit state (pure: nothing is written). */
export function reconcile(chain: AuditChain, rawText: string, stored: StoredAuditState): Reconciliation {
  // A line without its newline was being written when the process died; its record is pending in the store.
  const torn = rawText.length > 0 && !rawText.endsWith("\n");
  const text = torn ? rawText.slice(0, rawText.lastIndexOf("\n") + 1) : rawText;
  const check = chain.verify(text);
  const base = { check, torn, text };
  if (!check.ok) return { ...base, ok: false, missing: [], problem: `is broken at line ${check.brokenLine}: ${check.problem}` };
  const file = check.head;
  const head = stored.head;
  if (file.seq > head.seq) {
    return { ...base, ok: false, missing: [], problem: `goes past the store's audit head (record ${head.seq}) to record ${file.seq}: the store is older than the log` };
  }
  if (file.seq === head.seq) {
    if (file.hash !== head.hash) return { ...base, ok: false, missing: [], problem: `ends at record ${file.seq} but not with the record the store's audit head names` };
    return { ...base, ok: true, missing: [] };
  }
  const missing = stored.pending.filter((r) => r.seq > file.seq);
  const bridge = chain.verifyRecords(missing, file);
  if (!bridge.ok || bridge.head.seq !== head.seq || bridge.head.hash !== head.hash) {
    return { ...base, ok: false, missing: [], problem: `ends at record ${file.seq} but the store's audit head is record ${head.seq}: records were removed from its end` };
  }
  return { ...base, ok: true, missing };
}

/** Appends to a JSON-lines file; `commit` writes and fsyncs before it returns. */
export class FileAuditLog implements AuditTrail {
  private readonly fd: number;
  private head: AuditHead;
  private pendingWrite: AuditRecord[] = [];
  /** Bytes of whole records in the file: a failed write is cut back to it, so a retry leaves no half line. */
  private size: number;
  /** Records the store held that the file lacked at open (written back then). */
  readonly restored: number;

  /**
   * Opens the log at `path` against the store's audit state: verifies the keyed chain, appends the
   * records a crash kept out of the file, and refuses a log that was cut, emptied, edited or rechained.
   */
  constructor(
    private readonly path: string,
    private readonly chain: AuditChain,
    stored: StoredAuditState,
    private readonly now: () => number = Date.now,
  ) {
    const found = reconcile(chain, existsSync(path) ? readFileSync(path, "utf8") : "", stored);
    if (!found.ok) throw new AuditChainError(path, found.problem ?? "does not verify");
    this.fd = openSync(path, "a+", 0o600);
    try {
      if (found.torn) ftruncateSync(this.fd, Buffer.byteLength(found.text));
      if (found.missing.length > 0) writeSync(this.fd, found.missing.map((r) => JSON.stringify(r) + "\n").join(""));
      if (found.torn || found.missing.length > 0) fsyncSync(this.fd);
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
    this.restored = found.missing.length;
    this.head = stored.head;
    this.size = Buffer.byteLength(found.text) + Buffer.byteLength(found.missing.map((r) => JSON.stringify(r) + "\n").join(""));
  }

  extend(events: readonly AuditEvent[]): AuditRecord[] {
    return this.chain.extend(this.head, events, this.now());
  }

  unwritten(): readonly AuditRecord[] {
    return this.pendingWrite;
  }

  commit(records: readonly AuditRecord[]): void {
    this.head = headOf(records, this.head);
    this.pendingWrite.push(...records);
    if (this.pendingWrite.length === 0) return;
    const text = this.pendingWrite.map((r) => JSON.stringify(r) + "\n").join("");
    try {
      writeSync(this.fd, text);
      fsyncSync(this.fd);
    } catch (err) {
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // The records are pending in the store; the next open restores the file from there.
      }
      throw err;
    }
    this.size += Buffer.byteLength(text);
    this.pendingWrite = [];
  }

  close(): void {
    closeSync(this.fd);
  }
}

