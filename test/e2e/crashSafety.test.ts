// Crash safety under load: in each round, concurrent clients import keys with known material (some with min_srv 2 or
// 3) into a daemon process, which is SIGKILLed at a random moment (seeded PRNG; CRASH_SEED replays a run) and restarted
// on the same data dir. After every restart:
//   - every acknowledged key, of every round so far, is there with the right KCV, on at least the nodes its response
//     reported (checked while replication is frozen), and on every node once replication has caught up;
//   - no key is half-made: a key whose call was never answered either does not exist or is complete (right label,
//     type, length, KCV, token, not local) — and if its call asked for min_srv > 1, it survived only because min_srv
//     had been met (its node count at restart, before any replication, is at least min_srv): the commit happened and
//     only the answer was lost with the process;
//   - meanwhile a second loop turns session keys into token keys (setAttribute), shares, unshares and deletes them:
//     after the restart each such key is as its last answered call left it, or as its unanswered call would have;
//   - the audit log replayed (creations, made-token, shares, deletions, tombstones) gives exactly the keys and the
//     sharing the store holds: no change without its record, no record without its change;
//   - the store and the audit chain open cleanly (the daemon starts; verifyAudit exits 0).
// ROUNDS (default 20) sets the number of rounds.
import { join } from "node:path";
import { ClusterControlClient, HsmClient, HsmClientError, KEY_TYPE } from "../../clients";
import { readFileSync } from "node:fs";
import { AuditRecord } from "../../src/hsm/auditLog";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, standardArgs } from "./support/daemonProcess";
import { devCuClient, freshDataDir, useDaemonCleanup, verifyAudit } from "./support/e2eFixture";
import { aesKcv, des3Kcv } from "./support/keyMaterial";
import { prng } from "../support/prng";

const ROUNDS = Number(process.env.ROUNDS ?? 20);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 2_147_483_647);
const CLIENTS = 8;
/** Clients running the mutation loop alongside the importers. */
const MUTATORS = 3;
const NODES = 3;
const FROZEN_DELAY_MS = 600_000;
const DELAY_MS = 20;
const BOB = { username: "bob", password: "password2" };
const daemonArgs = (dataDir: string, delayMs: number): string[] =>
  standardArgs(dataDir, ["--dev-cu", `${BOB.username}:${BOB.password}`, "--replication-delay-ms", String(delayMs)]);

const closer = useDaemonCleanup("file");

/** Key bytes from the seeded PRNG (the test must be replayable, so not randomBytes). */
function bytesFrom(random: () => number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
}

interface Planned {
  readonly label: string;
  readonly keyType: number;
  readonly material: Buffer;
  readonly kcv: string;
  readonly minSrv: number;
}

interface Acknowledged extends Planned {
  readonly handle: number;
  /** Nodes the response said hold the key. */
  readonly heldAtAck: number[];
}

/** What a mutated key looks like after a restart: gone (deleted, or a session key), or a token key shared with these users. */
type KeyState = "absent" | { readonly shared: readonly number[] };

/** A key of the mutation loop: the state its last answered call left, and the one its unanswered call would leave. */
interface Mutated {
  readonly handle: number;
  acked: KeyState;
  inFlight?: KeyState;
}

/** Token keys and their sharing as the audit log tells them, record by record from the first. */
function replayAudit(text: string): { alive: Set<number>; shares: Map<number, Set<number>> } {
  const alive = new Set<number>();
  const shares = new Map<number, Set<number>>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const r = JSON.parse(line) as AuditRecord;
    if (r.result !== "SUCCESS" || r.handle === undefined) continue;
    switch (r.opcode) {
      case "CN_GENERATE_KEY":
      case "CN_UNWRAP_KEY":
        if (r.detail?.endsWith(" token")) {
          alive.add(r.handle);
          shares.set(r.handle, new Set());
        }
        break;
      case "CN_MODIFY_OBJECT":
        alive.add(r.handle);
        if (!shares.has(r.handle)) shares.set(r.handle, new Set());
        break;
      case "CN_SHARE_OBJECT": {
        const [verb, ids] = (r.detail ?? "").split(" ");
        const set = shares.get(r.handle) ?? new Set<number>();
        for (const id of (ids ?? "").split(",").map(Number)) {
          if (verb === "share") set.add(id);
          else set.delete(id);
        }
        shares.set(r.handle, set);
        break;
      }
      case "CN_DESTROY_OBJECT":
      case "CN_TOMBSTONE_OBJECT":
        alive.delete(r.handle);
        shares.delete(r.handle);
        break;
      default:
        break;
    }
  }
  return { alive, shares };
}

