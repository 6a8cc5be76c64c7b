// Group commit: durable writes submitted in the same turn of the event loop share one transaction and one fsync.
/**
 * An fsynced commit costs far more than the work inside it, so under concurrency each call
 * waiting for its own fsync would bound throughput. Writes submitted before the next turn of the
 * event loop run together in `transaction`, then their `after` steps, then `sync` once; every
 * caller is answered only after all of that is durable.
 */
export class GroupCommit {
  private batch: { write: () => void; after: () => void; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly transaction: (writes: () => void) => void,
    private readonly sync: () => void,
  ) {}

  /** Resolves once `write` (inside the shared transaction) and `after` are durable. */
  submit(write: () => void, after: () => void = () => undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      this.batch.push({ write, after, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.batch;
    this.batch = [];
    this.scheduled = false;
    try {
      this.transaction(() => {
        for (const item of batch) item.write();
      });
    } catch (err) {
      // Nothing of the batch was written; every caller undoes its own part.
      for (const item of batch) item.reject(err);
      return;
    }
    try {
      for (const item of batch) item.after();
      this.sync();
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    for (const item of batch) item.resolve();
  }
}
