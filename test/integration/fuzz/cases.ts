// The fuzzer's vocabulary: what a case is (field specs, bodies, credentials) and the arbitraries that build field
// values, sensible or not; moved out of fuzz.test.ts, which describes the whole run.
import fc from "fast-check";
import { INVALID_UTF8, WireField } from "../../support/protoWire";
import { TEST_PASSWORD } from "../../support/testDaemon";

// ---- what a case is --------------------------------------------------------------------------------------------------

/** Where a late-bound handle comes from: any handle worth trying, keys mallory owns (or created), keys she can see. */
export type HandleSource = "any" | "mine" | "created" | "visible";
/** Fixed keys by name: alice's T, W, K, P, H (an HMAC key shared with mallory) and mallory's mW, mS. */
export type KeyName = "T" | "W" | "K" | "P" | "H" | "mW" | "mS";

/** A field whose value is only known when the case is sent (handles of keys created meanwhile, the current revision). */
export type Spec =
  | WireField
  | { readonly no: number; readonly wire: "handle"; readonly pick: number; readonly from: HandleSource }
  | { readonly no: number; readonly wire: "named"; readonly name: KeyName }
  | { readonly no: number; readonly wire: "user"; readonly pick: number }
  | { readonly no: number; readonly wire: "userNamed"; readonly name: string }
  | { readonly no: number; readonly wire: "revision"; readonly offset: number }
  | { readonly no: number; readonly wire: "pageToken" }
  /** The KCV of alice's key K (shared with mallory) or P (not shared). */
  | { readonly no: number; readonly wire: "kcv"; readonly name: "K" | "P" }
  /** Key bytes wrapped on the host under mallory's wrapping key mW or alice's shared wrapping key W. */
  | { readonly no: number; readonly wire: "hostWrapped"; readonly material: Uint8Array; readonly kek: "mW" | "W" };

export type Body =
  | { readonly kind: "fields"; readonly fields: readonly Spec[] }
  | { readonly kind: "raw"; readonly raw: Uint8Array }
  | { readonly kind: "flipped"; readonly fields: readonly Spec[]; readonly flips: readonly [number, number][] }
  | { readonly kind: "truncated"; readonly fields: readonly Spec[]; readonly cut: number };

/** Who the call claims to be. */
export type Cred = "mallory" | "none" | "garbage" | "scheme" | "officer" | "loggedOut" | "fresh" | "secret" | "wrongSecret";

export interface Case {
  readonly body: Body;
  readonly cred: Cred;
  readonly garbage: string;
  readonly headers: readonly (readonly [string, string])[];
}

// ---- generic arbitraries ---------------------------------------------------------------------------------------------

export const U32_EDGES = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 127n, 128n, 255n, 256n, 65535n, 65536n, 0x7fffffffn, 0x80000000n, 0xfffffffen, 0xffffffffn];
export const OUT_OF_RANGE = [1n << 32n, (1n << 32n) + 6n, (1n << 32n) + 31n, (1n << 53n) + 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n, -1n, -2n, -(1n << 31n), -(1n << 63n)];
export const anyVarint: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(...U32_EDGES),
  fc.constantFrom(...OUT_OF_RANGE),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: -(1n << 63n), max: -1n }),
  fc.bigInt({ min: 0n, max: 1000n }),
);
export const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 64 });
/** Just over the 1 MiB request limit (REQUEST_TOO_LARGE), well under it, and now and then far over it (3 MB). */
export const hugeBytes = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(10_000, 100_000, 1_048_577) }, { weight: 1, arbitrary: fc.constant(3_000_000) }).map((n) => Buffer.alloc(n, 0x61));
export const invalidUtf8 = fc
  .tuple(fc.string({ maxLength: 12 }), fc.constantFrom(...INVALID_UTF8), fc.string({ maxLength: 12 }))
  .map(([a, bad, b]) => Buffer.concat([Buffer.from(a, "utf8"), bad, Buffer.from(b, "utf8")]));

export const none: fc.Arbitrary<Spec[]> = fc.constant([]);
export const one = (f: Spec): Spec[] => [f];

export function wrongWire(no: number): fc.Arbitrary<Spec[]> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 16 }).map((value) => one({ no, wire: "bytes", value })),
    fc.integer().map((value) => one({ no, wire: "fixed32", value })),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((value) => one({ no, wire: "fixed64", value })),
    anyVarint.map((value) => one({ no, wire: "varint", value })),
  );
}

