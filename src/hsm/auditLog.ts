// The tamper-evident audit log: one JSON line per security event, each hash-chained to the one before, fsynced.
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";

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
  | "CN_UNLOCK_USER";

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

/** Where audit events go; the cluster takes one so tests can use a real file or a null sink. */
export interface AuditSink {
  /** Writes the event durably before returning. */
  record(event: AuditEvent): void;
  /** Writes the event; durable only after the next `sync` (group commit). */
  append(event: AuditEvent): void;
  sync(): void;
}

export const NULL_AUDIT: AuditSink = { record: () => undefined, append: () => undefined, sync: () => undefined };

const GENESIS = "0".repeat(64);

/** The hash that links a record: SHA-256 over the previous hash and the record's canonical JSON. */
export function recordHash(record: Omit<AuditRecord, "hash">): string {
  const { seq, time, opcode, node, user, handle, result, detail, prev } = record;
  return createHash("sha256").update(JSON.stringify([prev, seq, time, opcode, node, user ?? null, handle ?? null, result, detail ?? null])).digest("hex");
}

export interface ChainCheck {
  readonly ok: boolean;
  readonly records: number;
  /** 1-based line number of the first record that does not verify. */
  readonly brokenLine?: number;
  readonly problem?: string;
}

/** Verifies every line of an audit log; reports the first record that breaks the chain. */
export function verifyAuditChain(text: string): ChainCheck {
  const lines = text.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1);
  let prev = GENESIS;
  let seq = 0;
  for (let i = 0; i < lines.length; i++) {
    let record: AuditRecord;
    try {
      record = JSON.parse(lines[i]!) as AuditRecord;
    } catch {
      return { ok: false, records: i, brokenLine: i + 1, problem: "not a JSON record" };
    }
    if (record.seq !== seq + 1) return { ok: false, records: i, brokenLine: i + 1, problem: `sequence ${record.seq} follows ${seq}` };
    if (record.prev !== prev) return { ok: false, records: i, brokenLine: i + 1, problem: "does not link to the previous record" };
    if (recordHash(record) !== record.hash) return { ok: false, records: i, brokenLine: i + 1, problem: "content does not match its hash" };
    prev = record.hash;
    seq = record.seq;
  }
  return { ok: true, records: lines.length };
}

/** Raised at open when the existing log does not verify. */
export class AuditChainError extends Error {
  constructor(path: string, check: ChainCheck) {
    super(`audit log ${path} is broken at line ${check.brokenLine}: ${check.problem}`);
    this.name = "AuditChainError";
  }
}

/** Appends to a JSON-lines file; each record is written and fsynced before `record` returns. */
export class FileAuditLog implements AuditSink {
  private readonly fd: number;
  private prev: string;
  private seq: number;
  private unsynced = false;

  constructor(
    private readonly path: string,
    private readonly now: () => number = Date.now,
  ) {
    let text = existsSync(path) ? readFileSync(path, "utf8") : "";
    // A line without its newline was being written when the process died; it was never fsynced, never acknowledged.
    const torn = text.length > 0 && !text.endsWith("\n");
    if (torn) text = text.slice(0, text.lastIndexOf("\n") + 1);
    const check = verifyAuditChain(text);
    if (!check.ok) throw new AuditChainError(path, check);
    this.fd = openSync(path, "a+", 0o600);
    if (torn) {
      ftruncateSync(this.fd, Buffer.byteLength(text));
      fsyncSync(this.fd);
    }
    const last = text.trimEnd().split("\n").pop();
    const lastRecord = last ? (JSON.parse(last) as AuditRecord) : undefined;
    this.prev = lastRecord?.hash ?? GENESIS;
    this.seq = lastRecord?.seq ?? 0;
  }

  record(event: AuditEvent): void {
    this.append(event);
    this.sync();
  }

  append(event: AuditEvent): void {
    const base = { seq: this.seq + 1, time: new Date(this.now()).toISOString(), ...event, prev: this.prev };
    const record: AuditRecord = { ...base, hash: recordHash(base) };
    writeSync(this.fd, JSON.stringify(record) + "\n");
    this.seq = record.seq;
    this.prev = record.hash;
    this.unsynced = true;
  }

  sync(): void {
    if (!this.unsynced) return;
    fsyncSync(this.fd);
    this.unsynced = false;
  }

  close(): void {
    closeSync(this.fd);
  }
}
