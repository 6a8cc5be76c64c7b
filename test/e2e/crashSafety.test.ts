// Crash safety under load: in each round, concurrent clients import keys with known material (some with min_srv 2 or
// 3) into a daemon process, which is SIGKILLed at a random moment (seeded PRNG; CRASH_SEED replays a run) and restarted
// on the same data dir. After every restart:
//   - every acknowledged key, of every round so far, is there with the right KCV, on at least the nodes its response
//     reported (checked while replication is frozen), and on every node once replication has caught up;
//   - no key is half-made: a key whose call was never answered either does not exist or is complete (right label,
//     type, length, KCV, token, not local) — and if its call asked for min_srv > 1, it survived only because min_srv
//     had been met (its node count at restart, before any replication, is at least min_srv): the commit happened and
//     only the answer was lost with the process;
//   - the store and the audit chain open cleanly (the daemon starts; verifyAudit exits 0).
// ROUNDS (default 20) sets the number of rounds.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { ClusterControlClient, HsmClient, HsmClientError, KEY_TYPE } from "../../clients";
import { readFileSync } from "node:fs";
import { Closer, DaemonProcess, DEV_PASSWORD, DEV_USER, killAllDaemons, makeTempDir, REPO_ROOT, removeTempDirs, standardArgs } from "./support/daemonProcess";
import { aesKcv, des3Kcv } from "./support/keyMaterial";
import { prng } from "../support/prng";

const ROUNDS = Number(process.env.ROUNDS ?? 20);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 2_147_483_647);
const CLIENTS = 8;
const NODES = 3;
const FROZEN_DELAY_MS = 600_000;
const DELAY_MS = 20;
const VERIFY_JS = join(REPO_ROOT, "dist", "src", "server", "verifyAudit.js");

const closer = new Closer();
afterAll(async () => {
  closer.closeAll();
  await killAllDaemons();
  removeTempDirs();
});

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

function verifyAudit(file: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [VERIFY_JS, file], (err, stdout) => resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout }));
  });
}

/** The value of each attribute in a 512 dump, by id. */
function attributesById(dump: Awaited<ReturnType<HsmClient["getAttribute"]>>): Map<number, unknown> {
  return new Map(dump.attributes.map((a) => [a.attributeId, a.value?.value instanceof Uint8Array ? Buffer.from(a.value.value).toString("hex") : a.value?.value]));
}

