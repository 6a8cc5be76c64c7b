// Plans a seed against the cluster's current users and keys: what is missing, fully built, before anything is written.
import { randomBytes } from "node:crypto";
import { AuditEvent } from "./auditChain";
import { keyCheckValue } from "./crypto/kcv";
import { defaultFlags, KeyObject } from "./key";
import { KeyClass } from "./keyTypes";
import { resolveSeedKey, SeedDocument, SeedError } from "./seed";
import { normaliseUsername, UserInfo, UserRecord, UserRole } from "./users";

/** What the plan needs to know about the cluster as it is. */
export interface SeedBase {
  readonly users: readonly UserInfo[];
  /** The key with this (non-empty) id, visible or not. */
  keyWithId(id: string): KeyObject | undefined;
  readonly nodeCount: number;
  hashPassword(password: string): Promise<string>;
  /** Called once per new key, in seed order, after every check passed: same seed, same state, same handles. */
  allocateHandle(): number;
}

/** A seed key and where it is: `created` false when an earlier start (or reset) had created it already. */
export interface SeededKey {
  readonly handle: number;
  readonly id: string;
  readonly label: string;
  readonly owner: string;
  readonly created: boolean;
}

export interface SeedPlan {
  /** Users to insert, with their password hashes. */
  readonly users: readonly UserRecord[];
  /** Keys to insert, on every node (a seeded key is where a fully replicated key would be). */
  readonly keys: readonly KeyObject[];
  /** Every key of the seed, in seed order. */
  readonly seeded: readonly SeededKey[];
  /** One record per user and key created. */
  readonly audit: readonly AuditEvent[];
}

/**
 * Users that exist already (same name and role) and keys that exist already (same id and owner) are left
 * as they are, so applying a seed twice changes nothing. A user of the same name with another role, or a
 * key id owned by another user, is a SeedError: the seed does not describe this store.
 */
export async function planSeed(seed: SeedDocument, base: SeedBase): Promise<SeedPlan> {
  const byName = new Map(base.users.map((u) => [u.username, u]));
  let nextUserId = Math.max(0, ...base.users.map((u) => u.userId)) + 1;
  const newUsers: { user: Omit<UserRecord, "passwordHash">; password: string }[] = [];
  (seed.users ?? []).forEach((spec, i) => {
    const name = normaliseUsername(spec.name);
    const role = spec.role.toUpperCase() === "CO" ? UserRole.CO : UserRole.CU;
    const existing = byName.get(name);
    if (existing) {
      if (existing.role !== role) throw new SeedError(["users", i, "role"], `user ${name} exists with role ${existing.role}`);
      return;
    }
    const user = { userId: nextUserId++, role, username: name, loginFailures: 0, locked: false };
    newUsers.push({ user, password: spec.password });
    byName.set(name, { userId: user.userId, role, username: name, loginFailures: 0, locked: false });
  });

  const cryptoUser = (name: string, path: (string | number)[]): number => {
    const user = byName.get(name.toLowerCase());
    if (!user) throw new SeedError(path, `no user ${name.toLowerCase()} in the seed or the store`);
    if (user.role !== UserRole.CU) throw new SeedError(path, `user ${user.username} is not a crypto user (CU)`);
    return user.userId;
  };
  const drafts: { path: (string | number)[]; build: (handle: number) => KeyObject }[] = [];
  const seeded: (SeededKey | { pending: number; id: string; label: string; owner: string })[] = [];
  (seed.keys ?? []).forEach((spec, i) => {
    const path = ["keys", i];
    const ownerId = cryptoUser(spec.owner, [...path, "owner"]);
    const sharedWith = (spec.sharedWith ?? []).map((name, j) => cryptoUser(name, [...path, "sharedWith", j]));
    const owner = spec.owner.toLowerCase();
    const existing = base.keyWithId(spec.id);
    if (existing) {
      if (existing.ownerId !== ownerId || existing.sessionId !== undefined) {
        throw new SeedError([...path, "id"], "a key of another user (or a session key) has this id in the store");
      }
      seeded.push({ handle: existing.handle, id: spec.id, label: existing.label, owner, created: false });
      return;
    }
    const resolved = resolveSeedKey(spec, path);
    seeded.push({ pending: drafts.length, id: spec.id, label: spec.label, owner });
    drafts.push({
      path,
      build: (handle) => {
        const material = resolved.material ? Buffer.from(resolved.material) : randomBytes(resolved.size);
        return {
          handle,
          ownerId,
          keyClass: KeyClass.SECRET,
          keyType: resolved.keyType,
          label: spec.label,
          id: spec.id,
          flags: defaultFlags(resolved.keyType, { session: false, local: resolved.material === undefined, extractable: spec.extractable ?? true }),
          valueLen: material.length,
          kcv: keyCheckValue(resolved.keyType, material),
          sharedWith: new Set(sharedWith),
          sessionId: undefined,
          nodes: new Set(Array.from({ length: base.nodeCount }, (_, n) => n)),
          material,
        };
      },
    });
  });

  // Every check passed: now the slow part (hashing) and the handles.
  const users: UserRecord[] = [];
  for (const { user, password } of newUsers) users.push({ ...user, passwordHash: await base.hashPassword(password) });
  const keys = drafts.map((d) => d.build(base.allocateHandle()));
  const audit: AuditEvent[] = [
    ...users.map((u): AuditEvent => ({ opcode: "CN_CREATE_USER", node: 0, user: "seed", result: "SUCCESS", detail: `${u.role} ${u.username} id ${u.userId}` })),
    ...keys.map(
      (k): AuditEvent => ({
        opcode: k.flags.local ? "CN_GENERATE_KEY" : "CN_UNWRAP_KEY",
        node: 0,
        user: k.ownerId,
        handle: k.handle,
        result: "SUCCESS",
        detail: `type ${k.keyType} token seed`,
      }),
    ),
  ];
  return {
    users,
    keys,
    seeded: seeded.map((s) => ("pending" in s ? { handle: keys[s.pending]!.handle, id: s.id, label: s.label, owner: s.owner, created: true } : s)),
    audit,
  };
}
