// Export (exSymKey), session-to-token (setAttribute -a 1), deleteKey, getKeyInfo and -attest over real gRPC.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { ClusterControlClient, HsmClient, hsmProto, KEY_TYPE } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { unaryWith } from "../support/rawGrpc";
import { TEST_ADMIN_SECRET, TestDaemon } from "../support/testDaemon";
import { useDaemonFixture } from "../support/daemonFixture";

describe("key lifecycle", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let bob: HsmClient;
  let wrappingKey: number;

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ t, alice } = await fixture.start());
    bob = await t.loggedInCu("bob");
    wrappingKey = await alice.createWrappingKey();
  });

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

  test("exSymKey -wk with a key other than -w fails like the import's unwrap: UNWRAP_INTEGRITY_FAILED with KMU code 0x110", async () => {
    const wrongHostKey = randomBytes(32);
    const { keyHandle } = await alice.importSymKey(randomBytes(16), { wrappingKey, label: "wk-mismatch" });
    const exported = await expectRpcError(alice.exportKey(keyHandle, wrappingKey, wrongHostKey), grpc.status.INVALID_ARGUMENT, "UNWRAP_INTEGRITY_FAILED");
    const imported = await expectRpcError(
      alice.importSymKey(randomBytes(16), { wrappingKey, hostWrappingKey: wrongHostKey, label: "wk-mismatch" }),
      grpc.status.INVALID_ARGUMENT,
      "UNWRAP_INTEGRITY_FAILED",
    );
    expect(exported.kmuReturnCode).toBe(0x110);
    expect(exported.metadata.kmu_return_text).toBe(imported.metadata.kmu_return_text);
    expect(exported.metadata.kmu_return_code).toBe(imported.metadata.kmu_return_code);
    expect(exported.metadata.step).toBe("Cfm3UnWrapHostKey");
  });

  // README "What sharing and ids reveal": what sharing a wrapping key gives the user it is shared with.
  test("bob, whom alice shares her wrapping key W with, unwraps and imports anything wrapped under W and wraps his own keys with W", async () => {
    const w = (await alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "shared-w", shareWith: [bob.userId!] })).keyHandle;
    const secret = randomBytes(32);
    const aliceKey = (await alice.importSymKey(secret, { wrappingKey, label: "alice-secret" })).keyHandle;
    const blob = Buffer.from((await alice.wrapKey(aliceKey, w)).wrappedKey);

    // Unwrap to plaintext (Cfm3UnWrapHostKey), and import as a key of his own, whatever alice wrapped under W.
    expect(Buffer.from((await bob.unwrapHostKey(w, blob)).keyMaterial).equals(secret)).toBe(true);
    const request: hsmProto.ImportSymKeyRequest = {
      ...hsmProto.ImportSymKeyRequest.fromPartial({ keyType: KEY_TYPE.AES, label: "bobs-copy" }),
      wrappingKeyHandle: w,
      material: { $case: "hostWrappedKey", value: blob },
    };
    const copy = (await unaryWith(bob.raw.importSymKey.bind(bob.raw), request, bob.metadata())).keyHandle;
    expect((await bob.getKeyInfo(copy)).ownerUserId).toBe(bob.userId);
    expect(await bob.kcv(copy)).toBe(await alice.kcv(aliceKey));

    // Wrap: his own extractable keys, which alice can then unwrap.
    const bobsSecret = randomBytes(16);
    const bobsKey = (await bob.importSymKey(bobsSecret, { wrappingKey: w, label: "bob-secret" })).keyHandle;
    const bobsBlob = Buffer.from((await bob.wrapKey(bobsKey, w)).wrappedKey);
    expect(Buffer.from((await alice.unwrapHostKey(w, bobsBlob)).keyMaterial).equals(bobsSecret)).toBe(true);

    // Not W itself: he can neither export it nor share it on.
    const bobsWrap = await bob.createWrappingKey("bobs-wrap");
    await expectRpcError(bob.wrapKey(w, bobsWrap), grpc.status.PERMISSION_DENIED, "KEY_ACCESS_DENIED");
    await expectRpcError(bob.shareKey(w, [alice.userId!]), grpc.status.PERMISSION_DENIED, "KEY_ACCESS_DENIED");

    // Unsharing ends his use of W; the key he already imported stays his.
    await alice.shareKey(w, [bob.userId!], false);
    await expectRpcError(bob.unwrapHostKey(w, blob), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");
    expect(await bob.kcv(copy)).toBe(await alice.kcv(aliceKey));
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
