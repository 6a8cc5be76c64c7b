// genSymKey through HsmCluster: allowed types and sizes, and the shared checks on new-key options.
import { KeyType } from "../../src/hsm/keyTypes";
import { ClusterHarness, CuLogin, expectHsmError, genParams } from "./support/harness";

describe("genSymKey", () => {
  let h: ClusterHarness;
  let alice: CuLogin;
  beforeEach(async () => {
    h = new ClusterHarness({ nodeCount: 2 });
    alice = await h.cu("alice");
  });
  afterEach(() => h.dispose());

  test.each([
    [KeyType.AES, 16],
    [KeyType.AES, 24],
    [KeyType.AES, 32],
    [KeyType.DES3, 24],
    [KeyType.GENERIC_SECRET, 1],
    [KeyType.GENERIC_SECRET, 3583],
  ])("type %i, %i bytes: one Cfm3GenerateSymmetricKey step, one line per node", async (keyType, keySize) => {
    const result = await h.cluster.genSymKey(alice.session, genParams({ keyType, keySize }));
    expect(result.steps).toEqual([{ name: "Cfm3GenerateSymmetricKey", returnCode: 0 }]);
    expect(result.nodes.map((n) => [n.nodeId, n.errState])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(h.cluster.getAttribute(alice.session, result.handle, 353)[0]!.data).toEqual({ kind: "uint", value: keySize });
  });

  test("two generated keys differ (different KCVs)", async () => {
    const a = (await h.cluster.genSymKey(alice.session, genParams())).handle;
    const b = (await h.cluster.genSymKey(alice.session, genParams())).handle;
    expect(h.cluster.getAttribute(alice.session, a, 371)[0]!.text).not.toBe(h.cluster.getAttribute(alice.session, b, 371)[0]!.text);
  });

  test.each([
    [KeyType.AES, 15],
    [KeyType.AES, 64],
    [KeyType.DES3, 16],
    [KeyType.DES3, 8],
    [KeyType.GENERIC_SECRET, 0],
    [KeyType.GENERIC_SECRET, 3584],
  ])("type %i, %i bytes: KEY_LENGTH_INVALID, nothing created", async (keyType, keySize) => {
    await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ keyType, keySize })), "KEY_LENGTH_INVALID");
    expect(h.cluster.keyCount).toBe(0);
  });

  test.each([
    [18, "KEY_TYPE_FIPS_DISALLOWED"],
    [0, "KEY_TYPE_NOT_ALLOWED"],
    [3, "KEY_TYPE_NOT_ALLOWED"],
  ] as const)("type %i: %s", async (keyType, reason) => {
    await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ keyType, keySize: 16 })), reason);
    expect(h.cluster.keyCount).toBe(0);
  });

  test("the shared option checks apply: label, id, min_srv, timeout, sharing", async () => {
    await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ label: "" })), "LABEL_INVALID");
    await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ id: "x".repeat(129) })), "ID_INVALID");
    await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ minSrv: 3 })), "MIN_SRV_UNMET");
    await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ timeoutSeconds: 1 })), "TIMEOUT_WITHOUT_MIN_SRV");
    await expectHsmError(() => h.cluster.genSymKey(alice.session, genParams({ shareWith: [alice.userId] })), "SHARE_WITH_SELF");
    expect(h.cluster.keyCount).toBe(0);
  });

  test("a session key is placed on its session's one node", async () => {
    const result = await h.cluster.genSymKey(alice.session, genParams({ session: true, minSrv: 1 }));
    expect(result.nodes).toHaveLength(1);
  });
});
