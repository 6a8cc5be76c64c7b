// The one durable write path: a turn's submissions share one transaction and one log write (one fsync each), the
// batch's records and head go into that transaction, `commit` takes queued writes along, and a failed batch leaves nothing.
import { randomBytes } from "node:crypto";
import { AuditChain, AuditHead, AuditRecord, GENESIS_HEAD } from "../../src/hsm/auditChain";
import { AuditEvent, AuditTrail } from "../../src/hsm/auditLog";
import { GroupCommit } from "../../src/hsm/groupCommit";

/** A store and a trail that count what the write path asks of them. */
function recorder() {
  const chain = new AuditChain(randomBytes(32));
  let head: AuditHead = GENESIS_HEAD;
  const calls = { transactions: 0, logWrites: 0, savedHeads: [] as { head: AuditHead; pending: number }[], written: [] as AuditRecord[], insideTransaction: false };
  const store = {
    transaction(writes: () => void) {
      calls.transactions += 1;
      calls.insideTransaction = true;
      try {
        writes();
      } finally {
        calls.insideTransaction = false;
      }
    },
    saveAuditHead(h: AuditHead, pending: readonly AuditRecord[]) {
      expect(calls.insideTransaction).toBe(true);
      calls.savedHeads.push({ head: h, pending: pending.length });
    },
  };
  const trail: AuditTrail = {
    extend: (events) => chain.extend(head, events, 0),
    unwritten: () => [],
    commit: (records) => {
      expect(calls.insideTransaction).toBe(false);
      calls.logWrites += 1;
      calls.written.push(...records);
      head = records.length > 0 ? { seq: records[records.length - 1]!.seq, hash: records[records.length - 1]!.hash } : head;
    },
  };
  return { calls, commits: new GroupCommit(store, trail) };
}

const event = (user: number): AuditEvent => ({ opcode: "CN_GENERATE_KEY", node: 0, user, result: "SUCCESS" });

test("writes submitted in one turn share one transaction and one log write; the head saved is the batch's last record", async () => {
  const { calls, commits } = recorder();
  const written: number[] = [];
  await Promise.all(Array.from({ length: 10 }, (_, i) => commits.submit(() => written.push(i), [event(i)])));
  expect(written).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect({ transactions: calls.transactions, logWrites: calls.logWrites }).toEqual({ transactions: 1, logWrites: 1 });
  expect(calls.written.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(calls.savedHeads).toEqual([{ head: { seq: 10, hash: calls.written[9]!.hash }, pending: 10 }]);
});

test("commit flushes at once, taking the queued writes into its transaction", async () => {
  const { calls, commits } = recorder();
  const order: string[] = [];
  const queued = commits.submit(() => order.push("queued"), [event(1)]);
  commits.commit(() => order.push("now"), [event(2)]);
  expect(order).toEqual(["queued", "now"]);
  expect(calls.transactions).toBe(1);
  await queued;
  expect(calls.transactions).toBe(1);
  expect(calls.written.map((r) => r.user)).toEqual([1, 2]);
});

test("a write that throws fails the whole batch: no head saved, no record written, every caller told", async () => {
  const { calls, commits } = recorder();
  const other = commits.submit(() => undefined, [event(1)]);
  expect(() =>
    commits.commit(() => {
      throw new Error("constraint");
    }, [event(2)]),
  ).toThrow("constraint");
  await expect(other).rejects.toThrow("constraint");
  expect({ heads: calls.savedHeads.length, logWrites: calls.logWrites }).toEqual({ heads: 0, logWrites: 0 });
});

test("a batch without audit events (replication marks) commits without moving the head", () => {
  const { calls, commits } = recorder();
  let wrote = false;
  commits.commit(() => (wrote = true));
  expect({ wrote, transactions: calls.transactions, heads: calls.savedHeads.length }).toEqual({ wrote: true, transactions: 1, heads: 0 });
});