export function varint(no: number, sensible: fc.Arbitrary<bigint>): fc.Arbitrary<Spec[]> {
  return fc.oneof(
    { weight: 3, arbitrary: none },
    { weight: 10, arbitrary: sensible.map((value) => one({ no, wire: "varint", value })) },
    { weight: 3, arbitrary: anyVarint.map((value) => one({ no, wire: "varint", value })) },
    // A singular field twice: the last occurrence wins.
    { weight: 1, arbitrary: fc.tuple(anyVarint, sensible).map(([a, b]): Spec[] => [{ no, wire: "varint", value: a }, { no, wire: "varint", value: b }]) },
    { weight: 1, arbitrary: wrongWire(no) },
  );
}

export const sensibleHandle = (no: number): fc.Arbitrary<Spec[]> =>
  fc.oneof(
    { weight: 1, arbitrary: none },
    { weight: 10, arbitrary: fc.nat().map((pick) => one({ no, wire: "handle", pick, from: "any" })) },
    { weight: 2, arbitrary: anyVarint.map((value) => one({ no, wire: "varint", value })) },
    { weight: 1, arbitrary: wrongWire(no) },
  );

export function text(no: number, sensible: fc.Arbitrary<string>): fc.Arbitrary<Spec[]> {
  const bytes = (value: Uint8Array): Spec[] => one({ no, wire: "bytes", value });
  return fc.oneof(
    { weight: 8, arbitrary: none },
    { weight: 30, arbitrary: sensible.map((s) => bytes(Buffer.from(s, "utf8"))) },
    { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 160 }).map((s) => bytes(Buffer.from(s, "utf8"))) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 120, maxLength: 140 }).map((s) => bytes(Buffer.from(s, "utf8"))) },
    { weight: 3, arbitrary: invalidUtf8.map(bytes) },
    { weight: 1, arbitrary: hugeBytes.map(bytes) },
    { weight: 1, arbitrary: fc.constant(bytes(Buffer.alloc(0))) },
    { weight: 1, arbitrary: wrongWire(no) },
  );
}

export function blob(no: number, sensible: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Spec[]> {
  const bytes = (value: Uint8Array): Spec[] => one({ no, wire: "bytes", value });
  return fc.oneof(
    { weight: 8, arbitrary: none },
    { weight: 25, arbitrary: sensible.map(bytes) },
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 300 }).map(bytes) },
    { weight: 1, arbitrary: hugeBytes.map(bytes) },
    { weight: 1, arbitrary: wrongWire(no) },
  );
}

/** A repeated uint32 field: packed or not, a few values, adversarial values, or 100,000 of them. */
export function repeated(no: number, item: (no: number) => fc.Arbitrary<Spec[]>): fc.Arbitrary<Spec[]> {
  return fc.oneof(
    { weight: 40, arbitrary: none },
    { weight: 80, arbitrary: fc.array(item(no), { minLength: 1, maxLength: 4 }).map((xs) => xs.flat()) },
    { weight: 20, arbitrary: fc.array(anyVarint, { minLength: 1, maxLength: 6 }).map((values) => one({ no, wire: "packed", values })) },
    // Long lists: rare here (each costs milliseconds to build and to refuse); every repeated field also gets 100,000
    // items, packed and unpacked, in the deterministic test at the end.
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(0n, 1n, 4_294_000_000n), fc.constantFrom(100_000, 10_000, 10_001, 1025)).map(([start, count]) => one({ no, wire: "packed-range", start, count })),
    },
  );
}

export const userItem = (no: number): fc.Arbitrary<Spec[]> =>
  fc.oneof({ weight: 6, arbitrary: fc.nat().map((pick) => one({ no, wire: "user", pick })) }, { weight: 1, arbitrary: anyVarint.map((value) => one({ no, wire: "varint", value })) });
export const handleItem = (no: number): fc.Arbitrary<Spec[]> => fc.nat().map((pick) => one({ no, wire: "handle", pick, from: "any" }));
export const nodeItem = (no: number): fc.Arbitrary<Spec[]> => fc.constantFrom(0n, 1n, 2n, 3n, 99n, 0xffffffffn).map((value) => one({ no, wire: "varint", value }));
export const bool = (no: number): fc.Arbitrary<Spec[]> => varint(no, fc.constantFrom(0n, 1n));

