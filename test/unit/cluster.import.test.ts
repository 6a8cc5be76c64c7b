// imSymKey through HsmCluster: the steps, host-side wrapping (-wk), and every refusal, each of which creates nothing.
import { randomBytes } from "node:crypto";
import { ImportSymKeyParams } from "../../src/hsm/cluster";
import { keyCheckValue } from "../../src/hsm/crypto/kcv";
import { aesKeyWrapPkcs5 } from "../../common/keyWrap";
import { HsmError, Reason } from "../../src/hsm/errors";
import { KeyType } from "../../src/hsm/keyTypes";
import { ClusterHarness, CuLogin, expectHsmError, genParams, importParams } from "./support/harness";

function kcvText(keyType: KeyType, material: Buffer): string {
  return `0x${keyCheckValue(keyType, material)!.toString("hex")}`;
}

describe("importSymKey", () => {
  let h: ClusterHarness;
  let alice: CuLogin;
  let bob: CuLogin;
  /** An AES wrapping key alice made with genSymKey. */
  let wrappingKey: number;

  beforeEach(async () => {
    h = new ClusterHarness({ nodeCount: 3 });
    alice = await h.cu("alice");
    bob = await h.cu("bob");
    wrappingKey = (await h.cluster.genSymKey(alice.session, genParams({ label: "wrapping", keySize: 32 }))).handle;
  });
  afterEach(() => h.dispose());

  function kcvOf(handle: number, login = alice): string {
    return h.cluster.getAttribute(login.session, handle, 371)[0]!.text;
  }

  /** A wrapping key whose material the test knows: imported from known bytes through `wrappingKey`. */
  async function knownWrappingKey(material = randomBytes(32)): Promise<{ handle: number; material: Buffer }> {
    const { handle } = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, material, { label: "known-kek" }));
    return { handle, material };
  }

  describe("success", () => {
    test.each([
      [KeyType.AES, 16],
      [KeyType.AES, 24],
      [KeyType.AES, 32],
      [KeyType.DES3, 24],
    ])("type %i, %i bytes: the new key's KCV is the plaintext's KCV", async (keyType, size) => {
      const material = randomBytes(size);
      const { handle } = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, material, { keyType }));
      expect(kcvOf(handle)).toBe(kcvText(keyType, material));
      expect(h.cluster.getAttribute(alice.session, handle, 353)[0]!.text).toBe(`0x${size.toString(16).padStart(8, "0")}`);
    });

    test("reports the three documented steps, each with return code 0, and one line per node", async () => {
      const result = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(32)));
      expect(result.steps).toEqual([
        { name: "Cfm3WrapHostKey", returnCode: 0 },
        { name: "Cfm3CreateUnwrapTemplate", returnCode: 0 },
        { name: "Cfm3UnWrapKey", returnCode: 0 },
      ]);
      expect(result.nodes.map((n) => [n.nodeId, n.errState])).toEqual([
        [0, 0],
        [1, 0],
        [2, 0],
      ]);
    });

    test("creates exactly one key, visible to its owner, and advances the revision", async () => {
      const before = { count: h.cluster.keyCount, revision: h.cluster.events.currentRevision };
      const result = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(16), { label: "new" }));
      expect(h.cluster.keyCount).toBe(before.count + 1);
      expect(h.cluster.events.currentRevision).toBeGreaterThan(before.revision);
      expect(result.revision).toBeGreaterThan(before.revision);
      expect(h.cluster.findKey(alice.session, { label: "new" })).toEqual([result.handle]);
      expect(h.cluster.findKey(bob.session, {})).toEqual([]);
    });

    test("a session key is placed on one node", async () => {
      const result = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(16), { session: true }));
      expect(result.nodes).toHaveLength(1);
    });

    test("min_srv equal to the node count, with a timeout, is accepted", async () => {
      const result = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(16), { minSrv: 3, timeoutSeconds: 5 }));
      expect(result.nodes).toHaveLength(3);
    });

    test("the same plaintext imported twice has the same KCV under different handles", async () => {
      const material = randomBytes(32);
      const a = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, material));
      const b = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, material));
      expect(a.handle).not.toBe(b.handle);
      expect(kcvOf(a.handle)).toBe(kcvOf(b.handle));
    });

    test("a key wrapped on the host (-wk) with the -w key's material imports with the plaintext's KCV", async () => {
      const kek = await knownWrappingKey();
      const material = randomBytes(32);
      const result = (await h.cluster.importSymKey(
        alice.session,
        importParams(kek.handle, Buffer.alloc(0), { material: { kind: "hostWrapped", bytes: aesKeyWrapPkcs5(kek.material, material) } }),
      ));
      // No Cfm3WrapHostKey: the host did the wrapping.
      expect(result.steps.map((s) => s.name)).toEqual(["Cfm3CreateUnwrapTemplate", "Cfm3UnWrapKey"]);
      expect(result.steps.every((s) => s.returnCode === 0)).toBe(true);
      expect(kcvOf(result.handle)).toBe(kcvText(KeyType.AES, material));
    });

    test("host-wrapped 3DES and AES-128 keys under a 16-byte known wrapping key", async () => {
      const kek = await knownWrappingKey(randomBytes(16));
      for (const [keyType, size] of [
        [KeyType.DES3, 24],
        [KeyType.AES, 16],
      ] as const) {
        const material = randomBytes(size);
        const { handle } = (await h.cluster.importSymKey(
          alice.session,
          importParams(kek.handle, Buffer.alloc(0), { keyType, material: { kind: "hostWrapped", bytes: aesKeyWrapPkcs5(kek.material, material) } }),
        ));
        expect(kcvOf(handle)).toBe(kcvText(keyType, material));
      }
    });

    test("a key shared at import is visible to the user it is shared with", async () => {
      const material = randomBytes(24);
      const { handle } = await h.cluster.importSymKey(alice.session, importParams(wrappingKey, material, { shareWith: [bob.userId] }));
      expect(h.cluster.findKey(bob.session, {})).toEqual([handle]);
      expect(kcvOf(handle, bob)).toBe(kcvText(KeyType.AES, material));
    });

    test("a wrapping key shared with the caller can be used", async () => {
      const shared = (await h.cluster.genSymKey(alice.session, genParams({ shareWith: [bob.userId] }))).handle;
      const material = randomBytes(16);
      const { handle } = await h.cluster.importSymKey(bob.session, importParams(shared, material));
      expect(kcvOf(handle, bob)).toBe(kcvText(KeyType.AES, material));
    });
  });

  describe("refusals create nothing", () => {
    /** Runs a refused import and checks that no key, event or findKey result appeared. */
    async function refused(reason: Reason, params: ImportSymKeyParams, login: CuLogin = alice): Promise<HsmError> {
      const before = {
        count: h.cluster.keyCount,
        revision: h.cluster.events.currentRevision,
        alice: h.cluster.findKey(alice.session, {}),
        bob: h.cluster.findKey(bob.session, {}),
      };
      const err = await expectHsmError(() => h.cluster.importSymKey(login.session, params), reason);
      expect(h.cluster.keyCount).toBe(before.count);
      expect(h.cluster.events.currentRevision).toBe(before.revision);
      expect(h.cluster.findKey(alice.session, {})).toEqual(before.alice);
      expect(h.cluster.findKey(bob.session, {})).toEqual(before.bob);
      return err;
    }

    test("a -wk key that differs from the -w key fails UNWRAP_INTEGRITY_FAILED", async () => {
      const kek = await knownWrappingKey();
      const otherKek = randomBytes(32);
      const err = await refused(
        "UNWRAP_INTEGRITY_FAILED",
        importParams(kek.handle, Buffer.alloc(0), { material: { kind: "hostWrapped", bytes: aesKeyWrapPkcs5(otherKek, randomBytes(32)) } }),
      );
      expect(err.details.step).toBe("Cfm3UnWrapKey");
    });

    test("a host-wrapped blob for another -w key (both on the HSM) fails UNWRAP_INTEGRITY_FAILED", async () => {
      const kekA = await knownWrappingKey();
      const kekB = await knownWrappingKey();
      await refused(
        "UNWRAP_INTEGRITY_FAILED",
        importParams(kekB.handle, Buffer.alloc(0), { material: { kind: "hostWrapped", bytes: aesKeyWrapPkcs5(kekA.material, randomBytes(16)) } }),
      );
    });

    test("a tampered or malformed host-wrapped blob fails UNWRAP_INTEGRITY_FAILED", async () => {
      const kek = await knownWrappingKey();
      const blob = aesKeyWrapPkcs5(kek.material, randomBytes(32));
      blob[10] = (blob[10] ?? 0) ^ 0x40;
      await refused("UNWRAP_INTEGRITY_FAILED", importParams(kek.handle, Buffer.alloc(0), { material: { kind: "hostWrapped", bytes: blob } }));
      for (const bytes of [Buffer.alloc(0), randomBytes(5), randomBytes(40)]) {
        await refused("UNWRAP_INTEGRITY_FAILED", importParams(kek.handle, Buffer.alloc(0), { material: { kind: "hostWrapped", bytes } }));
      }
    });

    test("a host-wrapped key of the wrong length for its type fails KEY_LENGTH_INVALID after unwrapping", async () => {
      const kek = await knownWrappingKey();
      for (const [keyType, size] of [
        [KeyType.AES, 20],
        [KeyType.DES3, 16],
      ] as const) {
        await refused(
          "KEY_LENGTH_INVALID",
          importParams(kek.handle, Buffer.alloc(0), { keyType, material: { kind: "hostWrapped", bytes: aesKeyWrapPkcs5(kek.material, randomBytes(size)) } }),
        );
      }
    });

    test.each([
      [KeyType.AES, 15],
      [KeyType.AES, 17],
      [KeyType.AES, 33],
      [KeyType.AES, 0],
      [KeyType.DES3, 16],
      [KeyType.DES3, 32],
    ])("type %i with %i bytes: KEY_LENGTH_INVALID", async (keyType, size) => {
      await refused("KEY_LENGTH_INVALID", importParams(wrappingKey, randomBytes(size), { keyType }));
    });

    test.each([
      [16, "KEY_TYPE_NOT_ALLOWED"],
      [18, "KEY_TYPE_FIPS_DISALLOWED"],
      [0, "KEY_TYPE_NOT_ALLOWED"],
      [3, "KEY_TYPE_NOT_ALLOWED"],
      [99, "KEY_TYPE_NOT_ALLOWED"],
    ] as const)("key type %i: %s", async (keyType, reason) => {
      const err = await refused(reason, importParams(wrappingKey, randomBytes(16), { keyType }));
      expect(err.details.key_type).toBe(keyType);
    });

    test.each([
      ["empty", ""],
      ["128 characters", "a".repeat(128)],
      ["U+FFFD", "bad\uFFFDlabel"],
      ["a newline", "two\nlines"],
      ["a tab", "tab\there"],
      ["NUL", "nul\u0000"],
      ["DEL", "del\u007f"],
      ["a lone surrogate", "x\uD800y"],
    ])("label with %s: LABEL_INVALID", async (_name, label) => {
      await refused("LABEL_INVALID", importParams(wrappingKey, randomBytes(16), { label }));
    });

    test("a 127-character label (and 127 astral characters) is accepted", async () => {
      await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(16), { label: "l".repeat(127) }));
      await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(16), { label: "\u{1F511}".repeat(127) }));
    });

    test("ids over 128 bytes: ID_INVALID; 128 bytes is accepted", async () => {
      await refused("ID_INVALID", importParams(wrappingKey, randomBytes(16), { id: "i".repeat(129) }));
      await refused("ID_INVALID", importParams(wrappingKey, randomBytes(16), { id: "\u20ac".repeat(43) })); // 129 UTF-8 bytes
      await refused("ID_INVALID", importParams(wrappingKey, randomBytes(16), { id: "ctl\u0001" }));
      await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(16), { id: "i".repeat(128) }));
    });

    test("an unknown wrapping handle: KEY_NOT_FOUND", async () => {
      const err = await refused("KEY_NOT_FOUND", importParams(987_654, randomBytes(16)));
      expect(err.details.key_handle).toBe(987_654);
    });

    test("another user's wrapping key answers exactly like a missing one", async () => {
      const bobsKey = (await h.cluster.genSymKey(bob.session, genParams({ label: "bobs" }))).handle;
      const missing = bobsKey + 100_000;
      const hidden = await refused("KEY_NOT_FOUND", importParams(bobsKey, randomBytes(16)));
      const absent = await refused("KEY_NOT_FOUND", importParams(missing, randomBytes(16)));
      expect(Object.keys(hidden.details).sort()).toEqual(Object.keys(absent.details).sort());
      expect(hidden.details).toEqual({ key_handle: bobsKey });
      expect(absent.details).toEqual({ key_handle: missing });
      expect(hidden.returnCode).toEqual(absent.returnCode);
      expect(hidden.message).toBe(absent.message);
    });

    test("a session wrapping key from another login session of the same user answers like a missing one", async () => {
      const sessionKek = (await h.cluster.genSymKey(alice.session, genParams({ session: true }))).handle;
      const second = await h.cluster.login(alice.session.role, "alice", "password1");
      const err = await refused("KEY_NOT_FOUND", importParams(sessionKek, randomBytes(16)), { ...alice, session: second.session, token: second.token });
      expect(err.details).toEqual({ key_handle: sessionKek });
    });

    test("a 3DES wrapping key: WRAPPING_KEY_NOT_AES", async () => {
      const des = (await h.cluster.genSymKey(alice.session, genParams({ keyType: KeyType.DES3, keySize: 24 }))).handle;
      await refused("WRAPPING_KEY_NOT_AES", importParams(des, randomBytes(16)));
    });

    test("an imported 3DES key (WRAP=0) as wrapping key: WRAPPING_KEY_NOT_AES", async () => {
      const des = (await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(24), { keyType: KeyType.DES3 }))).handle;
      await refused("WRAPPING_KEY_NOT_AES", importParams(des, randomBytes(16)));
    });

    test("a generic secret wrapping key: WRAPPING_KEY_NOT_AES", async () => {
      const generic = (await h.cluster.genSymKey(alice.session, genParams({ keyType: KeyType.GENERIC_SECRET, keySize: 32 }))).handle;
      await refused("WRAPPING_KEY_NOT_AES", importParams(generic, randomBytes(16)));
    });

    test("wrapping handle 4: INTERNAL_KEY_UNSUPPORTED", async () => {
      const err = await refused("INTERNAL_KEY_UNSUPPORTED", importParams(4, randomBytes(16)));
      expect(err.returnCode.code).toBe(0xc6);
    });

    test("a duplicate id of one's own key: ID_ALREADY_EXISTS", async () => {
      await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(16), { id: "dup" }));
      await refused("ID_ALREADY_EXISTS", importParams(wrappingKey, randomBytes(16), { id: "dup" }));
    });

    test("a duplicate id of another user's key: ID_ALREADY_EXISTS, revealing neither its handle nor its owner", async () => {
      const bobsKey = (await h.cluster.genSymKey(bob.session, genParams({ id: "taken", label: "bobs" }))).handle;
      const err = await refused("ID_ALREADY_EXISTS", importParams(wrappingKey, randomBytes(16), { id: "taken" }));
      expect(err.details).toEqual({ id: "taken" });
      const said = `${err.message} ${JSON.stringify(err.details)}`;
      expect(said).not.toContain(String(bobsKey));
      expect(said).not.toMatch(/bob/i);
      expect(Object.values(err.details)).not.toContain(bob.userId);
    });

    test("an empty id is not unique: many keys may have it", async () => {
      await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(16), { id: "" }));
      await h.cluster.importSymKey(alice.session, importParams(wrappingKey, randomBytes(16), { id: "" }));
    });

    test("sharing with oneself: SHARE_WITH_SELF", async () => {
      await refused("SHARE_WITH_SELF", importParams(wrappingKey, randomBytes(16), { shareWith: [alice.userId] }));
    });

    test("sharing with an unknown user: SHARE_USER_UNKNOWN", async () => {
      await refused("SHARE_USER_UNKNOWN", importParams(wrappingKey, randomBytes(16), { shareWith: [bob.userId, 4242] }));
    });

    test("sharing with a crypto officer: SHARE_USER_UNKNOWN", async () => {
      const officer = await h.co("officer");
      await refused("SHARE_USER_UNKNOWN", importParams(wrappingKey, randomBytes(16), { shareWith: [officer.userId] }));
    });

    test("a user listed twice in the share list: REQUEST_INVALID", async () => {
      await refused("REQUEST_INVALID", importParams(wrappingKey, randomBytes(16), { shareWith: [bob.userId, bob.userId] }));
    });

    test("-timeout without -min_srv: TIMEOUT_WITHOUT_MIN_SRV", async () => {
      await refused("TIMEOUT_WITHOUT_MIN_SRV", importParams(wrappingKey, randomBytes(16), { timeoutSeconds: 10 }));
    });

    test("-min_srv 0 (and negative): MIN_SRV_INVALID", async () => {
      await refused("MIN_SRV_INVALID", importParams(wrappingKey, randomBytes(16), { minSrv: 0 }));
      await refused("MIN_SRV_INVALID", importParams(wrappingKey, randomBytes(16), { minSrv: -1, timeoutSeconds: 1 }));
    });

    test("-min_srv greater than the node count: MIN_SRV_UNMET", async () => {
      const err = await refused("MIN_SRV_UNMET", importParams(wrappingKey, randomBytes(16), { minSrv: 4 }));
      expect(err.details).toMatchObject({ required: 4, node_count: 3 });
    });

    test("no refusal carries the key material in its message or details", async () => {
      const kek = await knownWrappingKey();
      const material = randomBytes(20);
      const errors = [
        await refused("KEY_LENGTH_INVALID", importParams(wrappingKey, material)),
        await refused("KEY_LENGTH_INVALID", importParams(kek.handle, Buffer.alloc(0), { material: { kind: "hostWrapped", bytes: aesKeyWrapPkcs5(kek.material, material) } })),
        await refused("UNWRAP_INTEGRITY_FAILED", importParams(kek.handle, Buffer.alloc(0), { material: { kind: "hostWrapped", bytes: aesKeyWrapPkcs5(randomBytes(32), material) } })),
        await refused("LABEL_INVALID", importParams(wrappingKey, material, { label: "" })),
      ];
      for (const err of errors) {
        const said = `${err.message} ${JSON.stringify(err.details)} ${err.stack ?? ""}`;
        for (const secret of [material, kek.material]) {
          expect(said).not.toContain(secret.toString("hex"));
          expect(said).not.toContain(secret.toString("base64"));
        }
      }
    });

    test("a crypto officer: INVALID_USER_TYPE", async () => {
      const officer = await h.co("officer");
      await refused("INVALID_USER_TYPE", importParams(wrappingKey, randomBytes(16)), officer);
    });
  });
});
