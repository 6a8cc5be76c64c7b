// Export (exSymKey), session-to-token (setAttribute -a 1), deleteKey, getKeyInfo and -attest over real gRPC.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ClusterControlClient, HsmClient, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { startTestDaemon, TEST_ADMIN_SECRET, TestDaemon } from "../support/testDaemon";

describe("key lifecycle", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let bob: HsmClient;
  let wrappingKey: number;

  beforeAll(async () => {
    t = await startTestDaemon();
    alice = await t.loggedInCu("alice");
    bob = await t.loggedInCu("bob");
    wrappingKey = await alice.createWrappingKey();
  });
  afterAll(() => t.close());

  test("exSymKey returns the imported plaintext, through the HSM or unwrapped on the host with -wk", async () => {
    const material = randomBytes(32);
    const wkPlain = randomBytes(32);
    const w = (await alice.importSymKey(wkPlain, { wrappingKey, label: "file-key" })).keyHandle;
    const { keyHandle } = await alice.importSymKey(material, { wrappingKey, label: "to-export" });
    const viaHsm = await alice.exportKey(keyHandle, w);
    expect(viaHsm.steps).toEqual(["Cfm3WrapKey", "Cfm3UnWrapHostKey"]);
    expect(viaHsm.material.equals(material)).toBe(true);
    const viaHost = await alice.exportKey(keyHandle, w, wkPlain);
    expect(viaHost.steps).toEqual(["Cfm3WrapKey"]);
    expect(viaHost.material.equals(material)).toBe(true);
  });

  test("only the owner exports, and never a non-extractable key", async () => {
    const shared = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "shared", shareWith: [bob.userId!] });
    const bobWrap = await bob.createWrappingKey();
    await expectRpcError(bob.wrapKey(shared.keyHandle, bobWrap), grpc.status.PERMISSION_DENIED, "KEY_ACCESS_DENIED");
    const nex = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "nex", nonExtractable: true });
    await expectRpcError(alice.wrapKey(nex.keyHandle, wrappingKey), grpc.status.FAILED_PRECONDITION, "KEY_NOT_EXTRACTABLE");
  });

  test("setAttribute -a 1 makes a session key a token key that survives logout and replicates", async () => {
    const s = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "sess", session: true });
    expect(s.nodeStatuses).toHaveLength(1);
    const changed = await alice.setAttribute(s.keyHandle, 1, 1);
    const token = await alice.getAttribute(s.keyHandle, 1);
    expect(token.attributes[0]?.text).toBe("0x00000001");
    await alice.waitForSync({ keyHandle: s.keyHandle, revision: changed.revision }, "all");
    const info = await alice.getKeyInfo(s.keyHandle);
    expect(info.nodeStatuses.map((n) => n.holdsKey)).toEqual([true, true, true]);
    await expectRpcError(alice.setAttribute(s.keyHandle, 3, 1), grpc.status.INVALID_ARGUMENT, "ATTRIBUTE_READ_ONLY");
  });

  test("deleteKey: owner only; the key is gone everywhere", async () => {
    const k = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "doomed", shareWith: [bob.userId!] });
    await expectRpcError(bob.deleteKey(k.keyHandle), grpc.status.PERMISSION_DENIED, "KEY_ACCESS_DENIED");
    await alice.deleteKey(k.keyHandle);
    await expectRpcError(alice.getAttribute(k.keyHandle, 371), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");
    await expectRpcError(alice.deleteKey(k.keyHandle), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");
  });

  test("getKeyInfo reports owner and sharing", async () => {
    const k = await alice.genSymKey({ keyType: KEY_TYPE.DES3, keySize: 24, label: "info", shareWith: [bob.userId!] });
    const info = await bob.getKeyInfo(k.keyHandle);
    expect({ owner: info.ownerUserId, shared: info.sharedWithUserIds }).toEqual({ owner: alice.userId, shared: [bob.userId] });
  });

  test("-attest passes on genuine nodes and fails when a node's firmware is tampered", async () => {
    const good = await alice.importSymKey(randomBytes(24), { wrappingKey, keyType: KEY_TYPE.DES3, label: "attested", attest: true });
    expect(good.attestation).toEqual({ pass: true, problems: [] });
    expect(good.attestations).toHaveLength(3);
    const control = new ClusterControlClient(t.address, TEST_ADMIN_SECRET);
    try {
      await control.setFirmwareTampered(1, true);
      const bad = await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "attested-bad", attest: true });
      expect(bad.attestation?.pass).toBe(false);
      expect(bad.attestation?.problems).toEqual(["node 1: the firmware measurement is not the genuine one"]);
      await control.setFirmwareTampered(1, false);
    } finally {
      control.close();
    }
  });
});
