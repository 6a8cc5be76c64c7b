// The seed document (users, keys, cluster shape a daemon or emulator starts with) and its validation; no files here.
import { HsmError } from "./errors";
import { checkKeyId, checkLabel } from "./keyNaming";
import { isValidKeySize, KeyType } from "./keyTypes";
import { checkPasswordRules, normaliseUsername } from "./users";

/** The node count a seed may ask for (the --nodes range). */
export const SEED_MAX_NODES = 28;
/** The replication delays a seed may ask for (the --replication-delay-ms range). */
export const SEED_MAX_DELAY_MS = 600_000;

/** The cluster's shape; each value overrides the matching setting. */
export interface SeedCluster {
  /** Number of emulated HSMs (overrides --nodes). */
  readonly nodes?: number;
  /** Time a token key takes to reach each other node (overrides --replication-delay-ms). */
  readonly replicationDelayMs?: number;
  /** Per-node delays by node id, as ClusterControl SetReplicationDelay sets them. */
  readonly nodeDelaysMs?: Readonly<Record<string, number>>;
}

export interface SeedUser {
  /** "CU" (crypto user) or "CO" (crypto officer). */
  readonly role: "CU" | "CO";
  readonly name: string;
  /** A secret: never logged, never in an error. */
  readonly password: string;
}

/** Key types by KMU number (31, 21, 16) or name. */
export type SeedKeyType = "aes" | "3des" | "generic-secret" | KeyType;

/** Fixed key material (a secret: never logged, never in an error). */
export type SeedMaterial = { readonly hex: string } | { readonly base64: string };

/**
 * A token key. It is identified by its id, which is unique in the cluster: a key with this id owned by
 * the same user is the seeded key (left as it is); owned by another user, the seed is refused.
 */
export interface SeedKey {
  /** A crypto user, from the seed or already in the store. */
  readonly owner: string;
  readonly label: string;
  /** Non-empty. */
  readonly id: string;
  readonly type: SeedKeyType;
  /** Bytes; may be left out when `material` is given. */
  readonly size?: number;
  /** Absent: random material, generated once when the key is first created. */
  readonly material?: SeedMaterial;
  /** Crypto users the key is shared with. */
  readonly sharedWith?: readonly string[];
  /** Default true, as genSymKey without -nex. */
  readonly extractable?: boolean;
  /** Only token keys can be seeded (a session key belongs to a login session); false is refused. */
  readonly token?: boolean;
}

export interface SeedDocument {
  readonly cluster?: SeedCluster;
  readonly users?: readonly SeedUser[];
  readonly keys?: readonly SeedKey[];
}

/** Where in the document a problem is: property names and list indexes, e.g. ["keys", 2, "size"]. */
export type SeedPath = readonly (string | number)[];

/** A seed that cannot be applied; `path` locates the offending value (parseSeed turns it into a line). */
export class SeedError extends Error {
  constructor(
    readonly path: SeedPath,
    readonly problem: string,
  ) {
    super(`${formatSeedPath(path)}: ${problem}`);
    this.name = "SeedError";
  }
}

export function formatSeedPath(path: SeedPath): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("") || "(document)";
}

/** A seed key as the cluster creates it: type, material length and plaintext material resolved. */
export interface ResolvedSeedKey {
  readonly keyType: KeyType;
  readonly size: number;
  /** Undefined: generate. */
  readonly material: Buffer | undefined;
}

type Obj = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function object(value: unknown, path: SeedPath, allowed: readonly string[]): Obj {
  if (!isObject(value)) throw new SeedError(path, "expected a mapping");
  for (const name of Object.keys(value)) {
    if (!allowed.includes(name)) throw new SeedError([...path, name], `unknown field (expected one of ${allowed.join(", ")})`);
  }
  return value;
}

function list(value: unknown, path: SeedPath): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new SeedError(path, "expected a list");
  return value;
}

function text(value: unknown, path: SeedPath): string {
  if (typeof value !== "string") throw new SeedError(path, "expected a string");
  return value;
}

function integer(value: unknown, path: SeedPath, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new SeedError(path, `expected a whole number from ${min} to ${max}`);
  }
  return value;
}

/** Runs a domain check, turning its HsmError into a SeedError at `path` (its message is safe: no secrets). */
function domainCheck(path: SeedPath, check: () => void): void {
  try {
    check();
  } catch (err) {
    if (err instanceof HsmError) throw new SeedError(path, err.message);
    throw err;
  }
}

const KEY_TYPE_NAMES: Readonly<Record<string, KeyType>> = { aes: KeyType.AES, "3des": KeyType.DES3, "generic-secret": KeyType.GENERIC_SECRET };

function keyType(value: unknown, path: SeedPath): KeyType {
  if (typeof value === "string" && value.toLowerCase() in KEY_TYPE_NAMES) return KEY_TYPE_NAMES[value.toLowerCase()]!;
  if (value === KeyType.AES || value === KeyType.DES3 || value === KeyType.GENERIC_SECRET) return value;
  throw new SeedError(path, "expected aes (31), 3des (21) or generic-secret (16)");
}

