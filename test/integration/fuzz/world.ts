// The world the fuzz cases act on (users, keys, connections), sending a case, checking each answer, and the census
// that proves a failed call changed nothing. The test file builds the world (setWorld) and runs the batches.
import * as grpc from "@grpc/grpc-js";
import { aesKeyWrapPkcs5, ClusterControlClient, HsmClient, HsmClientError, hsmProto } from "../../../clients";
import { ERROR_DOMAIN } from "../../../src/server/richStatus";
import { encodeFields, WireField } from "../../support/protoWire";
import { bearerMetadata, describeOutcome, metadataOf, rawCall, RawOutcome, rawStream, tokenOf } from "../../support/rawCall";
import { method, MethodInfo } from "../../support/serviceMethods";
import { TEST_ADMIN_SECRET, TEST_PASSWORD, TestDaemon } from "../../support/testDaemon";
import { Body, Case, HandleSource, KeyName, Spec } from "./cases";
import { KEY_RPCS } from "./rpcArbitraries";

export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
export const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2_147_483_647);
/** Calls in flight at once; the census runs between batches. */
export const BATCH = 100;
/** Inputs that once hit bugs are steered around here (each has a regression test at the end); FUZZ_KNOWN_BUGS=1 sends them anyway. */
export const AVOID_KNOWN_BUGS = process.env.FUZZ_KNOWN_BUGS !== "1";
export const MAX_TIMER_MS = 2 ** 31 - 1;
export const S = grpc.status;
export const { WatchSyncStatusResponse } = hsmProto;

// ---- the world the cases act on --------------------------------------------------------------------------------------

export interface World {
  t: TestDaemon;
  /** The fuzzer's unary connection, its own (not shared with the census clients). */
  raw: grpc.Client;
  /** The fuzzer's connection for streams, replaced now and then (see streamClient). */
  streams: { client: grpc.Client; cancels: number };
  /** Mallory's generic secrets shorter than 8 bytes (see the WrapKey bug below). */
  shortKeys: Set<number>;
  alice: HsmClient;
  mallory: HsmClient;
  officer: HsmClient;
  control: ClusterControlClient;
  users: number[];
  malloryId: number;
  /** Alice's keys: T (not shared), W (wrapping, shared with mallory), K (shared), P (3DES, not shared). */
  aliceKeys: { T: number; W: number; K: number; P: number; H: number };
  /** Alice's key material: never in any answer mallory gets. */
  aliceMaterials: Buffer[];
  wMaterial: Buffer;
  /** Mallory's transport key, wrapping key (known material) and another key of hers. */
  malloryKeys: { T: number; W: number; S: number };
  userIds: Record<string, number>;
  /** KCVs of alice's K and P. */
  kcvs: Record<"K" | "P", Buffer>;
  mWMaterial: Buffer;
  /** Keys mallory owns now (her two plus what successful calls created, minus what they deleted). */
  malloryOwned: Set<number>;
  loggedOutToken: string;
  pageToken: string;
}

export interface Stats {
  ms: number;
  cases: number;
  ok: number;
  outcomes: Map<string, number>;
  bytes: number;
  largest: number;
}

export const stats = new Map<string, Stats>();
export let w: World;

/** Sets the world the cases act on (once, in the test's beforeAll). */
export function setWorld(world: World): void {
  w = world;
}

export function named(name: KeyName): number {
  return name === "mW" ? w.malloryKeys.W : name === "mS" ? w.malloryKeys.S : w.aliceKeys[name];
}

/** Handles of one kind; never empty. */
export function poolOf(from: Exclude<HandleSource, "any">): number[] {
  const mine = [...w.malloryOwned];
  const fixed = new Set([w.malloryKeys.T, w.malloryKeys.W, w.malloryKeys.S]);
  const created = mine.filter((h) => !fixed.has(h));
  const pool = from === "mine" ? mine : from === "created" ? created : [...mine, w.aliceKeys.W, w.aliceKeys.K];
  return pool.length > 0 ? pool.slice(-64) : [w.aliceKeys.W];
}

export function handlePool(): number[] {
  const { T, W, K, P } = w.aliceKeys;
  const mine = [...w.malloryOwned].slice(-24);
  const top = Math.max(T, W, K, P, ...mine);
  return [0, 1, 4, 5, 6, T, W, K, P, w.malloryKeys.W, w.malloryKeys.S, ...mine, ...mine, top + 1, top + 50, 0x7fffffff, 0xffffffff];
}