/** Fields the message does not have: skipped by the decoder, or 100,000 of them. */
export const unknownFields: fc.Arbitrary<Spec[]> = fc.oneof(
  { weight: 150, arbitrary: none },
  { weight: 30, arbitrary: fc.array(fc.tuple(fc.integer({ min: 20, max: 536_870_911 }), fc.uint8Array({ maxLength: 8 })).map(([no, value]): Spec => ({ no, wire: "bytes", value })), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constant<Spec[]>([{ no: 99, wire: "repeat", value: 1n, count: 100_000 }]) },
);

/**
 * Fields of a request: a valid request (from `valid`, keyed by field number) with up to three fields replaced by
 * anything (from `any`), so that most cases get past the first check and reach the deeper ones.
 */
export function mixed(valid: fc.Arbitrary<Record<number, Spec[]>>, any: Record<number, fc.Arbitrary<Spec[]>>): fc.Arbitrary<Spec[]> {
  const numbers = Object.keys(any).map(Number);
  return fc
    .tuple(valid, fc.record(Object.fromEntries(numbers.map((no) => [String(no), any[no]!])) as Record<string, fc.Arbitrary<Spec[]>>), fc.subarray(numbers, { maxLength: Math.min(3, numbers.length) }))
    .map(([v, a, perturbed]) => {
      const all = [...new Set([...Object.keys(v).map(Number), ...numbers])].sort((x, y) => x - y);
      return all.flatMap((no) => (perturbed.includes(no) ? a[String(no)]! : (v[no] ?? [])));
    });
}

/** A whole request: structured fields (in either order), random bytes, or a structured message bit-flipped or cut. */
export function message(fields: fc.Arbitrary<Spec[]> = fc.constant([])): fc.Arbitrary<Body> {
  const structured = fc.tuple(fields, unknownFields, fc.boolean()).map(([fs, unknown, reverse]) => {
    const all = [...fs, ...unknown];
    return reverse ? all.reverse() : all;
  });
  return fc.oneof(
    { weight: 20, arbitrary: structured.map((f): Body => ({ kind: "fields", fields: f })) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 256 }).map((raw): Body => ({ kind: "raw", raw })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(structured, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }))
        .map(([f, flips]): Body => ({ kind: "flipped", fields: f, flips })),
    },
    { weight: 1, arbitrary: fc.tuple(structured, fc.nat()).map(([f, cut]): Body => ({ kind: "truncated", fields: f, cut })) },
  );
}

// Names never end in "-bin" (binary headers need Buffer values: the client library refuses anything else).
export const headers = fc.array(fc.tuple(fc.stringMatching(/^x-fuzz-h[a-z0-9]{0,12}$/), printable), { maxLength: 3 });

export function withCreds(body: fc.Arbitrary<Body>, creds: fc.Arbitrary<Cred>): fc.Arbitrary<Case> {
  return fc.record({ body, cred: creds, garbage: fc.oneof(printable, fc.constantFrom("a".repeat(8000), "", " ", "Bearer")), headers });
}

export const hsmCreds = fc.oneof(
  { weight: 14, arbitrary: fc.constant<Cred>("mallory") },
  { weight: 1, arbitrary: fc.constantFrom<Cred>("none", "garbage", "scheme", "officer", "loggedOut") },
);
export const adminCreds = fc.oneof({ weight: 10, arbitrary: fc.constant<Cred>("secret") }, { weight: 1, arbitrary: fc.constantFrom<Cred>("none", "wrongSecret", "garbage") });

// ---- values --------------------------------------------------------------------------------------------------------

/** Deterministic bytes for a length (the value is irrelevant; its length is what is tested). */
export function bytesOfLength(n: number): Uint8Array {
  return Buffer.alloc(n, 0x5a);
}