function material(value: unknown, path: SeedPath): Buffer {
  const spec = object(value, path, ["hex", "base64"]);
  if ((spec.hex === undefined) === (spec.base64 === undefined)) throw new SeedError(path, "give exactly one of hex and base64");
  if (spec.hex !== undefined) {
    const hex = text(spec.hex, [...path, "hex"]);
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) throw new SeedError([...path, "hex"], "expected an even number of hex digits");
    return Buffer.from(hex, "hex");
  }
  const base64 = text(spec.base64, [...path, "base64"]);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) throw new SeedError([...path, "base64"], "expected base64 text");
  return Buffer.from(base64, "base64");
}

/** Resolves one key's type, size and material (already-validated document). */
export function resolveSeedKey(key: SeedKey, path: SeedPath): ResolvedSeedKey {
  const type = keyType(key.type, [...path, "type"]);
  const bytes = key.material === undefined ? undefined : material(key.material, [...path, "material"]);
  const size = key.size ?? bytes?.length;
  if (size === undefined) throw new SeedError(path, "give size, or material");
  if (bytes !== undefined && bytes.length !== size) throw new SeedError([...path, "size"], `the material is ${bytes.length} bytes, not ${size}`);
  if (!isValidKeySize(type, size)) throw new SeedError([...path, key.size !== undefined ? "size" : "material"], `${size} bytes is not a valid size for key type ${type}`);
  return { keyType: type, size, material: bytes };
}

/**
 * Checks a seed document (from a file or in-process) completely; returns it typed. Unknown fields are
 * refused, so a misspelt one is not silently ignored. SeedError names the first offending value.
 */
export function checkSeed(value: unknown): SeedDocument {
  const doc = object(value ?? {}, [], ["cluster", "users", "keys"]);
  if (doc.cluster !== undefined) checkCluster(doc.cluster);
  const names = new Map<string, "CU" | "CO">();
  list(doc.users, ["users"]).forEach((raw, i) => {
    const path = ["users", i];
    const user = object(raw, path, ["role", "name", "password"]);
    const role = text(user.role, [...path, "role"]).toUpperCase();
    if (role !== "CU" && role !== "CO") throw new SeedError([...path, "role"], "expected CU or CO");
    const name = text(user.name, [...path, "name"]);
    domainCheck([...path, "name"], () => normaliseUsername(name));
    domainCheck([...path, "password"], () => checkPasswordRules(text(user.password, [...path, "password"])));
    const normalised = normaliseUsername(name);
    if (names.has(normalised)) throw new SeedError([...path, "name"], `user ${normalised} is listed twice`);
    names.set(normalised, role);
  });
  const ids = new Set<string>();
  list(doc.keys, ["keys"]).forEach((raw, i) => {
    const path = ["keys", i];
    const key = object(raw, path, ["owner", "label", "id", "type", "size", "material", "sharedWith", "extractable", "token"]);
    const owner = text(key.owner, [...path, "owner"]).toLowerCase();
    if (names.get(owner) === "CO") throw new SeedError([...path, "owner"], "keys belong to crypto users (CU), not officers");
    domainCheck([...path, "label"], () => checkLabel(text(key.label, [...path, "label"])));
    const id = text(key.id, [...path, "id"]);
    if (id === "") throw new SeedError([...path, "id"], "seeded keys need a non-empty id (it identifies the key on the next start)");
    domainCheck([...path, "id"], () => checkKeyId(id));
    if (ids.has(id)) throw new SeedError([...path, "id"], "this id is already used by another key of the seed");
    ids.add(id);
    if (key.size !== undefined) integer(key.size, [...path, "size"], 1, 1 << 20);
    if (key.extractable !== undefined && typeof key.extractable !== "boolean") throw new SeedError([...path, "extractable"], "expected true or false");
    if (key.token !== undefined && key.token !== true) {
      throw new SeedError([...path, "token"], "only token keys can be seeded: a session key belongs to a login session");
    }
    const shared = list(key.sharedWith, [...path, "sharedWith"]).map((u, j) => text(u, [...path, "sharedWith", j]).toLowerCase());
    shared.forEach((u, j) => {
      if (u === owner) throw new SeedError([...path, "sharedWith", j], "a key is not shared with its owner");
      if (names.get(u) === "CO") throw new SeedError([...path, "sharedWith", j], "keys are shared with crypto users (CU) only");
      if (shared.indexOf(u) !== j) throw new SeedError([...path, "sharedWith", j], `user ${u} is listed twice`);
    });
    resolveSeedKey(key as unknown as SeedKey, path);
  });
  return doc;
}

function checkCluster(value: unknown): void {
  const cluster = object(value, ["cluster"], ["nodes", "replicationDelayMs", "nodeDelaysMs"]);
  const nodes = cluster.nodes === undefined ? SEED_MAX_NODES : integer(cluster.nodes, ["cluster", "nodes"], 1, SEED_MAX_NODES);
  if (cluster.replicationDelayMs !== undefined) integer(cluster.replicationDelayMs, ["cluster", "replicationDelayMs"], 0, SEED_MAX_DELAY_MS);
  if (cluster.nodeDelaysMs !== undefined) {
    const delays = object(cluster.nodeDelaysMs, ["cluster", "nodeDelaysMs"], Array.from({ length: nodes }, (_, i) => String(i)));
    for (const [node, delay] of Object.entries(delays)) integer(delay, ["cluster", "nodeDelaysMs", node], 0, SEED_MAX_DELAY_MS);
  }
}
