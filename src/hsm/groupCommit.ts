// The one durable write path: store changes and their audit records commit together, batched so a batch costs one fsync.
import { AuditRecord } from "./auditChain";
import { AuditEvent, AuditTrail } from "./auditLog";
import { HsmStore } from "./store/hsmStore";

interface Pending {
  readonly write: () => void;
  readonly events: readonly AuditEvent[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Every mutation of the cluster and every audit event goes through here. One flush is one SQLite
 * transaction holding the batch's writes, the audit chain's new head and the batch's records (see
 * AuditTrail for the order against the log file and why a kill -9 at any moment leaves a pair that
 * verifies). An fsynced commit costs far more than the work inside it, so writes submitted in the
 * same turn of the event loop share it: `submit` queues and flushes on the next turn; `commit`
 * flushes at once, taking whatever is queued along, for callers that answer synchronously.
 */
export class GroupCommit {
  private batch: Pending[] = [];
  private scheduled = false;
  /** Set once the state these writes belong to is being replaced (a reset or restore): every write is refused. */
  private retired: (() => Error) | undefined;

  constructor(
    private readonly store: Pick<HsmStore, "transaction" | "saveAuditHead">,
    private readonly audit: AuditTrail,
  ) {}

  /** Resolves once `write` (inside the shared transaction) and the records of `events` are durable. */
  submit(write: () => void, events: readonly AuditEvent[] = []): Promise<void> {
    if (this.retired) return Promise.reject(this.retired());
    return new Promise((resolve, reject) => {
      this.batch.push({ write, events, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** Makes `write` and the records of `events` durable before returning, with anything queued; throws if that fails. */
  commit(write: () => void, events: readonly AuditEvent[] = []): void {
    if (this.retired) throw this.retired();
    let failure: { err: unknown } | undefined;
    this.batch.push({ write, events, resolve: () => undefined, reject: (err) => (failure = { err }) });
    this.flush();
    if (failure) throw failure.err;
  }

  /**
   * The state these writes belong to is being replaced: what is queued is rejected with `reason()` (none of it was
   * written) and every later write is refused, so a call that was in flight cannot write into the new state.
   * `undefined` lifts the refusal again (the replacement failed and the old state goes on).
   */
  retire(reason: (() => Error) | undefined): void {
    this.retired = reason;
    if (!reason) return;
    const batch = this.batch;
    this.batch = [];
    for (const item of batch) item.reject(reason());
  }

  /** An audit record with no store change of its own: it still advances the chain's head in the store. */
  record(event: AuditEvent): void {
    this.commit(noWrite, [event]);
  }

  private flush(): void {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    try {
      let records: AuditRecord[] = [];
      this.store.transaction(() => {
        for (const item of batch) item.write();
        records = this.audit.extend(batch.flatMap((item) => item.events));
        const last = records[records.length - 1];
        // The records stay "pending" in the store until the next commit: if the file write below
        // does not happen (a crash), the next open appends them from there.
        if (last) this.store.saveAuditHead({ seq: last.seq, hash: last.hash }, [...this.audit.unwritten(), ...records]);
      });
      this.audit.commit(records);
    } catch (err) {
      // Before the commit nothing of the batch was written, and every caller undoes its own part. A
      // failed log write after it leaves the batch durable (its records pending in the store), but
      // no caller is told "done" while the log file cannot be written.
      for (const item of batch) item.reject(err);
      return;
    }
    for (const item of batch) item.resolve();
  }
}

/** For an audit event that changes nothing in the store. */
export function noWrite(): void {}