/**
 * Encodings made while generating (the known-bug filter) and reused when sending: the late-bound values only change
 * between batches, after the census.
 */
export const encoded = new WeakMap<Body, Buffer>();

export function encodeBody(body: Body): Buffer {
  let bytes = encoded.get(body);
  if (!bytes) encoded.set(body, (bytes = encodeFresh(body)));
  return bytes;
}

/** Resolves the late-bound fields and encodes the body. */
export function encodeFresh(body: Body): Buffer {
  const resolve = (fields: readonly Spec[]): Buffer => {
    const handles = handlePool();
    const wire: WireField[] = fields.map((f): WireField => {
      switch (f.wire) {
        case "handle": {
          const pool = f.from === "any" ? handles : poolOf(f.from);
          return { no: f.no, wire: "varint", value: BigInt(pool[f.pick % pool.length]!) };
        }
        case "named":
          return { no: f.no, wire: "varint", value: BigInt(named(f.name)) };
        case "user":
          return { no: f.no, wire: "varint", value: BigInt(w.users[f.pick % w.users.length]!) };
        case "userNamed":
          return { no: f.no, wire: "varint", value: BigInt(w.userIds[f.name]!) };
        case "revision":
          return { no: f.no, wire: "varint", value: BigInt(Math.max(0, w.t.daemon.cluster.events.currentRevision + f.offset)) };
        case "pageToken":
          return { no: f.no, wire: "bytes", value: Buffer.from(w.pageToken) };
        case "kcv":
          return { no: f.no, wire: "bytes", value: w.kcvs[f.name] };
        case "hostWrapped": {
          // Key wrap needs at least 8 bytes of input; shorter material goes as it is (and fails the unwrap).
          if (f.material.length < 8) return { no: f.no, wire: "bytes", value: f.material };
          return { no: f.no, wire: "bytes", value: aesKeyWrapPkcs5(f.kek === "W" ? w.wMaterial : w.mWMaterial, Buffer.from(f.material)) };
        }
        default:
          return f;
      }
    });
    return encodeFields(wire);
  };
  switch (body.kind) {
    case "raw":
      return Buffer.from(body.raw);
    case "fields":
      return resolve(body.fields);
    case "flipped": {
      const bytes = resolve(body.fields);
      if (bytes.length === 0) return Buffer.from([0xff]);
      for (const [at, mask] of body.flips) bytes[at % bytes.length] = bytes[at % bytes.length]! ^ mask;
      return bytes;
    }
    case "truncated": {
      const bytes = resolve(body.fields);
      return bytes.subarray(0, bytes.length === 0 ? 0 : body.cut % bytes.length);
    }
  }
}

export const KNOWN_BUG_METHODS = new Set(AVOID_KNOWN_BUGS ? ["WatchSyncStatus", "GenSymKey", "ImportSymKey", "WrapKey"] : []);

/** Whether a request would hit a known bug (see the test.failing cases at the end). */
export function hitsKnownBug(m: MethodInfo, bytes: Buffer): boolean {
  if (!AVOID_KNOWN_BUGS) return false;
  let decoded: Record<string, unknown>;
  try {
    decoded = m.decodeRequest(bytes) as Record<string, unknown>;
  } catch {
    return false;
  }
  if (m.name === "WatchSyncStatus") return Number(decoded.progressIntervalMs) > MAX_TIMER_MS;
  if (m.name === "WrapKey") return w.shortKeys.has(Number(decoded.keyHandle));
  if (m.name === "GenSymKey" || m.name === "ImportSymKey") {
    return decoded.minSrv !== undefined && Number(decoded.minSrv) >= 2 && decoded.timeoutSeconds !== undefined && Number(decoded.timeoutSeconds) * 1000 > MAX_TIMER_MS;
  }
  return false;
}

export const LEAVERS = 4;
export let leavers = 0;

