// The bench's crypto floor and SoftHSM2 peer sign with the run's own keys, and the checks they (and the daemon's answers) pass are real checks.
import { sign } from "node:crypto";
import { CryptoMaterial, gcmPlaintext, makeCryptoMaterial, signingKey, signMessage } from "../../bench/cryptoMaterial";
import { checkGcmOutput, checkSignature, nodeAsyncImplementation, nodeGcmEncrypt, nodeImplementation } from "../../bench/nodeCryptoOps";
import { P256_EC_PARAMS, privateKeyTemplate, softhsmImplementation } from "../../bench/softhsmPeer";
import { softhsmUnavailable } from "../support/softhsm";
import * as softhsmEnv from "../support/softhsmEnv";

const material: CryptoMaterial = makeCryptoMaterial();
const other: CryptoMaterial = makeCryptoMaterial();

describe("node:crypto floor", () => {
  it.each(["aesGcmEncrypt", "ecdsaSign", "rsaSign"] as const)("%s passes its own independent check", (op) => {
    const impl = nodeImplementation(op, material);
    expect(impl.selfCheck()).toBeUndefined();
    impl.close();
  });

  it.each(["ecdsaSign", "rsaSign"] as const)("%s on the thread pool completes without error and checks like the sync form", async (op) => {
    const impl = nodeAsyncImplementation(op, material);
    expect(impl.selfCheck()).toBeUndefined();
    const signature = await new Promise<Buffer | undefined>((resolve, reject) => impl.callAsync!((err, sig) => (err ? reject(err) : resolve(sig))));
    // The thread-pool form signs the same message with the same key: its signature verifies like the sync one's.
    expect(signature).toBeInstanceOf(Buffer);
    expect(checkSignature(material, op, signature!)).toBeUndefined();
  });

  it("a GCM output under another key, or with a flipped tag bit, fails the check", () => {
    const out = nodeGcmEncrypt(Buffer.from(material.aesKeyHex, "hex"), gcmPlaintext());
    expect(checkGcmOutput(material, out)).toBeUndefined();
    expect(checkGcmOutput(other, out)).toBe("the tag does not check under the bench's key");
    const tag = Buffer.from(out.tag);
    tag[0]! ^= 1;
    expect(checkGcmOutput(material, { ...out, tag })).toBe("the tag does not check under the bench's key");
    expect(checkGcmOutput(material, { ...out, iv: Buffer.alloc(16) })).toBe("IV of 16 bytes, expected 12");
  });

  it.each(["ecdsaSign", "rsaSign"] as const)("%s: a signature by another key, or of another message, fails the check", (op) => {
    const bad = "the signature does not verify under the bench's public key";
    expect(checkSignature(material, op, sign("sha256", signMessage(), signingKey(material, op)))).toBeUndefined();
    expect(checkSignature(material, op, sign("sha256", signMessage(), signingKey(other, op)))).toBe(bad);
    expect(checkSignature(material, op, sign("sha256", Buffer.alloc(256), signingKey(material, op)))).toBe(bad);
  });

  it("an RSA signature of the wrong length fails the check", () => {
    expect(checkSignature(material, "rsaSign", Buffer.alloc(100))).toBe("RSA signature of 100 bytes, expected 256");
  });
});

describe("PKCS#11 templates of the run's keys", () => {
  it("carry the RSA key's own numbers, CRT values included", () => {
    const jwk = signingKey(material, "rsaSign").export({ format: "jwk" });
    const t = privateKeyTemplate(signingKey(material, "rsaSign"));
    expect(t.modulus).toEqual(Buffer.from(jwk.n!, "base64url"));
    expect(t.publicExponent).toEqual(Buffer.from([1, 0, 1]));
    expect(t.prime1).toEqual(Buffer.from(jwk.p!, "base64url"));
    expect(t.coefficient).toEqual(Buffer.from(jwk.qi!, "base64url"));
    expect(t.sign).toBe(true);
  });

  it("carry the EC key's scalar with the P-256 parameters", () => {
    const jwk = signingKey(material, "ecdsaSign").export({ format: "jwk" });
    const t = privateKeyTemplate(signingKey(material, "ecdsaSign"));
    expect(t.paramsEC).toEqual(P256_EC_PARAMS);
    expect(t.value).toEqual(Buffer.from(jwk.d!, "base64url"));
  });
});

const unavailable = softhsmUnavailable();
const withToken = unavailable && !process.env.CI ? describe.skip : describe;

withToken(`SoftHSM2 peer${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  const token = () => ({ library: process.env[softhsmEnv.ENV_LIBRARY]!, label: softhsmEnv.TOKEN_LABEL, userPin: softhsmEnv.USER_PIN });

  it.each(["ecdsaSign", "rsaSign"] as const)("%s: C_Sign with the imported key makes signatures the run's public key verifies", (op) => {
    const impl = softhsmImplementation(op, material, token());
    try {
      expect(impl.selfCheck()).toBeUndefined();
      impl.call();
    } finally {
      impl.close();
    }
  });
});
