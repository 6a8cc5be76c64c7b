// kill -9 right after the last acknowledgement: every acknowledged key survives with its KCV, and no key
// material is ever in plaintext in the data dir (store, WAL, shared memory) or in the log.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { KEY_TYPE } from "../../clients";
import { DaemonProcess, standardArgs } from "./support/daemonProcess";
import { devCuClient, freshDataDir, startLoggedIn, useDaemonCleanup } from "./support/e2eFixture";
import { aesKcv, des3Kcv, filesUnder, findMaterial, findMaterialInText } from "./support/keyMaterial";

const closer = useDaemonCleanup();

interface Planned {
  readonly label: string;
  readonly keyType: number;
  readonly material: Buffer;
  readonly kcv: string;
}

/** AES-128/192/256 and 3DES keys with known material. */
function plannedKeys(count: number): Planned[] {
  return Array.from({ length: count }, (_, i) => {
    const kind = i % 4;
    const material = randomBytes(kind === 3 ? 24 : [16, 24, 32][kind]!);
    const keyType = kind === 3 ? KEY_TYPE.DES3 : KEY_TYPE.AES;
    return { label: `durable-${i}`, keyType, material, kcv: keyType === KEY_TYPE.DES3 ? des3Kcv(material) : aesKcv(material) };
  });
}

describe("durability under kill -9", () => {
  const KEY_COUNT = 50;

  test(`${KEY_COUNT} acknowledged imports survive SIGKILL with the right KCV, and no material is on disk in plaintext`, async () => {
    const dataDir = freshDataDir();
    // debug level: the most verbose log must still carry no key bytes.
    const { daemon: first, hsm } = await startLoggedIn(closer, dataDir, ["--log-level", "debug"]);
    const wrappingKey = await hsm.createWrappingKey();

    const planned = plannedKeys(KEY_COUNT);
    const acknowledged = new Map<number, Planned>();
    // All imports in flight at once; the daemon is killed in the callback of the last acknowledgement.
    const killed = new Promise<void>((resolveKilled, rejectKilled) => {
      let pending = planned.length;
      for (const p of planned) {
        hsm.importSymKey(p.material, { wrappingKey, keyType: p.keyType, label: p.label }).then(
          (res) => {
            acknowledged.set(res.keyHandle, p);
            pending -= 1;
            if (pending === 0) {
              first.signal("SIGKILL");
              resolveKilled();
            }
          },
          (err: unknown) => {
            first.signal("SIGKILL");
            rejectKilled(err);
          },
        );
      }
    });
    await killed;
    const exit = await first.exited;
    expect(exit.signal).toBe("SIGKILL");
    expect(acknowledged.size).toBe(KEY_COUNT);

    // What kill -9 left on disk: the store and its WAL (with the recent commits) are scanned before any restart.
    const files = filesUnder(dataDir);
    expect(existsSync(join(dataDir, "store.sqlite"))).toBe(true);
    expect(existsSync(join(dataDir, "store.sqlite-wal"))).toBe(true);
    const materials = planned.map((p) => p.material);
    expect(findMaterial(files, materials, dataDir)).toEqual([]);
    // Control: the scan does see the committed rows (labels are stored in plaintext).
    const labels = planned.map((p) => Buffer.from(p.label));
    expect(new Set(findMaterial(files, labels, dataDir).filter((h) => h.form === "raw").map((h) => h.key)).size).toBe(KEY_COUNT);
    expect(findMaterialInText(first.stdout + first.stderr, materials)).toEqual([]);

    const second = await DaemonProcess.start(standardArgs(dataDir));
    expect(second.logs.find((l) => l.message === "local-cloudhsm serving")).toMatchObject({ keys: KEY_COUNT + 1 });
    const again = await devCuClient(closer, second);
    for (const [handle, p] of acknowledged) {
      expect({ label: p.label, kcv: await again.kcv(handle) }).toEqual({ label: p.label, kcv: p.kcv });
    }
    expect(await again.findKey()).toEqual([wrappingKey, ...[...acknowledged.keys()].sort((a, b) => a - b)]);
    for (const p of planned.slice(0, 4)) {
      expect(await again.findKey({ label: p.label })).toEqual([[...acknowledged].find(([, q]) => q === p)![0]]);
    }

    // Handles are never reused after a crash either.
    const newest = await again.createWrappingKey("after-crash");
    expect(newest).toBeGreaterThan(Math.max(...acknowledged.keys()));

    // After a clean stop (checkpointed store) the files still hold no plaintext.
    again.close();
    expect((await second.stop("SIGTERM")).code).toBe(0);
    expect(findMaterial(filesUnder(dataDir), materials, dataDir)).toEqual([]);
  });
});