export async function credentials(c: Case): Promise<{ md: grpc.Metadata; fresh?: HsmClient }> {
  let md: grpc.Metadata;
  let fresh: HsmClient | undefined;
  switch (c.cred) {
    case "mallory":
      md = bearerMetadata(tokenOf(w.mallory));
      break;
    case "officer":
      md = bearerMetadata(tokenOf(w.officer));
      break;
    case "loggedOut":
      md = bearerMetadata(w.loggedOutToken);
      break;
    case "garbage":
      md = metadataOf({ authorization: `Bearer ${c.garbage}`, "x-admin-secret": c.garbage });
      break;
    case "scheme":
      md = metadataOf({ authorization: `Basic ${tokenOf(w.mallory)}` });
      break;
    case "secret":
      md = metadataOf({ "x-admin-secret": TEST_ADMIN_SECRET });
      break;
    case "wrongSecret":
      md = metadataOf({ "x-admin-secret": `${TEST_ADMIN_SECRET}${c.garbage}x` });
      break;
    case "fresh":
      // Spread over several users: a batch opens more sessions at once than one user may hold.
      fresh = w.t.client();
      await fresh.login(`leaver${(leavers++) % LEAVERS}`, TEST_PASSWORD);
      md = bearerMetadata(tokenOf(fresh));
      break;
    case "none":
      md = new grpc.Metadata();
      break;
  }
  for (const [name, value] of c.headers) md.set(name, value);
  return { md, ...(fresh ? { fresh } : {}) };
}

/** Alice's key material in every form an answer could carry it. */
export function leaks(bytes: Buffer): string[] {
  const found: string[] = [];
  for (const m of w.aliceMaterials) {
    if (bytes.includes(m)) found.push(`raw ${m.toString("hex")}`);
    const textForm = bytes.toString("latin1");
    for (const form of [m.toString("hex"), m.toString("hex").toUpperCase(), m.toString("base64"), m.toString("base64url")]) if (textForm.includes(form)) found.push(form);
  }
  return found;
}

export interface Sent {
  readonly c: Case;
  readonly m: MethodInfo;
  readonly bytes: Buffer;
  readonly outcome: RawOutcome;
  /** The request as the daemon decoded it (undefined if it is not decodable); decoded on first use. */
  decoded(): Record<string, unknown> | undefined;
}

export function describeCase(s: Sent): string {
  let decoded = "(not decodable)";
  try {
    decoded = JSON.stringify(s.decoded(), (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === "string" && v.length > 80 ? `<${v.length} chars>` : v));
  } catch {
    /* keep the placeholder */
  }
  return `${s.m.service}/${s.m.name} cred=${s.c.cred} body=${s.bytes.subarray(0, 48).toString("hex")}${s.bytes.length > 48 ? "…" : ""} (${s.bytes.length} bytes) decoded=${decoded.slice(0, 400)} -> ${describeOutcome(s.outcome)} ${s.outcome.details.slice(0, 120)}`;
}

/** A connection of its own: grpc-js would otherwise share one HTTP/2 connection among all clients of the process. */
export const OWN_CONNECTION = { "grpc.use_local_subchannel_pool": 1 };

/**
 * The connection streams are opened on. Every accepted watch is cancelled by this side (an RST_STREAM), and Node's
 * HTTP/2 server answers more than about 1,000 resets in a burst (then 33 a second) on one connection by closing it
 * (its CVE-2023-44487 "rapid reset" protection), which would fail every call in flight on it. So the fuzzer moves to a
 * fresh connection after 500 cancellations, between batches.
 */
export function streamClient(): grpc.Client {
  return w.streams.client;
}

export function rotateStreamClient(): void {
  if (w.streams.cancels < 500) return;
  w.streams.client.close();
  w.streams = { client: new grpc.Client(w.t.address, grpc.credentials.createInsecure(), OWN_CONNECTION), cancels: 0 };
}

export async function send(m: MethodInfo, c: Case): Promise<Sent> {
  const bytes = encodeBody(c.body);
  const { md, fresh } = await credentials(c);
  const outcome = m.responseStream
    ? await rawStream(streamClient(), m.path, bytes, md, { until: (msgs) => msgs.length >= 1, deadlineMs: 150 + Math.ceil(bytes.length / 1000) })
    : await rawCall(w.raw, m.path, bytes, md);
  if (m.responseStream && outcome.cancelledHere) w.streams.cancels += 1;
  let cache: { value: Record<string, unknown> | undefined } | undefined;
  const decoded = (): Record<string, unknown> | undefined => {
    if (!cache) {
      try {
        cache = { value: m.decodeRequest(bytes) as Record<string, unknown> };
      } catch {
        cache = { value: undefined };
      }
    }
    return cache.value;
  };
  const sent: Sent = { c, m, bytes, outcome, decoded };
  if (fresh) {
    // A logout that worked ended the session; one that was refused leaves it to close here.
    if (outcome.code === S.OK) {
      const after = await rawCall(w.raw, method("HsmService", "ListHsmUsers").path, Buffer.alloc(0), bearerMetadata(tokenOf(fresh)));
      if (after.info?.reason !== "UNAUTHENTICATED") throw new Error(`Logout succeeded but its token still works: ${describeCase(sent)}`);
    } else await fresh.logout();
  }
  if (m.name === "Login" && outcome.code === S.OK) {
    const token = (m.decodeResponse(outcome.response!) as { sessionToken: string }).sessionToken;
    await rawCall(w.raw, method("HsmService", "Logout").path, Buffer.alloc(0), bearerMetadata(token));
  }
  return sent;
}

