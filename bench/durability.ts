// After kill -9 and a restart: is every ImportSymKey the daemon acknowledged still there, with the same KCV?
import { HsmClient } from "../clients";
import { runPool } from "./pool";
import { AcknowledgedKey } from "./workerProtocol";

export interface DurabilityReport {
  readonly acknowledged: number;
  /** Acknowledged keys FindKey lists after the restart. */
  readonly present: number;
  /** Acknowledged keys whose KCV (GetAttribute 371) after the restart differs from their material's. */
  readonly kcvMismatches: number;
  /** A few acknowledged handles that are missing, for the report. */
  readonly missingSample: readonly number[];
  /** Imported keys present though never acknowledged (committed, answer lost in the kill): allowed. */
  readonly presentUnacknowledged: number;
  readonly ok: boolean;
}

export async function verifyDurability(hsm: HsmClient, importLabel: string, acknowledged: readonly AcknowledgedKey[]): Promise<DurabilityReport> {
  const listed = new Set(await hsm.findKey({ label: importLabel }, 10_000));
  const missing = acknowledged.filter((k) => !listed.has(k.handle));
  const present = acknowledged.filter((k) => listed.has(k.handle));
  const mismatches = await runPool(present.length, 64, async (i) => {
    const key = present[i]!;
    return (await hsm.kcv(key.handle)) === key.kcvHex ? 0 : 1;
  });
  const kcvMismatches = mismatches.reduce<number>((a, b) => a + b, 0);
  const ackedHandles = new Set(acknowledged.map((k) => k.handle));
  const presentUnacknowledged = [...listed].filter((h) => !ackedHandles.has(h)).length;
  return {
    acknowledged: acknowledged.length,
    present: present.length,
    kcvMismatches,
    missingSample: missing.slice(0, 10).map((k) => k.handle),
    presentUnacknowledged,
    ok: missing.length === 0 && kcvMismatches === 0,
  };
}
