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

/** Read position in `bytes`; one scan runs at a time (the worker is single-threaded), so no cursor objects per event. */
let bytes: Uint8Array = new Uint8Array(0);
let pos = 0;

/** A varint up to 2^53 (revisions, seconds, nanos, lengths); wider ones lose precision, never wrap. */
function varint(end: number): number {
  let result = 0;
  let scale = 1;
  for (;;) {
    if (pos >= end) throw new Error("truncated varint");
    const b = bytes[pos++]!;
    result += (b & 0x7f) * scale;
    if (b < 0x80) return result;
    scale *= 128;
  }
}

/** Reads a length prefix and returns where the field ends. */
function fieldEnd(end: number): number {
  const length = varint(end);
  const fieldEnd = pos + length;
  if (fieldEnd > end) throw new Error("truncated field");
  return fieldEnd;
}

function skip(wireType: number, end: number): void {
  if (wireType === VARINT) varint(end);
  else if (wireType === LEN) pos = fieldEnd(end);
  else if (wireType === I64 || wireType === I32) {
    pos += wireType === I64 ? 8 : 4;
    if (pos > end) throw new Error("truncated field");
  } else throw new Error(`unsupported wire type ${wireType}`);
}

/** Visits the events (one, or a batch) and progress notice in one encoded response. */
export function scanWatchResponse(response: Uint8Array, visit: WireVisitor): void {
  bytes = response;
  pos = 0;
  const end = response.length;
  while (pos < end) {
    const tag = varint(end);
    const field = tag >>> 3;
    if ((tag & 7) !== LEN || field < 1 || field > 3) {
      skip(tag & 7, end);
      continue;
    }
    const messageEnd = fieldEnd(end);
    if (field === 1) scanEvent(messageEnd, visit);
    else if (field === 2) visit.progress(scanProgress(messageEnd));
    else scanBatch(messageEnd, visit);
    pos = messageEnd;
  }
}

function scanBatch(end: number, visit: WireVisitor): void {
  while (pos < end) {
    const tag = varint(end);
    if (tag !== ((1 << 3) | LEN)) {
      skip(tag & 7, end);
      continue;
    }
    const eventEnd = fieldEnd(end);
    scanEvent(eventEnd, visit);
    pos = eventEnd;
  }
}

function scanEvent(end: number, visit: WireVisitor): void {
  let revision = 0;
  let timeMs = NaN;
  while (pos < end) {
    const tag = varint(end);
    if (tag === ((1 << 3) | VARINT)) revision = varint(end);
    else if (tag === ((7 << 3) | LEN)) {
      const timeEnd = fieldEnd(end);
      timeMs = scanTimestamp(timeEnd);
      pos = timeEnd;
    } else skip(tag & 7, end);
  }
  visit.event(revision, timeMs);
}

function scanTimestamp(end: number): number {
  let seconds = 0;
  let nanos = 0;
  while (pos < end) {
    const tag = varint(end);
    if (tag === ((1 << 3) | VARINT)) seconds = varint(end);
    else if (tag === ((2 << 3) | VARINT)) nanos = varint(end);
    else skip(tag & 7, end);
  }
  return seconds * 1000 + nanos / 1e6;
}

function scanProgress(end: number): number {
  let revision = 0;
  while (pos < end) {
    const tag = varint(end);
    if (tag === ((1 << 3) | VARINT)) revision = varint(end);
    else skip(tag & 7, end);
  }
  return revision;
}

/** One response's events (revision and time, in order) and progress notice. */
export interface ParsedResponse {
  readonly revisions: readonly number[];
  readonly timesMs: readonly number[];
  /** Each revision is one more than the one before. */
  readonly contiguous: boolean;
  readonly progress: number | undefined;
}

export function parseWatchResponse(response: Uint8Array): ParsedResponse {
  const revisions: number[] = [];
  const timesMs: number[] = [];
  let progress: number | undefined;
  scanWatchResponse(response, {
    event: (revision, timeMs) => {
      revisions.push(revision);
      timesMs.push(timeMs);
    },
    progress: (revision) => (progress = revision),
  });
  let contiguous = true;
  for (let i = 1; i < revisions.length && contiguous; i++) contiguous = revisions[i] === revisions[i - 1]! + 1;
  return { revisions, timesMs, contiguous, progress };
}
