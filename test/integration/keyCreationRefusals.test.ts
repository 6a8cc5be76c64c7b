// ImportSymKey and GenSymKey refusals over real gRPC: code, ErrorInfo reason and KMU code, and nothing created.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { aesKeyWrapPkcs5, HsmClient, hsmProto, ImportOptions, KEY_TYPE, UserType } from "../../clients";
import { expectRefusedCreatingNothing } from "../support/keyCensus";
import { patchBytes, rawUnary, unaryWith } from "../support/rawGrpc";
import { TEST_PASSWORD, TestDaemon } from "../support/testDaemon";
import { genSymKeyRequest, importSymKeyRequest } from "../support/rawRequests";
import { useDaemonFixture } from "../support/daemonFixture";

const S = grpc.status;
const IMPORT_PATH = "/localcloudhsm.v1.HsmService/ImportSymKey";
const GEN_PATH = "/localcloudhsm.v1.HsmService/GenSymKey";

describe("key creation refusals", () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let bob: HsmClient;
  let bobId: number;
  let officerId: number;
  /** alice's AES wrapping key, generated in the HSM. */
  let wrappingKey: number;
  /** alice's AES wrapping key imported from known bytes, so the test can wrap on the host (-wk). */
  let knownWrappingKey: number;
  const knownWrappingKeyBytes = randomBytes(32);
  let des3Key: number;
  let genericSecret: number;
  let bobsWrappingKey: number;

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    ({ t, alice } = await fixture.start());
    bob = await t.loggedInCu("bob");
    bobId = bob.userId!;
    officerId = (await t.admin.createUser("officer", TEST_PASSWORD, UserType.USER_TYPE_CO)).user!.userId;
    wrappingKey = await alice.createWrappingKey();
    knownWrappingKey = (await alice.importSymKey(knownWrappingKeyBytes, { wrappingKey, label: "known-wrapping-key" })).keyHandle;
    des3Key = (await alice.genSymKey({ keyType: KEY_TYPE.DES3, keySize: 24, label: "des3" })).keyHandle;
    genericSecret = (await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 64, label: "generic" })).keyHandle;
    bobsWrappingKey = await bob.createWrappingKey("bobs-wrapping-key");
  });

  const importAes = (overrides: Partial<ImportOptions> = {}, material: Buffer = randomBytes(32)) =>
    alice.importSymKey(material, { wrappingKey, label: "refused", ...overrides });
  const genAes = (overrides: Partial<Parameters<HsmClient["genSymKey"]>[0]> = {}) =>
    alice.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "refused", ...overrides });
  const refused = (call: () => Promise<unknown>, code: grpc.status, reason: string) => expectRefusedCreatingNothing(t, alice, call, code, reason);

  describe("key length for the type", () => {
    test.each([
      ["AES, 15 bytes", KEY_TYPE.AES, 15],
      ["AES, 33 bytes", KEY_TYPE.AES, 33],
      ["AES, 0 bytes", KEY_TYPE.AES, 0],
      ["3DES, 16 bytes", KEY_TYPE.DES3, 16],
      ["3DES, 32 bytes", KEY_TYPE.DES3, 32],
    ])("ImportSymKey %s -> KEY_LENGTH_INVALID (0x62)", async (_name, keyType, length) => {
      const err = await refused(() => importAes({ keyType }, randomBytes(length)), S.INVALID_ARGUMENT, "KEY_LENGTH_INVALID");
      expect(err.metadata.kmu_return_code).toBe("0x62");
    });

    test("ImportSymKey -wk whose unwrapped key has the wrong length -> KEY_LENGTH_INVALID", async () => {
      await refused(
        () => importAes({ wrappingKey: knownWrappingKey, hostWrappingKey: knownWrappingKeyBytes }, randomBytes(15)),
        S.INVALID_ARGUMENT,
        "KEY_LENGTH_INVALID",
      );
    });

    test.each([
      ["AES, 15 bytes", KEY_TYPE.AES, 15],
      ["AES, 33 bytes", KEY_TYPE.AES, 33],
      ["3DES, 16 bytes", KEY_TYPE.DES3, 16],
      ["generic secret, 0 bytes", KEY_TYPE.GENERIC_SECRET, 0],
      ["generic secret, 3584 bytes", KEY_TYPE.GENERIC_SECRET, 3584],
    ])("GenSymKey %s -> KEY_LENGTH_INVALID (0x62)", async (_name, keyType, keySize) => {
      const err = await refused(() => genAes({ keyType, keySize }), S.INVALID_ARGUMENT, "KEY_LENGTH_INVALID");
      expect(err.metadata.kmu_return_code).toBe("0x62");
    });

    test("the boundaries are accepted: AES 16/24/32, 3DES 24, generic secret 1 and 3583", async () => {
      for (const length of [16, 24, 32]) await expect(importAes({}, randomBytes(length))).resolves.toBeDefined();
      await expect(importAes({ keyType: KEY_TYPE.DES3 }, randomBytes(24))).resolves.toBeDefined();
      for (const keySize of [1, 3583]) await expect(genAes({ keyType: KEY_TYPE.GENERIC_SECRET, keySize })).resolves.toBeDefined();
    });
  });

  describe("key type", () => {
    test.each([
      [KEY_TYPE.GENERIC_SECRET, "KEY_TYPE_NOT_ALLOWED", "0x63"],
      [18, "KEY_TYPE_FIPS_DISALLOWED", "0xb3"],
      [0, "KEY_TYPE_NOT_ALLOWED", "0x63"],
      [99, "KEY_TYPE_NOT_ALLOWED", "0x63"],
    ])("ImportSymKey -t %d -> %s", async (keyType, reason, kmu) => {
      const err = await refused(() => importAes({ keyType }), S.INVALID_ARGUMENT, reason);
      expect(err.metadata.kmu_return_code).toBe(kmu);
    });

    test.each([
      [99, "KEY_TYPE_NOT_ALLOWED", "0x63"],
      [0, "KEY_TYPE_NOT_ALLOWED", "0x63"],
      [18, "KEY_TYPE_FIPS_DISALLOWED", "0xb3"],
    ])("GenSymKey -t %d -> %s", async (keyType, reason, kmu) => {
      const err = await refused(() => genAes({ keyType, keySize: 16 }), S.INVALID_ARGUMENT, reason);
      expect(err.metadata.kmu_return_code).toBe(kmu);
    });
  });

  describe("labels", () => {
    const badLabels: [string, string][] = [
      ["empty", ""],
      ["128 characters", "a".repeat(128)],
      ["128 two-byte characters", "é".repeat(128)],
      ["NUL", "key\u0000name"],
      ["tab", "key\tname"],
      ["newline", "key\nname"],
      ["carriage return", "key\r"],
      ["ESC sequence", "\u001b[31mred"],
      ["DEL", "key\u007f"],
    ];

    test.each(badLabels)("ImportSymKey label %s -> LABEL_INVALID", async (_name, label) => {
      const err = await refused(() => importAes({ label }), S.INVALID_ARGUMENT, "LABEL_INVALID");
      expect(err.metadata.kmu_return_code).toBe("0x07");
    });

    test.each(badLabels)("GenSymKey label %s -> LABEL_INVALID", async (_name, label) => {
      await refused(() => genAes({ label }), S.INVALID_ARGUMENT, "LABEL_INVALID");
    });

    // Unicode's control characters (category Cc) include the C1 range U+0080-U+009F; U+009B is the 8-bit CSI
    // that starts a terminal escape sequence when kmu prints the label.
    test.each([
      ["NEL U+0085", "key\u0085"],
      ["CSI U+009B", "\u009b31mred"],
    ])("label with C1 control character %s -> LABEL_INVALID", async (_name, label) => {
      await refused(() => importAes({ label }), S.INVALID_ARGUMENT, "LABEL_INVALID");
      await refused(() => genAes({ label }), S.INVALID_ARGUMENT, "LABEL_INVALID");
      await refused(() => importAes({ id: label }), S.INVALID_ARGUMENT, "ID_INVALID");
    });

    test("127 characters (also multi-byte ones) are accepted", async () => {
      await expect(importAes({ label: "a".repeat(127) })).resolves.toBeDefined();
      await expect(importAes({ label: "é".repeat(127) })).resolves.toBeDefined();
      await expect(genAes({ label: "\u{1F511}".repeat(127) })).resolves.toBeDefined();
    });

    test("ImportSymKey with label bytes that are not UTF-8 -> LABEL_INVALID", async () => {
      const request = hsmProto.ImportSymKeyRequest.encode({
        ...baseImport(wrappingKey),
        label: "ZZZZ",
      }).finish();
      // field 5 (label), wire type 2, length 4: 0x2a 0x04 "ZZZZ" -> "Z" 0xff 0xfe "Z"
      const body = patchBytes(request, Buffer.from([0x2a, 0x04, 0x5a, 0x5a, 0x5a, 0x5a]), Buffer.from([0x2a, 0x04, 0x5a, 0xff, 0xfe, 0x5a]));
      await refused(() => rawUnary(alice.raw, IMPORT_PATH, body, alice.metadata()), S.INVALID_ARGUMENT, "LABEL_INVALID");
    });

    test("GenSymKey with label bytes that are not UTF-8 -> LABEL_INVALID", async () => {
      const request = hsmProto.GenSymKeyRequest.encode({ ...baseGen(), label: "ZZZZ" }).finish();
      // field 3 (label), wire type 2, length 4
      const body = patchBytes(request, Buffer.from([0x1a, 0x04, 0x5a, 0x5a, 0x5a, 0x5a]), Buffer.from([0x1a, 0x04, 0xc3, 0x28, 0xff, 0x5a]));
      await refused(() => rawUnary(alice.raw, GEN_PATH, body, alice.metadata()), S.INVALID_ARGUMENT, "LABEL_INVALID");
    });
  });

  describe("ids", () => {
    test.each([
      ["129 bytes", "i".repeat(129)],
      ["130 bytes in 65 characters", "é".repeat(65)],
      ["a control character", "id\u0001"],
      ["a newline", "id\n"],
    ])("ImportSymKey id of %s -> ID_INVALID", async (_name, id) => {
      const err = await refused(() => importAes({ id }), S.INVALID_ARGUMENT, "ID_INVALID");
      expect(err.metadata.kmu_return_code).toBe("0x07");
    });

    test("GenSymKey id of 129 bytes -> ID_INVALID", async () => {
      await refused(() => genAes({ id: "i".repeat(129) }), S.INVALID_ARGUMENT, "ID_INVALID");
    });

    test("an id of exactly 128 bytes is accepted", async () => {
      await expect(importAes({ id: "j".repeat(128) })).resolves.toBeDefined();
      await expect(genAes({ id: "é".repeat(64) })).resolves.toBeDefined();
    });

    test("ImportSymKey with id bytes that are not UTF-8 -> ID_INVALID", async () => {
      const request = hsmProto.ImportSymKeyRequest.encode({ ...baseImport(wrappingKey), id: "QQQQ" }).finish();
      // field 6 (id), wire type 2, length 4
      const body = patchBytes(request, Buffer.from([0x32, 0x04, 0x51, 0x51, 0x51, 0x51]), Buffer.from([0x32, 0x04, 0xff, 0xfe, 0x51, 0x51]));
      await refused(() => rawUnary(alice.raw, IMPORT_PATH, body, alice.metadata()), S.INVALID_ARGUMENT, "ID_INVALID");
    });
  });

  describe("wrapping key", () => {
    test("an unknown handle -> NOT_FOUND KEY_NOT_FOUND (0xa8)", async () => {
      const err = await refused(() => importAes({ wrappingKey: 999_999 }), S.NOT_FOUND, "KEY_NOT_FOUND");
      expect(err.metadata.kmu_return_code).toBe("0xa8");
    });

    test("another CU's key answers exactly like an unknown handle", async () => {
      const unknown = await refused(() => importAes({ wrappingKey: 999_999 }), S.NOT_FOUND, "KEY_NOT_FOUND");
      const invisible = await refused(() => importAes({ wrappingKey: bobsWrappingKey }), S.NOT_FOUND, "KEY_NOT_FOUND");
      expect(Object.keys(invisible.metadata).sort()).toEqual(Object.keys(unknown.metadata).sort());
      expect(invisible.metadata.kmu_return_code).toBe(unknown.metadata.kmu_return_code);
      expect(invisible.metadata.kmu_return_text).toBe(unknown.metadata.kmu_return_text);
    });

    test.each([
      ["3DES", () => des3Key],
      ["generic secret", () => genericSecret],
    ])("a %s key -> FAILED_PRECONDITION WRAPPING_KEY_NOT_AES", async (_name, handle) => {
      const err = await refused(() => importAes({ wrappingKey: handle() }), S.FAILED_PRECONDITION, "WRAPPING_KEY_NOT_AES");
      expect(err.metadata.kmu_return_code).toBe("0x63");
    });

    test("handle 4, the internal key -> PERMISSION_DENIED INTERNAL_KEY_UNSUPPORTED (0xc6)", async () => {
      const err = await refused(() => importAes({ wrappingKey: 4 }), S.PERMISSION_DENIED, "INTERNAL_KEY_UNSUPPORTED");
      expect(err.metadata.kmu_return_code).toBe("0xc6");
    });

    test("a wrapping key shared with the caller is usable", async () => {
      const shared = (await bob.genSymKey({ keyType: KEY_TYPE.AES, keySize: 16, label: "shared-wrap", shareWith: [alice.userId!] })).keyHandle;
      const res = await importAes({ wrappingKey: shared, label: "through-shared" });
      expect(await alice.findKey({ label: "through-shared" })).toEqual([res.keyHandle]);
    });
  });

  describe("duplicate ids", () => {
    test("an id alice already uses -> ALREADY_EXISTS ID_ALREADY_EXISTS (0xd1), for import and generate", async () => {
      await importAes({ id: "alice-id-1" });
      const err = await refused(() => importAes({ id: "alice-id-1" }), S.ALREADY_EXISTS, "ID_ALREADY_EXISTS");
      expect(err.metadata.kmu_return_code).toBe("0xd1");
      await refused(() => genAes({ id: "alice-id-1" }), S.ALREADY_EXISTS, "ID_ALREADY_EXISTS");
    });

    test("an id of a key alice cannot see is refused the same way and reveals nothing about that key", async () => {
      const bobsKey = (await bob.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "bobs", id: "bobs-id" })).keyHandle;
      await importAes({ id: "alice-id-2" });
      const own = await refused(() => importAes({ id: "alice-id-2" }), S.ALREADY_EXISTS, "ID_ALREADY_EXISTS");
      const foreign = await refused(() => importAes({ id: "bobs-id" }), S.ALREADY_EXISTS, "ID_ALREADY_EXISTS");
      await refused(() => genAes({ id: "bobs-id" }), S.ALREADY_EXISTS, "ID_ALREADY_EXISTS");

      expect(Object.keys(foreign.metadata).sort()).toEqual(Object.keys(own.metadata).sort());
      for (const name of Object.keys(foreign.metadata)) expect(name).not.toMatch(/handle|owner|user/i);
      const values = Object.values(foreign.metadata);
      expect(values).not.toContain(String(bobsKey));
      expect(values).not.toContain(String(bobId));
      expect(values).not.toContain("bob");
    });
  });

  describe("sharing", () => {
    test("with oneself -> SHARE_WITH_SELF", async () => {
      await refused(() => importAes({ shareWith: [alice.userId!] }), S.INVALID_ARGUMENT, "SHARE_WITH_SELF");
      await refused(() => genAes({ shareWith: [bobId, alice.userId!] }), S.INVALID_ARGUMENT, "SHARE_WITH_SELF");
    });

    test("with an unknown user id -> SHARE_USER_UNKNOWN", async () => {
      await refused(() => importAes({ shareWith: [9_999] }), S.INVALID_ARGUMENT, "SHARE_USER_UNKNOWN");
      await refused(() => genAes({ shareWith: [bobId, 9_999] }), S.INVALID_ARGUMENT, "SHARE_USER_UNKNOWN");
    });

    test("with a crypto officer -> SHARE_USER_UNKNOWN", async () => {
      await refused(() => importAes({ shareWith: [officerId] }), S.INVALID_ARGUMENT, "SHARE_USER_UNKNOWN");
    });

    test("the same user twice -> REQUEST_INVALID", async () => {
      await refused(() => importAes({ shareWith: [bobId, bobId] }), S.INVALID_ARGUMENT, "REQUEST_INVALID");
    });
  });

  describe("min_srv and timeout", () => {
    test("timeout without min_srv -> TIMEOUT_WITHOUT_MIN_SRV", async () => {
      await refused(() => importAes({ timeoutSeconds: 5 }), S.INVALID_ARGUMENT, "TIMEOUT_WITHOUT_MIN_SRV");
      await refused(() => genAes({ timeoutSeconds: 5 }), S.INVALID_ARGUMENT, "TIMEOUT_WITHOUT_MIN_SRV");
    });

    test("min_srv above the node count -> UNAVAILABLE MIN_SRV_UNMET", async () => {
      const err = await refused(() => importAes({ minSrv: 4 }), S.UNAVAILABLE, "MIN_SRV_UNMET");
      expect(err.metadata.kmu_return_code).toBe("0x30");
      await refused(() => genAes({ minSrv: 4, timeoutSeconds: 1 }), S.UNAVAILABLE, "MIN_SRV_UNMET");
    });

    test("min_srv 0 -> MIN_SRV_INVALID", async () => {
      await refused(() => importAes({ minSrv: 0 }), S.INVALID_ARGUMENT, "MIN_SRV_INVALID");
    });

    test("min_srv equal to the node count, with a timeout, is accepted", async () => {
      await expect(importAes({ minSrv: 3, timeoutSeconds: 5 })).resolves.toBeDefined();
    });
  });

  describe("request shape", () => {
    test("no key material (neither key_material nor host_wrapped_key) -> REQUEST_INVALID", async () => {
      const request: hsmProto.ImportSymKeyRequest = { ...baseImport(wrappingKey), material: undefined };
      const err = await refused(() => unaryWith(alice.raw.importSymKey.bind(alice.raw), request, alice.metadata()), S.INVALID_ARGUMENT, "REQUEST_INVALID");
      expect(err.metadata.field).toBe("material");
    });

    test("attest -> REQUEST_INVALID", async () => {
      const request: hsmProto.ImportSymKeyRequest = { ...baseImport(wrappingKey), attest: true };
      await refused(() => unaryWith(alice.raw.importSymKey.bind(alice.raw), request, alice.metadata()), S.INVALID_ARGUMENT, "REQUEST_INVALID");
    });

    test("-wk with a host-wrapped blob the wrapping key does not open -> UNWRAP_INTEGRITY_FAILED", async () => {
      const blob = aesKeyWrapPkcs5(randomBytes(32), randomBytes(32));
      const request: hsmProto.ImportSymKeyRequest = { ...baseImport(knownWrappingKey), material: { $case: "hostWrappedKey", value: blob } };
      await refused(
        () => unaryWith(alice.raw.importSymKey.bind(alice.raw), request, alice.metadata()),
        S.INVALID_ARGUMENT,
        "UNWRAP_INTEGRITY_FAILED",
      );
    });
  });
});

/** A valid ImportSymKeyRequest with fixed (not random) material, so patching the encoded bytes is deterministic. */
function baseImport(wrappingKeyHandle: number): hsmProto.ImportSymKeyRequest {
  return importSymKeyRequest(wrappingKeyHandle, { $case: "keyMaterial", value: Buffer.alloc(32, 0x11) }, { label: "raw" });
}

function baseGen(): hsmProto.GenSymKeyRequest {
  return genSymKeyRequest({ label: "raw" });
}
