// Row MACs: HMAC-SHA256 (key derived from the master key) over each security-relevant row as stored, so an offline edit shows.
import { createHmac, timingSafeEqual } from "node:crypto";
import { deriveKey } from "../crypto/derivedKeys";
import { KeyMacCheck, startKeyMacCheck } from "./keyMacCheck";

/** A key row's columns as stored, without its MAC. */
export interface KeyRowColumns {
  readonly handle: number;
  readonly owner_id: number;
  readonly key_class: number;
  readonly key_type: number;
  readonly label: string;
  readonly key_id: string;
  readonly flags: string;
  readonly value_len: number;
  readonly kcv: Buffer | null;
  readonly material_nonce: Buffer;
  readonly material_tag: Buffer;
  readonly material_sealed: Buffer;
  readonly acknowledged: number;
}

/** A key row's columns with its blobs as lowercase hex text (kcv null when absent): the form its MAC covers. */
export type KeyHexRow = Omit<KeyRowColumns, "kcv" | "material_nonce" | "material_tag" | "material_sealed"> & {
  readonly kcv: string | null;
  readonly material_nonce: string;
  readonly material_tag: string;
  readonly material_sealed: string;
};

/** A user row's columns as stored, without its MAC. */
export interface UserRowColumns {
  readonly user_id: number;
  readonly role: string;
  readonly username: string;
  readonly password_hash: string;
  readonly login_failures: number;
  readonly locked: number;
}

/**
 * Computes and checks the MACs. Each MAC covers every column of its row, exactly as stored (so no
 * decoding can hide an edit), under a domain tag per table; a key's MAC also covers its share set,
 * so adding or removing a key_shares row shows as a change to the key. key_nodes is not covered:
 * it says which emulated HSM holds a copy, not who may use the key (an edit only changes what
 * replication does next).
 */
export class RowMac {
  private readonly key: Buffer;

  constructor(masterKey: Buffer) {
    this.key = deriveKey(masterKey, "row mac");
  }

  keyRow(row: KeyRowColumns, sharedWith: readonly number[]): Buffer {
    const hexRow: KeyHexRow = {
      ...row,
      kcv: row.kcv === null ? null : row.kcv.toString("hex"),
      material_nonce: row.material_nonce.toString("hex"),
      material_tag: row.material_tag.toString("hex"),
      material_sealed: row.material_sealed.toString("hex"),
    };
    return this.mac(keyFields(hexRow, sharedWith));
  }

  /** The same MAC as keyRow, as lowercase hex, from the row as the store's loader reads it. */
  keyRowHex(row: KeyHexRow, sharedWith: readonly number[]): string {
    return createHmac("sha256", this.key).update(JSON.stringify(keyFields(row, sharedWith))).digest("hex");
  }

  /** Starts checking every key row of the store file at `path` on a worker thread (the same MAC as keyRowHex). */
  startKeyCheck(path: string): KeyMacCheck {
    return startKeyMacCheck(path, this.key);
  }

  userRow(row: UserRowColumns): Buffer {
    return this.mac(["users", row.user_id, row.role, row.username, row.password_hash, row.login_failures, row.locked]);
  }

  /** A meta value that must not be edited (the audit head). */
  metaValue(name: string, value: string): Buffer {
    return this.mac(["meta", name, value]);
  }

  static matches(expected: Buffer, stored: unknown): boolean {
    return Buffer.isBuffer(stored) && stored.length === expected.length && timingSafeEqual(stored, expected);
  }

  private mac(fields: readonly unknown[]): Buffer {
    return createHmac("sha256", this.key).update(JSON.stringify(fields)).digest();
  }
}

/** What a key row's MAC covers, in order (keyMacCheck.ts's worker computes the same; change both together): the table's tag, every column (blobs as hex) and the sorted share set. */
function keyFields(row: KeyHexRow, sharedWith: readonly number[]): unknown[] {
  return [
    "keys",
    row.handle,
    row.owner_id,
    row.key_class,
    row.key_type,
    row.label,
    row.key_id,
    row.flags,
    row.value_len,
    row.kcv,
    row.material_nonce,
    row.material_tag,
    row.material_sealed,
    row.acknowledged,
    [...sharedWith].sort((a, b) => a - b),
  ];
}