/** Everything a single answer must satisfy. */
export function checkAnswer(s: Sent, problems: string[]): void {
  const { m, c, outcome: o } = s;
  const fail = (why: string): void => void problems.push(`${why}: ${describeCase(s)}`);
  if (o.code === S.INTERNAL || o.code === S.UNKNOWN) fail("INTERNAL/UNKNOWN answer");
  // A stream is accepted once it delivers a message (then this side cancels it); one still silent at its deadline is
  // undetermined (a slow refusal of a large request looks the same), and proves nothing either way.
  const endedHere = m.responseStream && o.code === S.CANCELLED && o.cancelledHere;
  const silent = m.responseStream && o.code === S.DEADLINE_EXCEEDED && o.messages.length === 0;
  if (o.code !== S.OK && !endedHere && !silent) {
    if (!o.info) fail("refusal without ErrorInfo");
    else if (o.info.domain !== ERROR_DOMAIN || !/^[A-Z][A-Z0-9_]+$/.test(o.info.reason) || !/^0x[0-9a-f]+$/.test(o.info.metadata.kmu_return_code ?? "")) fail("malformed ErrorInfo");
  }
  const accepted = o.code === S.OK || endedHere;
  if (accepted && m.service === "HsmService" && m.name !== "Login") {
    const allowed = c.cred === "mallory" || c.cred === "fresh" || (c.cred === "officer" && !KEY_RPCS.has(m.name));
    if (!allowed) fail(`accepted with credential ${c.cred}`);
  }
  if (accepted && m.service !== "HsmService" && c.cred !== "secret") fail(`accepted without the admin secret (${c.cred})`);
  if (accepted && m.name === "ChangeUserPassword" && c.cred !== "officer") fail(`a password changed by a session that is not a crypto officer's (${c.cred})`);
  // No answer carries alice's key material, in any encoding.
  const everything = Buffer.concat([Buffer.from(o.details), Buffer.from(JSON.stringify(o.info ?? {})), o.response ?? Buffer.alloc(0), ...o.messages]);
  const leaked = leaks(everything);
  if (leaked.length > 0) fail(`answer holds alice's key material (${leaked.join(", ")})`);
  // No successful answer names a key mallory may not see.
  const hidden = new Set([w.aliceKeys.T, w.aliceKeys.P]);
  if (o.code === S.OK && s.decoded() && o.response) {
    const response = m.decodeResponse(o.response) as Record<string, unknown>;
    const target = Number(s.decoded()!.keyHandle);
    if (["GetAttribute", "GetKeyInfo", "WrapKey", "ShareKey", "SetAttribute", "DeleteKey"].includes(m.name) && hidden.has(target)) fail("succeeded on a key the caller cannot see");
    if (["Encrypt", "Decrypt", "Mac", "VerifyMac"].includes(m.name) && hidden.has(target)) fail("used a key the caller cannot see");
    if (["WrapKey", "ShareKey", "SetAttribute", "DeleteKey"].includes(m.name) && !w.malloryOwned.has(target)) fail("changed or exported a key the caller does not own");
    if (m.name === "FindKey" && (response.keyHandles as number[]).some((h) => hidden.has(h))) fail("findKey listed a key the caller cannot see");
  }
  for (const bytes of o.messages) {
    const r = WatchSyncStatusResponse.decode(bytes);
    const events = r.message?.$case === "event" ? [r.message.value] : r.message?.$case === "batch" ? r.message.value.events : [];
    if (events.some((e) => hidden.has(e.keyHandle))) fail("the watch delivered an event of a key the caller cannot see");
  }
}

