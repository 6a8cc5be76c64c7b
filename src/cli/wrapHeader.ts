// kmu's own header on wrapKey files: the wrapped key's class, type, label and id, so unWrapKey can rebuild it without -noheader.
//
// CloudHSM's wrapKey prefixes its blobs with a header of key attributes whose format is not documented. kmu writes
// its own instead (readable only by kmu): "LCHW", a version byte, a 2-byte big-endian length, that many bytes of
// JSON, then the blob exactly as the daemon's WrapKey returned it. -noheader writes the blob alone, for other tools.
import { LocalError } from "./failures";

const MAGIC = Buffer.from("LCHW", "ascii");
const VERSION = 1;

/** What the header records about the wrapped key. */
export interface WrappedKeyInfo {
  /** KMU key class: 3 private, 4 secret. */
  readonly keyClass: number;
  /** KMU key type: 0 RSA, 3 EC, 16 generic secret, 21 3DES, 31 AES. */
  readonly keyType: number;
  readonly label: string;
  readonly id: string;
}

export function withHeader(info: WrappedKeyInfo, blob: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify({ class: info.keyClass, type: info.keyType, label: info.label, id: info.id }), "utf8");
  const length = Buffer.alloc(2);
  length.writeUInt16BE(json.length);
  return Buffer.concat([MAGIC, Buffer.from([VERSION]), length, json, blob]);
}

/** Whether a file starts with kmu's header (anything else is treated as a bare blob only with -noheader). */
export function hasHeader(file: Buffer): boolean {
  return file.length >= 7 && file.subarray(0, 4).equals(MAGIC);
}

function isInfo(value: unknown): value is { class: number; type: number; label: string; id: string } {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return Number.isInteger(v.class) && Number.isInteger(v.type) && typeof v.label === "string" && typeof v.id === "string";
}

/** Splits a headed file into what the header says and the blob; a damaged header is kmu's own error, nothing is sent. */
export function readHeader(file: Buffer, path: string): { info: WrappedKeyInfo; blob: Buffer } {
  const damaged = (why: string): LocalError =>
    new LocalError(`-f file "${path}" has no valid kmu wrapKey header (${why}); for a blob wrapped elsewhere use -noheader with -l, -kc and -kt`, "WRAP_HEADER_INVALID");
  if (!hasHeader(file)) throw damaged("it does not start with LCHW");
  if (file[4] !== VERSION) throw damaged(`version ${file[4]}`);
  const length = file.readUInt16BE(5);
  if (file.length < 7 + length) throw damaged("it is shorter than its header says");
  let parsed: unknown;
  try {
    parsed = JSON.parse(file.subarray(7, 7 + length).toString("utf8"));
  } catch {
    throw damaged("its attributes do not parse");
  }
  if (!isInfo(parsed)) throw damaged("its attributes are incomplete");
  return { info: { keyClass: parsed.class, keyType: parsed.type, label: parsed.label, id: parsed.id }, blob: file.subarray(7 + length) };
}
