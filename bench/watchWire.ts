// Reads only what the watcher benchmark checks (each event's revision and time) straight from WatchSyncStatusResponse bytes.
//
// 1,000 watchers of a busy cluster receive millions of events per second on the same two cores as the
// daemon; decoding every field of every event into objects would make the load generator, not the
// daemon, the thing measured. The test in test/unit/watchWire.test.ts holds this scanner to the
// generated decoder.

export interface WireVisitor {
  event(revision: number, timeMs: number): void;
  progress(revision: number): void;
}

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

class Cursor {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint up to 2^53 (revisions, seconds, nanos, lengths); wider ones lose precision, never wrap. */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.end) throw new Error("truncated varint");
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === I64) this.pos += 8;
    else if (wireType === LEN) {
      const length = this.varint();
      this.pos += length;
    }
    else if (wireType === I32) this.pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new Error("truncated field");
  }
}

/** Visits the events (one, or a batch) and progress notice in one encoded response. */
export function scanWatchResponse(bytes: Uint8Array, visit: WireVisitor): void {
  const c = new Cursor(bytes, 0, bytes.length);
  while (c.pos < c.end) {
    const tag = c.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType !== LEN || field < 1 || field > 3) {
      c.skip(wireType);
      continue;
    }
    const length = c.varint();
    const end = c.pos + length;
    if (end > c.end) throw new Error("truncated message");
    if (field === 1) scanEvent(bytes, c.pos, end, visit);
    else if (field === 2) visit.progress(scanProgress(bytes, c.pos, end));
    else scanBatch(bytes, c.pos, end, visit);
    c.pos = end;
  }
}

function scanBatch(bytes: Uint8Array, start: number, end: number, visit: WireVisitor): void {
  const c = new Cursor(bytes, start, end);
  while (c.pos < end) {
    const tag = c.varint();
    if (tag !== ((1 << 3) | LEN)) {
      c.skip(tag & 7);
      continue;
    }
    const length = c.varint();
    const eventEnd = c.pos + length;
    if (eventEnd > end) throw new Error("truncated event");
    scanEvent(bytes, c.pos, eventEnd, visit);
    c.pos = eventEnd;
  }
}

function scanEvent(bytes: Uint8Array, start: number, end: number, visit: WireVisitor): void {
  const c = new Cursor(bytes, start, end);
  let revision = 0;
  let timeMs = NaN;
  while (c.pos < end) {
    const tag = c.varint();
    if (tag === ((1 << 3) | VARINT)) revision = c.varint();
    else if (tag === ((7 << 3) | LEN)) {
      const length = c.varint();
      const timeEnd = c.pos + length;
      if (timeEnd > end) throw new Error("truncated time");
      timeMs = scanTimestamp(bytes, c.pos, timeEnd);
      c.pos = timeEnd;
    } else c.skip(tag & 7);
  }
  visit.event(revision, timeMs);
}

function scanTimestamp(bytes: Uint8Array, start: number, end: number): number {
  const c = new Cursor(bytes, start, end);
  let seconds = 0;
  let nanos = 0;
  while (c.pos < end) {
    const tag = c.varint();
    if (tag === ((1 << 3) | VARINT)) seconds = c.varint();
    else if (tag === ((2 << 3) | VARINT)) nanos = c.varint();
    else c.skip(tag & 7);
  }
  return seconds * 1000 + nanos / 1e6;
}

function scanProgress(bytes: Uint8Array, start: number, end: number): number {
  const c = new Cursor(bytes, start, end);
  let revision = 0;
  while (c.pos < end) {
    const tag = c.varint();
    if (tag === ((1 << 3) | VARINT)) revision = c.varint();
    else c.skip(tag & 7);
  }
  return revision;
}
