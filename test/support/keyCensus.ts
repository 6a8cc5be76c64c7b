// "Nothing was created": a refusal must leave the caller's findKey view and the cluster's key count unchanged.
import * as grpc from "@grpc/grpc-js";
import { HsmClient, HsmClientError } from "../../clients";
import { expectRpcError } from "./expectRpcError";
import { TestDaemon } from "./testDaemon";

export interface KeyCensus {
  /** Every handle the observing client sees (all pages). */
  readonly visible: number[];
  /** Keys in the whole cluster, visible to anyone or not. */
  readonly total: number;
}

export async function keyCensus(t: TestDaemon, observer: HsmClient): Promise<KeyCensus> {
  return { visible: await observer.findKey(), total: t.daemon.cluster.keyCount };
}

/**
 * Expects `call` to fail with `code` and `reason`, and the census taken through `observer` before and after to be equal.
 * Returns the error for further checks of its metadata.
 */
export async function expectRefusedCreatingNothing(
  t: TestDaemon,
  observer: HsmClient,
  call: () => Promise<unknown>,
  code: grpc.status,
  reason: string,
): Promise<HsmClientError> {
  const before = await keyCensus(t, observer);
  const error = await expectRpcError(call(), code, reason);
  expect(await keyCensus(t, observer)).toEqual(before);
  return error;
}
