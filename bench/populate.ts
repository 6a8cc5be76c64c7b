// Fills the store before measuring: a wrapping key and N durable AES keys under a few labels, one of them rare.
import { HsmClient, KEY_TYPE } from "../clients";
import { runPool } from "./pool";
import { ScenarioParams } from "./workerProtocol";

export const FIND_LABEL = "bench-find-target";
export const IMPORT_LABEL = "bench-import";
const BULK_LABELS = ["bench-bulk-a", "bench-bulk-b", "bench-bulk-c"];

export interface Population {
  readonly params: ScenarioParams;
  readonly keys: number;
  readonly seconds: number;
  readonly keysPerSecond: number;
}

/**
 * GenSymKey `count` AES-256 token keys at `concurrency`. One key in `findEvery` gets FIND_LABEL (so the
 * FindKey filter selects a small set spread over the whole handle range); the rest share three bulk labels.
 */
export async function populate(hsm: HsmClient, count: number, concurrency: number, findEvery: number): Promise<Population> {
  const wrappingKey = await hsm.createWrappingKey("bench-wrapping-key");
  const started = process.hrtime.bigint();
  const handles = await runPool(count, concurrency, async (i) => {
    const label = i % findEvery === 0 ? FIND_LABEL : BULK_LABELS[i % BULK_LABELS.length]!;
    return { label, handle: (await hsm.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label })).keyHandle };
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const findExpected = handles.filter((h) => h.label === FIND_LABEL).length;
  const kcvHandle = handles[Math.floor(count / 2)]!.handle;
  return {
    params: { kcvHandle, findLabel: FIND_LABEL, findExpected, wrappingKey, importLabel: IMPORT_LABEL },
    keys: count,
    seconds,
    keysPerSecond: count / seconds,
  };
}
