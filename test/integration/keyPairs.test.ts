// Key pairs over real gRPC through the HsmClient facade: generation, export as KeyObject, sign/verify in every
// mechanism, private import/export (with and without -wk), findKey -m with paging, and the refusals' code and reason.
import * as grpc from "@grpc/grpc-js";
import { constants, createHash, generateKeyPairSync, randomBytes, sign as cryptoSign, verify as cryptoVerify } from "node:crypto";
import { ATTRIBUTE, EcCurve, FindOptions, HashAlgorithm, HsmClient, hsmProto, KEY_TYPE, SignatureEncoding, SignMechanism } from "../../clients";
import { expectRpcError } from "../support/expectRpcError";
import { useDaemonFixture } from "../support/daemonFixture";
import { unaryWith } from "../support/rawGrpc";

const SHA256 = HashAlgorithm.HASH_ALGORITHM_SHA256;

describe("key pairs over gRPC", () => {
  let alice: HsmClient;
  let bob: HsmClient;
  let rsa: { publicKeyHandle: number; privateKeyHandle: number };
  let ec: { publicKeyHandle: number; privateKeyHandle: number };

  const fixture = useDaemonFixture("all");
  beforeAll(async () => {
    const started = await fixture.start();
    alice = started.alice;
    bob = await started.t.loggedInCu("bob");
    rsa = await alice.generateKeyPair({ keyType: KEY_TYPE.RSA, modulusBits: 2048, label: "rsa", id: "rsa-pair" });
    ec = await alice.generateKeyPair({ keyType: KEY_TYPE.EC, curve: EcCurve.EC_CURVE_P256, label: "ec" });
  });

  test("GenerateKeyPair answers with both handles, the Cfm3GenerateKeyPair step and a line per node", async () => {
    const res = await alice.generateKeyPair({ keyType: KEY_TYPE.EC, curve: EcCurve.EC_CURVE_SECP256K1, label: "k1", attest: true });
    expect(res.publicKeyHandle).toBeLessThan(res.privateKeyHandle);
    expect(res.steps.map((s) => [s.name, s.returnCode])).toEqual([["Cfm3GenerateKeyPair", 0]]);
    expect(res.nodeStatuses.map((n) => n.errState)).toEqual([0, 0, 0]);
    expect(res.attestation).toEqual({ pass: true, problems: [] });
    expect(Number(res.revision)).toBeGreaterThan(0);
  });

  test("exportPublicKey returns a node:crypto KeyObject of the pair, whose getAttribute facts match", async () => {
    const key = await alice.exportPublicKey(rsa.publicKeyHandle);
    expect(key.asymmetricKeyType).toBe("rsa");
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const modulus = (await alice.getAttribute(rsa.publicKeyHandle, 288)).attributes[0]!.value;
    expect(modulus?.$case === "bytesValue" && Buffer.from(modulus.value).toString("base64url")).toBe(key.export({ format: "jwk" }).n);
    const ecKey = await alice.exportPublicKey(ec.publicKeyHandle);
    expect(ecKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
  });

  test.each([
    ["RSA PKCS#1 v1.5", SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15, "rsa"],
    ["RSA-PSS", SignMechanism.SIGN_MECHANISM_RSA_PSS, "rsa"],
    ["ECDSA", SignMechanism.SIGN_MECHANISM_ECDSA, "ec"],
  ] as const)("%s over data and over a digest: the daemon's signatures verify in the daemon and in node:crypto", async (_name, mechanism, which) => {
    const pair = which === "rsa" ? rsa : ec;
    const publicKey = await alice.exportPublicKey(pair.publicKeyHandle);
    const message = randomBytes(100);
    const digest = createHash("sha256").update(message).digest();
    const options = { mechanism, hash: SHA256 };
    const nodeOptions = mechanism === SignMechanism.SIGN_MECHANISM_RSA_PSS ? { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : publicKey;
    for (const signature of [await alice.sign(pair.privateKeyHandle, message, options), await alice.sign(pair.privateKeyHandle, digest, { ...options, prehashed: true })]) {
      expect(cryptoVerify("sha256", message, nodeOptions, signature)).toBe(true);
      expect(await alice.verify(pair.publicKeyHandle, message, signature, options)).toBe(true);
      expect(await alice.verify(pair.publicKeyHandle, digest, signature, { ...options, prehashed: true })).toBe(true);
      expect(await alice.verify(pair.publicKeyHandle, randomBytes(100), signature, options)).toBe(false);
    }
  });

  test("ECDSA RAW signatures are r || s, 64 bytes on P-256", async () => {
    const signature = await alice.sign(ec.privateKeyHandle, Buffer.from("raw"), { mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: SHA256, encoding: SignatureEncoding.SIGNATURE_ENCODING_RAW });
    expect(signature).toHaveLength(64);
    const publicKey = await alice.exportPublicKey(ec.publicKeyHandle);
    expect(cryptoVerify("sha256", Buffer.from("raw"), { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);
  });

  test("the daemon verifies signatures node:crypto made with a key imported with ImportPublicKey", async () => {
    const outside = generateKeyPairSync("rsa", { modulusLength: 3072 });
    const imported = await alice.importPublicKey(outside.publicKey, { label: "outside" });
    expect(imported.steps.map((s) => s.name)).toEqual(["Cfm3CreatePublicKey"]);
    const message = Buffer.from("signed outside");
    const signature = cryptoSign("sha384", message, { key: outside.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
    expect(await alice.verify(imported.keyHandle, message, signature, { mechanism: SignMechanism.SIGN_MECHANISM_RSA_PSS, hash: HashAlgorithm.HASH_ALGORITHM_SHA384 })).toBe(true);
  });

  test("ImportPrivateKey then ExportPrivateKey gives back the same private key, through the HSM and with -wk", async () => {
    const wkPlain = randomBytes(32);
    const kek = await alice.createWrappingKey("kek");
    const wrapping = (await alice.importSymKey(wkPlain, { wrappingKey: kek, label: "known-wrapping" })).keyHandle;
    const outside = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    const viaPem = await alice.importPrivateKey(outside.privateKey, { wrappingKey: wrapping, label: "imported-private" });
    expect(viaPem.steps.map((s) => s.name)).toEqual(["Cfm3WrapHostKey", "Cfm3CreateUnwrapTemplate", "Cfm3UnWrapKey"]);
    const viaWk = await alice.importPrivateKey(outside.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), { wrappingKey: wrapping, hostWrappingKey: wkPlain, label: "imported-wk" });
    expect(viaWk.steps.map((s) => s.name)).toEqual(["Cfm3CreateUnwrapTemplate", "Cfm3UnWrapKey"]);
    const expected = outside.privateKey.export({ format: "der", type: "pkcs8" });
    expect((await alice.exportPrivateKey(viaPem.keyHandle, wrapping)).export({ format: "der", type: "pkcs8" })).toEqual(expected);
    expect((await alice.exportPrivateKey(viaWk.keyHandle, wrapping, wkPlain)).export({ format: "der", type: "pkcs8" })).toEqual(expected);
    // The imported key signs like the original.
    const signature = await alice.sign(viaPem.keyHandle, Buffer.from("m"), { mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: HashAlgorithm.HASH_ALGORITHM_SHA384 });
    expect(cryptoVerify("sha384", Buffer.from("m"), outside.publicKey, signature)).toBe(true);
  });

  test("findKey -m finds both halves of one RSA pair, pages with the filter, and a token for another modulus is refused", async () => {
    const modulusValue = (await alice.getAttribute(rsa.publicKeyHandle, 288)).attributes[0]!.value;
    const modulus = modulusValue?.$case === "bytesValue" ? Buffer.from(modulusValue.value) : Buffer.alloc(0);
    expect(await alice.findKey({ modulus })).toEqual([rsa.publicKeyHandle, rsa.privateKeyHandle]);
    expect(await alice.findKey({ modulus }, 1)).toEqual([rsa.publicKeyHandle, rsa.privateKeyHandle]);
    expect(await alice.findKey({ keyClass: 2, keyType: 0, modulus })).toEqual([rsa.publicKeyHandle]);
    const first = await page(alice, { modulus }, 1);
    const other = Buffer.from(modulus);
    other[other.length - 1] = (other[other.length - 1] ?? 0) ^ 2;
    await expectRpcError(page(alice, { modulus: other }, 1, first.nextPageToken), grpc.status.INVALID_ARGUMENT, "PAGE_TOKEN_INVALID");
    await expectRpcError(page(alice, { modulus: Buffer.concat([Buffer.from([0]), modulus]) }, 0), grpc.status.INVALID_ARGUMENT, "REQUEST_INVALID");
  });

  describe("refusals: gRPC code and ErrorInfo reason", () => {
    const ecdsa = { mechanism: SignMechanism.SIGN_MECHANISM_ECDSA, hash: SHA256 };

    test("SHA-1 signatures: INVALID_ARGUMENT HASH_FIPS_DISALLOWED", async () => {
      await expectRpcError(alice.sign(ec.privateKeyHandle, Buffer.from("x"), { ...ecdsa, hash: HashAlgorithm.HASH_ALGORITHM_SHA1 }), grpc.status.INVALID_ARGUMENT, "HASH_FIPS_DISALLOWED");
    });

    test("a public key to sign with: FAILED_PRECONDITION KEY_TYPE_MISMATCH", async () => {
      await expectRpcError(alice.sign(ec.publicKeyHandle, Buffer.from("x"), ecdsa), grpc.status.FAILED_PRECONDITION, "KEY_TYPE_MISMATCH");
    });

    test("a digest of the wrong length: INVALID_ARGUMENT DATA_LENGTH_INVALID", async () => {
      await expectRpcError(alice.sign(ec.privateKeyHandle, Buffer.alloc(31), { ...ecdsa, prehashed: true }), grpc.status.INVALID_ARGUMENT, "DATA_LENGTH_INVALID");
    });

    test("no mechanism: INVALID_ARGUMENT MECHANISM_INVALID; a RAW signature of the wrong size: SIGNATURE_LENGTH_INVALID", async () => {
      await expectRpcError(alice.sign(ec.privateKeyHandle, Buffer.from("x"), { ...ecdsa, mechanism: SignMechanism.SIGN_MECHANISM_UNSPECIFIED }), grpc.status.INVALID_ARGUMENT, "MECHANISM_INVALID");
      await expectRpcError(
        alice.verify(ec.publicKeyHandle, Buffer.from("x"), Buffer.alloc(63, 1), { ...ecdsa, encoding: SignatureEncoding.SIGNATURE_ENCODING_RAW }),
        grpc.status.INVALID_ARGUMENT,
        "SIGNATURE_LENGTH_INVALID",
      );
    });

    test("another user's key: NOT_FOUND KEY_NOT_FOUND, as for a missing one", async () => {
      await expectRpcError(bob.sign(ec.privateKeyHandle, Buffer.from("x"), ecdsa), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");
      await expectRpcError(bob.exportPublicKey(rsa.publicKeyHandle), grpc.status.NOT_FOUND, "KEY_NOT_FOUND");
    });

    test("a non-extractable private key: FAILED_PRECONDITION KEY_NOT_EXTRACTABLE; bad PEM: KEY_ENCODING_INVALID", async () => {
      const nex = await alice.generateKeyPair({ keyType: KEY_TYPE.EC, curve: EcCurve.EC_CURVE_P384, label: "nex", nonExtractable: true });
      const wrapping = await alice.createWrappingKey("nex-kek");
      await expectRpcError(alice.exportPrivateKey(nex.privateKeyHandle, wrapping), grpc.status.FAILED_PRECONDITION, "KEY_NOT_EXTRACTABLE");
      await expectRpcError(alice.importPublicKey("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", { label: "bad" }), grpc.status.INVALID_ARGUMENT, "KEY_ENCODING_INVALID");
      expect((await alice.getAttribute(nex.privateKeyHandle, ATTRIBUTE.CLASS)).attributes[0]?.text).toBe("0x00000003");
    });

    test("an RSA modulus of 1024 bits: INVALID_ARGUMENT KEY_LENGTH_INVALID; an EC pair without a curve: REQUEST_INVALID", async () => {
      await expectRpcError(alice.generateKeyPair({ keyType: KEY_TYPE.RSA, modulusBits: 1024, label: "small" }), grpc.status.INVALID_ARGUMENT, "KEY_LENGTH_INVALID");
      await expectRpcError(alice.generateKeyPair({ keyType: KEY_TYPE.EC, curve: EcCurve.EC_CURVE_UNSPECIFIED, label: "none" }), grpc.status.INVALID_ARGUMENT, "REQUEST_INVALID");
    });
  });
});

function page(client: HsmClient, filters: FindOptions, pageSize: number, pageToken = ""): Promise<hsmProto.FindKeyResponse> {
  const request: hsmProto.FindKeyRequest = { sharedWithUserIds: [], ...filters, pageSize, pageToken };
  return unaryWith(client.raw.findKey.bind(client.raw), request, client.metadata());
}