/** The value of each attribute in a 512 dump, by id. */
function attributesById(dump: Awaited<ReturnType<HsmClient["getAttribute"]>>): Map<number, unknown> {
  return new Map(dump.attributes.map((a) => [a.attributeId, a.value?.value instanceof Uint8Array ? Buffer.from(a.value.value).toString("hex") : a.value?.value]));
}

describe("crash safety", () => {
  test(`${ROUNDS} rounds of SIGKILL at a random moment during concurrent imports lose nothing acknowledged and leave nothing half-made`, async () => {
    const random = prng(SEED);
    process.stdout.write(`crash safety seed ${SEED} (CRASH_SEED=${SEED} ROUNDS=${ROUNDS} replays it)\n`);
    const dataDir = freshDataDir("lch-crash-");
    const auditFile = join(dataDir, "audit.jsonl");
    let daemon = await DaemonProcess.start(daemonArgs(dataDir, DELAY_MS));
    const setup = closer.add(new HsmClient(daemon.address));
    const bobClient = closer.add(new HsmClient(daemon.address));
    const bobId = await bobClient.login(BOB.username, BOB.password);
    bobClient.close();
    await setup.login(DEV_USER, DEV_PASSWORD);
    const generated = await setup.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "crash-wrapping" });
    const wrappingKey = generated.keyHandle;
    await setup.waitForSync(generated, "all");
    setup.close();

    /** Every key that must exist from now on: the wrapping key, acknowledged keys, complete survivors. */
    const durable = new Map<number, Planned>([[wrappingKey, { label: "crash-wrapping", keyType: KEY_TYPE.AES, material: Buffer.alloc(0), kcv: "", minSrv: 1 }]]);
    const figures = { auditRestored: 0, mutationsAcknowledged: 0, mutationsInFlight: 0, acknowledged: 0, inFlight: 0, survivedComplete: 0, committedAnswerLost: 0, losses: 0, halfMade: 0, killsBeforeFirstAck: 0 };
    const problems: string[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const adminSecret = readFileSync(join(dataDir, "admin-secret"), "utf8").trim();
      // ---- load: CLIENTS sequential import loops, then SIGKILL at a random moment --------------------------------
      const clients = Array.from({ length: CLIENTS }, () => closer.add(new HsmClient(daemon.address, { deadlineMs: 15_000 })));
      await Promise.all(clients.map((c) => c.login(DEV_USER, DEV_PASSWORD)));
      const planned = new Map<string, Planned>();
      const acknowledged: Acknowledged[] = [];
      let killed = false;
      const plan = (client: number, seq: number): Planned => {
        const kind = Math.floor(random() * 4);
        const keyType = kind === 3 ? KEY_TYPE.DES3 : KEY_TYPE.AES;
        const material = bytesFrom(random, kind === 3 ? 24 : [16, 24, 32][kind]!);
        const r = random();
        const minSrv = r < 0.6 ? 1 : r < 0.8 ? 2 : 3;
        const p = { label: `r${round}-c${client}-${seq}`, keyType, material, kcv: keyType === KEY_TYPE.DES3 ? des3Kcv(material) : aesKcv(material), minSrv };
        planned.set(p.label, p);
        return p;
      };
      const loops = clients.map(async (client, c) => {
        for (let seq = 0; !killed; seq++) {
          const p = plan(c, seq);
          try {
            const res = await client.importSymKey(p.material, { wrappingKey, keyType: p.keyType, label: p.label, ...(p.minSrv > 1 ? { minSrv: p.minSrv } : {}) });
            acknowledged.push({ ...p, handle: res.keyHandle, heldAtAck: res.nodeStatuses.filter((n) => n.holdsKey).map((n) => n.nodeId) });
          } catch (err) {
            if (!(err instanceof HsmClientError)) throw err;
            if (!killed) problems.push(`round ${round}: ${p.label} refused before the kill: ${err.reason}`);
            return;
          }
        }
      });
      // Alongside: session key -> setAttribute (token) -> share with bob -> then delete, unshare or keep (by turn).
      const mutators = Array.from({ length: MUTATORS }, () => closer.add(new HsmClient(daemon.address, { deadlineMs: 15_000 })));
      await Promise.all(mutators.map((c) => c.login(DEV_USER, DEV_PASSWORD)));
      const mutated: Mutated[] = [];
      const mutating = mutators.map(async (mutator, c) => {
        for (let seq = 0; !killed; seq++) {
          let m: Mutated | undefined;
          const step = async (next: KeyState, call: () => Promise<unknown>): Promise<void> => {
            m!.inFlight = next;
            await call();
            m!.acked = next;
            m!.inFlight = undefined;
            figures.mutationsAcknowledged += 1;
          };
          try {
            const made = await mutator.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: `m${round}-${c}-${seq}`, session: true });
            m = { handle: made.keyHandle, acked: "absent" };
            mutated.push(m);
            const handle = m.handle;
            await step({ shared: [] }, () => mutator.setAttribute(handle, 1, 1));
            await step({ shared: [bobId] }, () => mutator.shareKey(handle, [bobId]));
            if (seq % 3 === 0) await step("absent", () => mutator.deleteKey(handle));
            else if (seq % 3 === 1) await step({ shared: [] }, () => mutator.shareKey(handle, [bobId], false));
          } catch (err) {
            if (!(err instanceof HsmClientError)) throw err;
            if (!killed) problems.push(`round ${round}: mutation of key ${m?.handle ?? "(new)"} refused before the kill: ${err.reason}`);
            return;
          }
        }
      });
      // The kill moment: 0 to 250 ms into the load, drawn from the seeded PRNG. Not a wait for anything.
      const killAfterMs = Math.floor(random() * 250);
      await new Promise<void>((resolve) => setTimeout(resolve, killAfterMs));
      if (acknowledged.length === 0) figures.killsBeforeFirstAck += 1;
      daemon.signal("SIGKILL");
      killed = true;
      expect((await daemon.exited).signal).toBe("SIGKILL");
      figures.mutationsInFlight += mutated.filter((m) => m.inFlight !== undefined).length;
      await Promise.all([...loops, ...mutating]);
      for (const c of [...clients, ...mutators]) c.close();
      const ackedLabels = new Set(acknowledged.map((a) => a.label));
      const unanswered = [...planned.values()].filter((p) => !ackedLabels.has(p.label));
      figures.acknowledged += acknowledged.length;
      figures.inFlight += unanswered.length;

      // ---- restart with replication frozen, so what is on each node is exactly what was on disk ------------------
      daemon = await DaemonProcess.start(daemonArgs(dataDir, FROZEN_DELAY_MS));
      // Records whose commit reached the store but not the log before the kill, appended at this start.
      const restored = daemon.logs.find((l) => l.message === "audit records restored from the store after a crash");
      figures.auditRestored += typeof restored?.records === "number" ? restored.records : 0;
      const hsm = closer.add(new HsmClient(daemon.address));
      const control = closer.add(new ClusterControlClient(daemon.address, adminSecret));
      await hsm.login(DEV_USER, DEV_PASSWORD);
      const found = new Set(await hsm.findKey());

      // Acknowledged keys of earlier rounds (all on every node before this round) and of this round.
      for (const [handle, p] of durable) {
        if (!found.has(handle)) {
          figures.losses += 1;
          problems.push(`round ${round}: ${p.label} (handle ${handle}) lost`);
        }
      }
      const thisRound = new Map<number, { p: Planned; heldAtAck?: number[] }>();
      for (const a of acknowledged) {
        thisRound.set(a.handle, { p: a, heldAtAck: a.heldAtAck });
        if (!found.has(a.handle)) {
          figures.losses += 1;
          problems.push(`round ${round}: acknowledged ${a.label} (handle ${a.handle}) lost`);
        }
      }
      // Keys nobody was told about: each must be a complete copy of a call of this round that was in flight.
      const byLabel = new Map(unanswered.map((p) => [p.label, p]));
      const mutatedHandles = new Set(mutated.map((m) => m.handle));
      const strangers = [...found].filter((h) => !durable.has(h) && !thisRound.has(h) && !mutatedHandles.has(h));
      for (const handle of strangers) {
        const dump = attributesById(await hsm.getAttribute(handle, 512));
        const p = byLabel.get(String(dump.get(3)));
        if (!p) {
          figures.halfMade += 1;
          problems.push(`round ${round}: key ${handle} with label ${String(dump.get(3))} matches no call of this round`);
          continue;
        }
        thisRound.set(handle, { p });
      }
      // Every key of this round: complete, with its KCV, on at least the nodes acknowledged; an unanswered min_srv > 1
      // key only if min_srv had been met.
      const holdsAtRestart = new Map<number, number[]>();
      await Promise.all(
        [...thisRound].map(async ([handle, { p, heldAtAck }]) => {
          const [dump, info] = await Promise.all([hsm.getAttribute(handle, 512), hsm.getKeyInfo(handle)]);
          const attrs = attributesById(dump);
          const holds = info.nodeStatuses.filter((n) => n.holdsKey).map((n) => n.nodeId);
          holdsAtRestart.set(handle, holds);
          const actual = { label: attrs.get(3), keyType: attrs.get(256), valueLen: attrs.get(353), kcv: attrs.get(371), token: attrs.get(1), local: attrs.get(355), class: attrs.get(0) };
          const expected = { label: p.label, keyType: p.keyType, valueLen: p.material.length, kcv: p.kcv, token: true, local: false, class: 4 };
          if (JSON.stringify(actual) !== JSON.stringify(expected)) {
            if (heldAtAck) figures.losses += 1;
            else figures.halfMade += 1;
            problems.push(`round ${round}: key ${handle} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
          }
          if (heldAtAck) {
            const missing = heldAtAck.filter((n) => !holds.includes(n));
            if (missing.length > 0) {
              figures.losses += 1;
              problems.push(`round ${round}: ${p.label} acknowledged on nodes ${heldAtAck.join(",")} but held on ${holds.join(",")} after restart`);
            }
          } else if (holds.length < p.minSrv) {
            figures.halfMade += 1;
            problems.push(`round ${round}: unanswered ${p.label} survived on ${holds.length} node(s) with min_srv ${p.minSrv} unmet`);
          } else if (p.minSrv > 1) figures.committedAnswerLost += 1;
          else figures.survivedComplete += 1;
        }),
      );
      // Each mutated key is as its last answered call left it, or as its unanswered call would have.
      const mutatedHolds: number[][] = [];
      const sharing = new Map<number, number[]>();
      for (const m of mutated) {
        let actual: KeyState = "absent";
        if (found.has(m.handle)) {
          const info = await hsm.getKeyInfo(m.handle);
          actual = { shared: info.sharedWithUserIds };
          sharing.set(m.handle, info.sharedWithUserIds);
          mutatedHolds.push(info.nodeStatuses.filter((n) => n.holdsKey).map((n) => n.nodeId));
        }
        const allowed = [m.acked, ...(m.inFlight !== undefined ? [m.inFlight] : [])].map((s) => JSON.stringify(s));
        if (!allowed.includes(JSON.stringify(actual))) {
          figures.losses += 1;
          problems.push(`round ${round}: mutated key ${m.handle} is ${JSON.stringify(actual)} after restart, expected one of ${allowed.join(" or ")}`);
        }
      }
      // The audit log replayed gives exactly the keys and sharing the store holds.
      const replayed = replayAudit(readFileSync(auditFile, "utf8"));
      if (JSON.stringify([...replayed.alive].sort((a, b) => a - b)) !== JSON.stringify([...found].sort((a, b) => a - b))) {
        problems.push(`round ${round}: the audit log names keys ${[...replayed.alive].join(",")} alive, the store holds ${[...found].join(",")}`);
      }
      for (const handle of found) {
        const logged = [...(replayed.shares.get(handle) ?? [])].sort((a, b) => a - b);
        if (JSON.stringify(logged) !== JSON.stringify(sharing.get(handle) ?? [])) {
          problems.push(`round ${round}: key ${handle} is shared with ${JSON.stringify(sharing.get(handle) ?? [])}, the audit log says ${JSON.stringify(logged)}`);
        }
      }
      // Earlier rounds' keys are still on every node: each node's count is theirs plus this round's on that node.
      const nodes = (await control.listNodes()).nodes;
      const expectedCounts = Array.from(
        { length: NODES },
        (_, n) => durable.size + [...holdsAtRestart.values(), ...mutatedHolds].filter((h) => h.includes(n)).length,
      );
      if (JSON.stringify(nodes.map((n) => n.keyCount)) !== JSON.stringify(expectedCounts)) {
        figures.losses += 1;
        problems.push(`round ${round}: node key counts ${nodes.map((n) => n.keyCount).join(",")} after restart, expected ${expectedCounts.join(",")}`);
      }

      // The mutated keys have served; deleting them keeps later rounds' counts to the import keys.
      for (const m of mutated) if (found.has(m.handle)) await hsm.deleteKey(m.handle);

      // ---- unfreeze replication and wait (on the watch stream) until every key of this round is on every node -----
      const behind = [...holdsAtRestart].filter(([, h]) => h.length < NODES).map(([handle]) => handle);
      const from = Number((await control.listNodes()).revision) + 1;
      const caughtUp = new Promise<void>((resolve, reject) => {
        if (behind.length === 0) return resolve();
        const guard = new AbortController();
        const timer = setTimeout(() => guard.abort(), 20_000);
        const waiting = new Set(behind);
        void (async () => {
          try {
            for await (const m of hsm.watch({ startRevision: from, keyHandles: behind, signal: guard.signal })) {
              if (m.message?.$case === "event" && m.message.value.nodesHolding === NODES) waiting.delete(m.message.value.keyHandle);
              if (waiting.size === 0) break;
            }
            if (waiting.size > 0) throw new Error(`keys ${[...waiting].join(",")} never reached every node`);
            resolve();
          } catch (err) {
            reject(err);
          } finally {
            clearTimeout(timer);
          }
        })();
      });
      for (let n = 0; n < NODES; n++) await control.setReplicationDelay(n, DELAY_MS);
      await caughtUp;
      for (const [handle, { p }] of thisRound) durable.set(handle, p);

      // ---- the audit chain verifies (the daemon is idle: no call in flight writes to it) --------------------------
      const audit = await verifyAudit([auditFile]);
      if (audit.code !== 0) problems.push(`round ${round}: verifyAudit exited ${audit.code}: ${audit.stdout.trim()}`);
      hsm.close();
      control.close();
    }

    // ---- the end: every durable key once more, with its KCV, and a clean stop ----------------------------------------
    const final = await devCuClient(closer, daemon);
    expect(new Set(await final.findKey())).toEqual(new Set(durable.keys()));
    const kcvs = await Promise.all([...durable].map(async ([handle, p]) => (p.kcv === "" ? true : (await final.kcv(handle)) === p.kcv)));
    const wrong = kcvs.filter((ok) => !ok).length;
    figures.losses += wrong;
    final.close();
    expect((await daemon.stop("SIGTERM")).code).toBe(0);
    const audit = await verifyAudit([auditFile]);

    process.stdout.write(
      `crash safety: ${ROUNDS} rounds (seed ${SEED}), ${figures.acknowledged} acknowledged keys, ${figures.mutationsAcknowledged} acknowledged setAttribute/share/unshare/delete calls (${figures.mutationsInFlight} in flight at a kill), ${figures.inFlight} calls unanswered at the kill ` +
        `(${figures.survivedComplete} committed with min_srv 1 and complete, ${figures.committedAnswerLost} committed with min_srv met but the answer lost, ` +
        `the rest not created), ${figures.killsBeforeFirstAck} kills before the first answer; losses ${figures.losses}, half-made ${figures.halfMade}; ${figures.auditRestored} audit records restored from the store at restarts; ${audit.stdout.trim()}\n`,
    );
    expect(problems).toEqual([]);
    expect({ losses: figures.losses, halfMade: figures.halfMade }).toEqual({ losses: 0, halfMade: 0 });
    expect(audit.code).toBe(0);
    expect(figures.acknowledged).toBeGreaterThan(ROUNDS);
    expect(figures.mutationsAcknowledged).toBeGreaterThan(0);
  }, 240_000);
});
