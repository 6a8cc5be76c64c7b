// The signature mechanisms alone: RSA-PSS known answers, and every mechanism over data and over a digest checked
// against node:crypto's own sign/verify (OpenSSL), in both directions.
import { constants, createHash, createPublicKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from "node:crypto";
import { CurveName, fromPrivateKey, fromPublicKey } from "../../src/hsm/crypto/asymmetricKeys";
import { HashName, parseDerSignature, SignatureSpec, signWith, verifyWith } from "../../src/hsm/crypto/signatures";
import { HsmError } from "../../src/hsm/errors";
import { hex } from "./support/harness";
import { PSS_VECTORS } from "./vectors/rsaPss";

function spec(overrides: Partial<SignatureSpec> & Pick<SignatureSpec, "mechanism">): SignatureSpec {
  return { hash: "sha256", input: { kind: "data", bytes: Buffer.from("the message") }, saltLength: undefined, layout: "der", ...overrides };
}

function digestSpec(base: SignatureSpec, message: Buffer): SignatureSpec {
  return { ...base, input: { kind: "digest", bytes: createHash(base.hash).update(message).digest() } };
}

async function rejection(promise: Promise<unknown>): Promise<HsmError> {
  const caught = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(caught).toBeInstanceOf(HsmError);
  return caught as HsmError;
}

describe("RSA-PSS known answers (pss-vect.txt)", () => {
  test.each(PSS_VECTORS.map((v) => [v.name, v] as const))("%s verifies over the data and over its digest; one flipped bit does not", async (_name, v) => {
    const publicKey = createPublicKey({ key: { kty: "RSA", n: hex(v.modulus).toString("base64url"), e: hex(v.exponent).toString("base64url") }, format: "jwk" });
    const view = fromPublicKey(publicKey).view;
    const message = hex(v.message);
    const signature = hex(v.signature);
    const data: SignatureSpec = { mechanism: "RSA_PSS", hash: "sha1", input: { kind: "data", bytes: message }, saltLength: 20, layout: "der" };
    await verifyWith(view, data, signature);
    await verifyWith(view, digestSpec(data, message), signature);
    const tampered = Buffer.from(signature);
    tampered[10] = (tampered[10] ?? 0) ^ 1;
    expect((await rejection(verifyWith(view, digestSpec(data, message), tampered))).reason).toBe("SIGNATURE_INVALID");
    expect((await rejection(verifyWith(view, data, tampered))).reason).toBe("SIGNATURE_INVALID");
  });
});

describe("RSA mechanisms", () => {
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const priv = fromPrivateKey(pair.privateKey).view;
  const pub = fromPublicKey(pair.publicKey).view;
  const message = Buffer.from("sign me, RSA");
  const hashes: HashName[] = ["sha224", "sha256", "sha384", "sha512"];

  test.each(hashes)("PKCS#1 v1.5 with %s: the digest path gives the data path's (deterministic) signature, and OpenSSL verifies it", async (hash) => {
    const base = spec({ mechanism: "RSA_PKCS1_V15", hash, input: { kind: "data", bytes: message } });
    const overData = await signWith(priv, base);
    const overDigest = await signWith(priv, digestSpec(base, message));
    expect(overDigest).toEqual(overData);
    expect(cryptoVerify(hash, message, pair.publicKey, overDigest)).toBe(true);
    await verifyWith(pub, digestSpec(base, message), overData);
  });

  test.each(hashes)("PSS with %s: signatures over a digest verify in OpenSSL over the data, and back", async (hash) => {
    const base = spec({ mechanism: "RSA_PSS", hash, input: { kind: "data", bytes: message } });
    const pss = { key: pair.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: createHash(hash).digest().length };
    const overDigest = await signWith(priv, digestSpec(base, message));
    expect(cryptoVerify(hash, message, pss, overDigest)).toBe(true);
    const byOpenssl = cryptoSign(hash, message, { key: pair.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: pss.saltLength });
    await verifyWith(pub, digestSpec(base, message), byOpenssl);
    await verifyWith(pub, base, byOpenssl);
  });

  test("PSS honours an explicit salt length, and the verifier must name the same one", async () => {
    const base = spec({ mechanism: "RSA_PSS", saltLength: 0, input: { kind: "data", bytes: message } });
    const signature = await signWith(priv, digestSpec(base, message));
    expect(cryptoVerify("sha256", message, { key: pair.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 0 }, signature)).toBe(true);
    expect((await rejection(verifyWith(pub, digestSpec({ ...base, saltLength: 32 }, message), signature))).reason).toBe("SIGNATURE_INVALID");
  });

  test("a salt too long for the key is MECHANISM_PARAM_INVALID", async () => {
    expect((await rejection(signWith(priv, spec({ mechanism: "RSA_PSS", hash: "sha512", saltLength: 256 - 64 - 1 })))).reason).toBe("MECHANISM_PARAM_INVALID");
  });

  test("a digest of the wrong length is DATA_LENGTH_INVALID", async () => {
    const err = await rejection(signWith(priv, spec({ mechanism: "RSA_PKCS1_V15", input: { kind: "digest", bytes: Buffer.alloc(20) } })));
    expect(err.reason).toBe("DATA_LENGTH_INVALID");
  });

  test("a signature of the wrong length is SIGNATURE_LENGTH_INVALID; a wrong one of the right length SIGNATURE_INVALID", async () => {
    const base = spec({ mechanism: "RSA_PKCS1_V15" });
    expect((await rejection(verifyWith(pub, base, Buffer.alloc(255, 1)))).reason).toBe("SIGNATURE_LENGTH_INVALID");
    expect((await rejection(verifyWith(pub, base, Buffer.alloc(256, 1)))).reason).toBe("SIGNATURE_INVALID");
    expect((await rejection(verifyWith(pub, digestSpec(base, message), Buffer.alloc(256, 1)))).reason).toBe("SIGNATURE_INVALID");
    // Not smaller than the modulus: the raw RSA operation refuses it.
    expect((await rejection(verifyWith(pub, digestSpec({ ...base, mechanism: "RSA_PSS" }, message), Buffer.alloc(256, 0xff)))).reason).toBe("SIGNATURE_INVALID");
  });
});

describe("ECDSA", () => {
  const curves: [CurveName, HashName, number][] = [
    ["prime256v1", "sha256", 32],
    ["secp384r1", "sha384", 48],
    ["secp521r1", "sha512", 66],
    ["secp256k1", "sha256", 32],
  ];
  const message = Buffer.from("sign me, ECDSA");

  describe.each(curves)("%s", (curve, hash, fieldBytes) => {
    const pair = generateKeyPairSync("ec", { namedCurve: curve });
    const priv = fromPrivateKey(pair.privateKey).view;
    const pub = fromPublicKey(pair.publicKey).view;
    const base = spec({ mechanism: "ECDSA", hash, input: { kind: "data", bytes: message } });

    test.each(["data", "digest"] as const)("DER over %s verifies in OpenSSL, RAW is r || s of the field size", async (kind) => {
      const s = kind === "data" ? base : digestSpec(base, message);
      const der = await signWith(priv, s);
      expect(cryptoVerify(hash, message, pair.publicKey, der)).toBe(true);
      expect(parseDerSignature(der)).toBeDefined();
      const raw = await signWith(priv, { ...s, layout: "raw" });
      expect(raw).toHaveLength(2 * fieldBytes);
      expect(cryptoVerify(hash, message, { key: pair.publicKey, dsaEncoding: "ieee-p1363" }, raw)).toBe(true);
    });

    test("OpenSSL's signatures verify over the digest and over the data, in both layouts", async () => {
      const der = cryptoSign(hash, message, pair.privateKey);
      const raw = cryptoSign(hash, message, { key: pair.privateKey, dsaEncoding: "ieee-p1363" });
      await verifyWith(pub, digestSpec(base, message), der);
      await verifyWith(pub, base, der);
      await verifyWith(pub, digestSpec({ ...base, layout: "raw" }, message), raw);
      await verifyWith(pub, { ...base, layout: "raw" }, raw);
    });

    test("another message's signature is SIGNATURE_INVALID; a RAW signature of the wrong size SIGNATURE_LENGTH_INVALID", async () => {
      const other = cryptoSign(hash, Buffer.from("other"), pair.privateKey);
      expect((await rejection(verifyWith(pub, digestSpec(base, message), other))).reason).toBe("SIGNATURE_INVALID");
      expect((await rejection(verifyWith(pub, { ...base, layout: "raw" }, Buffer.alloc(2 * fieldBytes - 1, 1)))).reason).toBe("SIGNATURE_LENGTH_INVALID");
    });
  });

  test("a digest longer than the group order is cut to its bit length (SHA-512 on P-256)", async () => {
    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const base = spec({ mechanism: "ECDSA", hash: "sha512", input: { kind: "data", bytes: message } });
    const signature = await signWith(fromPrivateKey(pair.privateKey).view, digestSpec(base, message));
    expect(cryptoVerify("sha512", message, pair.publicKey, signature)).toBe(true);
  });

  test("DER parsing is strict: trailing bytes, negative or padded integers are refused", () => {
    const good = cryptoSign("sha256", message, generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey);
    expect(parseDerSignature(good)).toBeDefined();
    expect(parseDerSignature(Buffer.concat([good, Buffer.from([0])]))).toBeUndefined();
    expect(parseDerSignature(Buffer.from("3006020181020101", "hex"))).toBeUndefined();
    expect(parseDerSignature(Buffer.from("300702020001020101", "hex"))).toBeUndefined();
    expect(parseDerSignature(Buffer.from("3006020101020101", "hex"))).toEqual({ r: 1n, s: 1n });
  });
});