describe("crash safety", () => {
  test(`${ROUNDS} rounds of SIGKILL at a random moment during concurrent imports lose nothing acknowledged and leave nothing half-made`, async () => {
    const random = prng(SEED);
    process.stdout.write(`crash safety seed ${SEED} (CRASH_SEED=${SEED} ROUNDS=${ROUNDS} replays it)\n`);
    const dataDir = join(makeTempDir("lch-crash-"), "data");
    const auditFile = join(dataDir, "audit.jsonl");
    let daemon = await DaemonProcess.start(standardArgs(dataDir, ["--replication-delay-ms", String(DELAY_MS)]));
    const setup = closer.add(new HsmClient(daemon.address));
    await setup.login(DEV_USER, DEV_PASSWORD);
    const generated = await setup.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "crash-wrapping" });
    const wrappingKey = generated.keyHandle;
    await setup.waitForSync(generated, "all");
    setup.close();

    /** Every key that must exist from now on: the wrapping key, acknowledged keys, complete survivors. */
    const durable = new Map<number, Planned>([[wrappingKey, { label: "crash-wrapping", keyType: KEY_TYPE.AES, material: Buffer.alloc(0), kcv: "", minSrv: 1 }]]);
    const figures = { acknowledged: 0, inFlight: 0, survivedComplete: 0, committedAnswerLost: 0, losses: 0, halfMade: 0, killsBeforeFirstAck: 0 };
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
      // The kill moment: 0 to 250 ms into the load, drawn from the seeded PRNG. Not a wait for anything.
      const killAfterMs = Math.floor(random() * 250);
      await new Promise<void>((resolve) => setTimeout(resolve, killAfterMs));
      if (acknowledged.length === 0) figures.killsBeforeFirstAck += 1;
      daemon.signal("SIGKILL");
      killed = true;
      expect((await daemon.exited).signal).toBe("SIGKILL");
      await Promise.all(loops);
      for (const c of clients) c.close();
      const ackedLabels = new Set(acknowledged.map((a) => a.label));
      const unanswered = [...planned.values()].filter((p) => !ackedLabels.has(p.label));
      figures.acknowledged += acknowledged.length;
      figures.inFlight += unanswered.length;

      // ---- restart with replication frozen, so what is on each node is exactly what was on disk ------------------
      daemon = await DaemonProcess.start(standardArgs(dataDir, ["--replication-delay-ms", String(FROZEN_DELAY_MS)]));
      const hsm = closer.add(new HsmClient(daemon.address));
      const control = closer.add(new ClusterControlClient(daemon.address, adminSecret));
      await hsm.login(DEV_USER, DEV_PASSWORD);
      const found = new Set(await hsm.findKey());

      // Acknowledged keys of earlier rounds (all on every node before this round) and of this round.
      for (const [handle, p] of durable) if (!found.has(handle)) (figures.losses += 1), problems.push(`round ${round}: ${p.label} (handle ${handle}) lost`);
      const thisRound = new Map<number, { p: Planned; heldAtAck?: number[] }>();
      for (const a of acknowledged) {
        thisRound.set(a.handle, { p: a, heldAtAck: a.heldAtAck });
        if (!found.has(a.handle)) (figures.losses += 1), problems.push(`round ${round}: acknowledged ${a.label} (handle ${a.handle}) lost`);
      }
      // Keys nobody was told about: each must be a complete copy of a call of this round that was in flight.
      const byLabel = new Map(unanswered.map((p) => [p.label, p]));
      const strangers = [...found].filter((h) => !durable.has(h) && !thisRound.has(h));
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
            if (missing.length > 0) (figures.losses += 1), problems.push(`round ${round}: ${p.label} acknowledged on nodes ${heldAtAck} but held on ${holds} after restart`);
          } else if (holds.length < p.minSrv) {
            figures.halfMade += 1;
            problems.push(`round ${round}: unanswered ${p.label} survived on ${holds.length} node(s) with min_srv ${p.minSrv} unmet`);
          } else if (p.minSrv > 1) figures.committedAnswerLost += 1;
          else figures.survivedComplete += 1;
        }),
      );
      // Earlier rounds' keys are still on every node: each node's count is theirs plus this round's on that node.
      const nodes = (await control.listNodes()).nodes;
      const expectedCounts = Array.from({ length: NODES }, (_, n) => durable.size + [...holdsAtRestart.values()].filter((h) => h.includes(n)).length);
      if (JSON.stringify(nodes.map((n) => n.keyCount)) !== JSON.stringify(expectedCounts)) {
        figures.losses += 1;
        problems.push(`round ${round}: node key counts ${nodes.map((n) => n.keyCount)} after restart, expected ${expectedCounts}`);
      }

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
            if (waiting.size > 0) throw new Error(`keys ${[...waiting]} never reached every node`);
            resolve();
          } catch (err) {
            reject(err as Error);
          } finally {
            clearTimeout(timer);
          }
        })();
      });
      for (let n = 0; n < NODES; n++) await control.setReplicationDelay(n, DELAY_MS);
      await caughtUp;
      for (const [handle, { p }] of thisRound) durable.set(handle, p);

      // ---- the audit chain verifies (the daemon is idle: no call in flight writes to it) --------------------------
      const audit = await verifyAudit(auditFile);
      if (audit.code !== 0) problems.push(`round ${round}: verifyAudit exited ${audit.code}: ${audit.stdout.trim()}`);
      hsm.close();
      control.close();
    }

    // ---- the end: every durable key once more, with its KCV, and a clean stop ----------------------------------------
    const final = closer.add(new HsmClient(daemon.address));
    await final.login(DEV_USER, DEV_PASSWORD);
    expect(new Set(await final.findKey())).toEqual(new Set(durable.keys()));
    const kcvs = await Promise.all([...durable].map(async ([handle, p]) => (p.kcv === "" ? true : (await final.kcv(handle)) === p.kcv)));
    const wrong = kcvs.filter((ok) => !ok).length;
    figures.losses += wrong;
    final.close();
    expect((await daemon.stop("SIGTERM")).code).toBe(0);
    const audit = await verifyAudit(auditFile);

    process.stdout.write(
      `crash safety: ${ROUNDS} rounds (seed ${SEED}), ${figures.acknowledged} acknowledged keys, ${figures.inFlight} calls unanswered at the kill ` +
        `(${figures.survivedComplete} committed with min_srv 1 and complete, ${figures.committedAnswerLost} committed with min_srv met but the answer lost, ` +
        `the rest not created), ${figures.killsBeforeFirstAck} kills before the first answer; losses ${figures.losses}, half-made ${figures.halfMade}; ${audit.stdout.trim()}\n`,
    );
    expect(problems).toEqual([]);
    expect({ losses: figures.losses, halfMade: figures.halfMade }).toEqual({ losses: 0, halfMade: 0 });
    expect(audit.code).toBe(0);
    expect(figures.acknowledged).toBeGreaterThan(ROUNDS);
  }, 240_000);
});
