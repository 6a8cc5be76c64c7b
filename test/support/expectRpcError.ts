// Asserts that a call fails with a given gRPC code and ErrorInfo reason (never the message text).
import * as grpc from "@grpc/grpc-js";
import { HsmClientError } from "../../clients";

export async function expectRpcError(promise: Promise<unknown>, code: grpc.status, reason: string): Promise<HsmClientError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(HsmClientError);
  const error = caught as HsmClientError;
  expect({ code: grpc.status[error.code], reason: error.reason }).toEqual({ code: grpc.status[code], reason });
  return error;
}