// Anything, for the perturbed fields.
export const label = fc.oneof(
  fc.stringMatching(/^fuzz-[a-z0-9]{1,12}$/),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }),
  fc.constantFrom("", "x".repeat(127), "x".repeat(128), "é".repeat(127), "tab\there", "nul\u0000", "\u007f", "\uFFFD", "\uFEFFbom", "😀".repeat(64)),
);
export const keyId = fc.oneof(
  { weight: 3, arbitrary: fc.constant("") },
  { weight: 3, arbitrary: fc.stringMatching(/^id-[a-z0-9]{1,10}$/) },
  { weight: 1, arbitrary: fc.constantFrom("i".repeat(128), "i".repeat(129), "é".repeat(64), "é".repeat(65), "ctl\u0001", "alice-private-id") },
);
export const keyType = fc.constantFrom(16n, 18n, 21n, 31n, 0n, 32n, 3n);
export const keySize = fc.constantFrom(1n, 8n, 16n, 24n, 32n, 64n, 3583n, 3584n, 0n);
export const minSrv = fc.constantFrom(0n, 1n, 2n, 3n, 4n);
export const timeoutSeconds = fc.constantFrom(0n, 1n, 2n, 30n, 2_147_484n, 0xffffffffn);
export const nonce = fc.oneof(fc.constantFrom(0, 8, 15, 16, 32, 64, 65).map((n) => bytesOfLength(n)), fc.uint8Array({ minLength: 16, maxLength: 64 }));
export const VALID_ATTRIBUTES = [0n, 1n, 2n, 3n, 134n, 256n, 258n, 259n, 260n, 261n, 262n, 263n, 264n, 266n, 268n, 353n, 354n, 355n, 356n, 371n, 512n];
export const attributeId = fc.constantFrom(...VALID_ATTRIBUTES, 288n, 289n, 290n, 4n, 999n, 0xffffffffn);
export const keyMaterial = fc.oneof(fc.constantFrom(0, 1, 8, 15, 16, 24, 32, 33, 48).map((n) => bytesOfLength(n)), fc.uint8Array({ maxLength: 64 }));
export const username = fc.oneof(fc.constantFrom("victim", "VICTIM", "nosuchuser", "x".repeat(31), "x".repeat(32), "a b", "ünïcode"), fc.stringMatching(/^[A-Za-z0-9_]{1,31}$/));
export const password = fc.oneof(fc.constantFrom(TEST_PASSWORD, "password2", "", "p".repeat(7), "p".repeat(32), "p".repeat(33), "pässwörd1", "\uFFFDpassword"), printable);
export const hostWrappedAny = (no: number): fc.Arbitrary<Spec[]> =>
  fc.tuple(keyMaterial, fc.constantFrom<"mW" | "W">("mW", "W")).map(([material, kek]) => one({ no, wire: "hostWrapped", material, kek }));

// Valid values, for the base of each request.
export const varintSpec = (no: number, value: bigint | number | boolean): Spec[] => one({ no, wire: "varint", value: BigInt(typeof value === "boolean" ? Number(value) : value) });
export const textSpec = (no: number, value: string): Spec[] => one({ no, wire: "bytes", value: Buffer.from(value, "utf8") });
export const bytesSpec = (no: number, value: Uint8Array): Spec[] => one({ no, wire: "bytes", value });
export const handleSpec = (no: number, from: HandleSource): fc.Arbitrary<Spec[]> => fc.nat().map((pick) => one({ no, wire: "handle", pick, from }));
export const usersSpec = (no: number, names: readonly string[]): Spec[] => names.map((name): Spec => ({ no, wire: "userNamed", name }));
export const validLabel = fc.stringMatching(/^fuzz-[a-z0-9]{1,12}$/);
export const freshId = fc.oneof({ weight: 3, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.stringMatching(/^id-[a-z0-9]{8}$/) });
/** Placement and sharing of a new key, consistent with each other (min_srv 1 for a session key, timeout only with min_srv). */
export const validNewKey = fc
  .record({
    label: validLabel,
    id: freshId,
    session: fc.boolean(),
    share: fc.subarray(["alice", "bob"]),
    minSrv: fc.constantFrom<number | undefined>(undefined, 1, 2, 3),
    timeout: fc.constantFrom<number | undefined>(undefined, 1, 5),
    attest: fc.boolean(),
    nonceLength: fc.integer({ min: 16, max: 64 }),
  })
  .map((k) => {
    const min = k.session && k.minSrv !== undefined ? 1 : k.minSrv;
    return { ...k, minSrv: min, timeout: min === undefined ? undefined : k.timeout };
  });