// ---- the census ------------------------------------------------------------------------------------------------------

export interface Census {
  readonly malloryView: number[];
  readonly keyCount: number;
  readonly alice: string;
  readonly malloryKeys: Map<number, string>;
}

export async function snapshot(client: HsmClient, handle: number): Promise<string> {
  const settle = <T>(p: Promise<T>): Promise<T | string> => p.catch((err: unknown) => `refused ${err instanceof HsmClientError ? err.reason : String(err)}`);
  const [attributes, info] = await Promise.all([settle(client.getAttribute(handle, 512)), settle(client.getKeyInfo(handle))]);
  // node_statuses say which node holds the key: replication moves them, so they are not part of "the key".
  const keyInfo = typeof info === "string" ? info : { owner: info.ownerUserId, shared: info.sharedWithUserIds };
  return JSON.stringify({ attributes, keyInfo });
}

export async function census(): Promise<Census> {
  const { T, W, K, P, H } = w.aliceKeys;
  const alice = JSON.stringify(await Promise.all([T, W, K, P, H].map((h) => snapshot(w.alice, h))));
  const malloryKeys = new Map<number, string>();
  for (const h of [w.malloryKeys.W, w.malloryKeys.S]) malloryKeys.set(h, await snapshot(w.mallory, h));
  return { malloryView: (await w.mallory.findKey()).sort((a, b) => a - b), keyCount: w.t.daemon.cluster.keyCount, alice, malloryKeys };
}

/** RPCs whose success creates keys mallory owns. */
const CREATIONS = new Set(["GenSymKey", "ImportSymKey", "GenerateKeyPair", "ImportPublicKey", "ImportPrivateKey"]);

export function isCreation(s: Sent): boolean {
  return s.outcome.code === S.OK && s.c.cred === "mallory" && s.m.service === "HsmService" && CREATIONS.has(s.m.name);
}

/** The handles a successful creation answered with (both keys of a pair). */
export function createdHandles(s: Sent): number[] {
  const res = s.m.decodeResponse(s.outcome.response!) as { keyHandle?: number; publicKeyHandle?: number; privateKeyHandle?: number };
  return s.m.name === "GenerateKeyPair" ? [res.publicKeyHandle ?? 0, res.privateKeyHandle ?? 0] : [res.keyHandle ?? 0];
}

/** The census after a batch must differ from the one before only by what the batch's successful calls did. */
export function checkCensus(before: Census, after: Census, batch: readonly Sent[], problems: string[]): void {
  const created = new Set<number>();
  const deleted = new Set<number>();
  const touched = new Set<number>();
  for (const s of batch) {
    if (s.outcome.code !== S.OK || s.c.cred !== "mallory" || s.m.service !== "HsmService") continue;
    if (CREATIONS.has(s.m.name)) for (const h of createdHandles(s)) created.add(h);
    const target = Number(s.decoded()?.keyHandle);
    if (s.m.name === "DeleteKey") deleted.add(target);
    if (["DeleteKey", "ShareKey", "SetAttribute"].includes(s.m.name)) touched.add(target);
  }
  const expectedView = [...new Set([...before.malloryView, ...created])].filter((h) => !deleted.has(h)).sort((a, b) => a - b);
  if (JSON.stringify(after.malloryView) !== JSON.stringify(expectedView)) {
    problems.push(`mallory's keys are ${JSON.stringify(after.malloryView)}, expected ${JSON.stringify(expectedView)} (created ${[...created].join(",")}, deleted ${[...deleted].join(",")})`);
  }
  const expectedCount = before.keyCount + created.size - deleted.size;
  if (after.keyCount !== expectedCount) problems.push(`the cluster holds ${after.keyCount} keys, expected ${expectedCount} (created ${[...created].join(",")}, deleted ${[...deleted].join(",")})`);
  if (after.alice !== before.alice) problems.push(`alice's keys changed: ${before.alice} -> ${after.alice}`);
  for (const [h, snap] of before.malloryKeys) {
    if (!touched.has(h) && after.malloryKeys.get(h) !== snap) problems.push(`mallory's key ${h} changed without a successful call on it: ${snap} -> ${after.malloryKeys.get(h)}`);
  }
  for (const h of created) w.malloryOwned.add(h);
  for (const h of deleted) w.malloryOwned.delete(h);
}
