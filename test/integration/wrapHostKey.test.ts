// WrapHostKey over real gRPC: host bytes wrapped under an HSM AES key in mechanism 4's form, readable by
// UnwrapHostKey and by the host with the same key; the length limits and the wrapping key's rules.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { HsmClient, KEY_TYPE } from "../../clients";
import { aesKeyUnwrapPkcs5 } from "../../common/keyWrap";
import { expectRpcError } from "../support/expectRpcError";
import { useDaemonFixture } from "../support/daemonFixture";
import { TestDaemon } from "../support/testDaemon";

let t: TestDaemon;
let alice: HsmClient;
let wrappingKey: number;
const fixture = useDaemonFixture();

beforeEach(async () => {
  ({ t, alice } = await fixture.start());
  wrappingKey = await alice.createWrappingKey("host-wrap");
});

test("what WrapHostKey wraps, UnwrapHostKey gives back; the step is Cfm3WrapHostKey", async () => {
  for (const length of [8, 24, 4080]) {
    const data = randomBytes(length);
    const wrapped = await alice.wrapHostKey(wrappingKey, data);
    expect(wrapped.steps.map((s) => [s.name, s.returnCode])).toEqual([["Cfm3WrapHostKey", 0]]);
    // PKCS#5 padding adds 1 to 8 bytes, the wrap 8 more (24 bytes -> 40, as in the aesWrapUnwrap example).
    expect(wrapped.wrappedKey.length).toBe((Math.floor(length / 8) + 1) * 8 + 8);
    expect(Buffer.from((await alice.unwrapHostKey(wrappingKey, Buffer.from(wrapped.wrappedKey))).keyMaterial)).toEqual(data);
  }
});

test("the host unwraps it with the plaintext of the same AES key (mechanism 4's form)", async () => {
  const kek = randomBytes(32);
  const importer = await alice.createWrappingKey("importer");
  const known = (await alice.importSymKey(kek, { wrappingKey: importer, label: "known-kek", keyType: KEY_TYPE.AES })).keyHandle;
  const data = randomBytes(100);
  const wrapped = await alice.wrapHostKey(known, data);
  expect(aesKeyUnwrapPkcs5(kek, Buffer.from(wrapped.wrappedKey))).toEqual(data);
});

test("fewer than 8 or more than 4080 bytes: INVALID_ARGUMENT DATA_LENGTH_INVALID", async () => {
  for (const length of [0, 7, 4081, 4096]) {
    await expectRpcError(alice.wrapHostKey(wrappingKey, randomBytes(length)), grpc.status.INVALID_ARGUMENT, "DATA_LENGTH_INVALID");
  }
});

test("the wrapping key must exist for the caller, be AES, and not be handle 4", async () => {
  const bob = await t.loggedInCu("bob");
  const des3 = (await alice.genSymKey({ keyType: KEY_TYPE.DES3, keySize: 24, label: "des3" })).keyHandle;
  const data = randomBytes(16);
  const missing = await expectRpcError(bob.wrapHostKey(wrappingKey, data), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");
  expect(missing.kmuReturnCode).toBe(0xa8);
  await expectRpcError(alice.wrapHostKey(des3, data), grpc.status.FAILED_PRECONDITION, "WRAPPING_KEY_NOT_AES");
  await expectRpcError(alice.wrapHostKey(4, data), grpc.status.PERMISSION_DENIED, "INTERNAL_KEY_UNSUPPORTED");
});
