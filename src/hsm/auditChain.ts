// The audit chain: each record carries an HMAC-SHA256 (keyed from the master key) over its content and the one before.
import { createHmac } from "node:crypto";
import { deriveKey } from "./crypto/derivedKeys";

/** CloudHSM audit opcode names (plus CN_CLUSTER_CONTROL for the emulator's fault control, CN_UNLOCK_USER for an unlock that keeps the password). */
export type AuditOpcode =
  | "CN_LOGIN"
  | "CN_LOGOUT"
  | "CN_CREATE_USER"
  | "CN_GENERATE_KEY"
  | "CN_UNWRAP_KEY"
  | "CN_WRAP_KEY"
  | "CN_SHARE_OBJECT"
  | "CN_MODIFY_OBJECT"
  | "CN_DESTROY_OBJECT"
  | "CN_TOMBSTONE_OBJECT"
  | "CN_SESSION_EXPIRED"
  | "CN_CLUSTER_CONTROL"
  | "CN_CHANGE_PSWD"
  | "CN_UNLOCK_USER"
  | "CN_GENERATE_KEY_PAIR"
  | "CN_CREATE_OBJECT";

/** What the cluster records; never key material or passwords. */
export interface AuditEvent {
  readonly opcode: AuditOpcode;
  readonly node: number;
  readonly user: number | string | undefined;
  readonly handle?: number;
  /** "SUCCESS", or the failure reason. */
  readonly result: string;
  readonly detail?: string;
}

export interface AuditRecord extends AuditEvent {
  readonly seq: number;
  readonly time: string;
  readonly prev: string;
  readonly hash: string;
}

/** The last record of the chain: the store keeps it, committed with the change that record describes. */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * What the store keeps about the chain, written in the same SQLite transaction as the change the
 * newest record describes: the head, and the records of that commit that may not be in the file yet.
 */
export interface StoredAuditState {
  readonly head: AuditHead;
  readonly pending: readonly AuditRecord[];
}

export const GENESIS_HEAD: AuditHead = { seq: 0, hash: "0".repeat(64) };

export interface ChainCheck {
  readonly ok: boolean;
  readonly records: number;
  /** 1-based line number of the first record that does not verify. */
  readonly brokenLine?: number;
  readonly problem?: string;
  /** The last record that verifies (GENESIS_HEAD for an empty log). */
  readonly head: AuditHead;
}

export function headOf(records: readonly AuditRecord[], otherwise: AuditHead): AuditHead {
  const last = records[records.length - 1];
  return last ? { seq: last.seq, hash: last.hash } : otherwise;
}

/**
 * Links and checks records. Without the key nobody can compute a record's hash, so a record cannot be
 * forged, nor a record removed and the rest rechained; what a keyed chain alone cannot show (its tail
 * cut off) the head kept in the store shows.
 */
export class AuditChain {
  private readonly key: Buffer;

  constructor(masterKey: Buffer) {
    this.key = deriveKey(masterKey, "audit chain");
  }

  /** HMAC-SHA256 over the previous hash and the record's canonical JSON. */
  hash(record: Omit<AuditRecord, "hash">): string {
    const { seq, time, opcode, node, user, handle, result, detail, prev } = record;
    return createHmac("sha256", this.key)
      .update(JSON.stringify([prev, seq, time, opcode, node, user ?? null, handle ?? null, result, detail ?? null]))
      .digest("hex");
  }

  /** The records that would follow `head` for `events`; nothing is adopted until the caller commits them. */
  extend(head: AuditHead, events: readonly AuditEvent[], now: number): AuditRecord[] {
    const time = new Date(now).toISOString();
    const out: AuditRecord[] = [];
    let { seq, hash: prev } = head;
    for (const event of events) {
      const base = { seq: seq + 1, time, ...event, prev };
      const record: AuditRecord = { ...base, hash: this.hash(base) };
      out.push(record);
      seq = record.seq;
      prev = record.hash;
    }
    return out;
  }

  /** Checks that `records` follow `from` link by link; `firstLine` numbers the first of them in messages. */
  verifyRecords(records: readonly unknown[], from: AuditHead = GENESIS_HEAD, firstLine = 1): ChainCheck {
    let head = from;
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as AuditRecord;
      const broken = (problem: string): ChainCheck => ({ ok: false, records: i, brokenLine: firstLine + i, problem, head });
      if (typeof record !== "object" || record === null) return broken("not a JSON record");
      if (record.seq !== head.seq + 1) return broken(`sequence ${String(record.seq)} follows ${head.seq}`);
      if (record.prev !== head.hash) return broken("does not link to the previous record");
      if (this.hash(record) !== record.hash) return broken("content does not match its hash");
      head = { seq: record.seq, hash: record.hash };
    }
    return { ok: true, records: records.length, head };
  }

  /** Verifies every line of an audit log from the genesis; reports the first record that breaks the chain. */
  verify(text: string): ChainCheck {
    const lines = text.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1);
    const records: unknown[] = [];
    for (let i = 0; i < lines.length; i++) {
      try {
        records.push(JSON.parse(lines[i]!));
      } catch {
        // Verify what came before, so the report names this line only if the earlier ones are sound.
        const before = this.verifyRecords(records);
        if (!before.ok) return before;
        return { ok: false, records: i, brokenLine: i + 1, problem: "not a JSON record", head: before.head };
      }
    }
    return this.verifyRecords(records);
  }
}
