// SoftHSM2 as the PKCS#11 peer of WrapKey and UnwrapKey: for each KMU wrapping mechanism, SoftHSM2 unwraps what the
// daemon wraps and the daemon unwraps what SoftHSM2 wraps, under the same known AES KEK and RSA key pair on both sides.
//
// What SoftHSM2 2.6.1 (the Debian/Ubuntu package the token comes from) offers, checked by the first test:
// - CKM_AES_KEY_WRAP (RFC 3394) and CKM_AES_KEY_WRAP_PAD (0x210A, RFC 5649) for C_WrapKey/C_UnwrapKey: -m 5 and -m 6
//   interoperate directly; -m 4 (CloudHSM's PKCS#5 padding, no PKCS#11 mechanism) is RFC 3394 of the padded key, so
//   SoftHSM2's CKM_AES_KEY_WRAP unwrap of it yields key || padding (the documented "8 extra bytes" known issue).
// - CKM_AES_GCM for C_Encrypt/C_Decrypt only: C_WrapKey with it is CKR_MECHANISM_INVALID. -m 10 is proven with the
//   token's AES-GCM cipher over the key bytes (the wrap is exactly that encryption, laid out iv || ciphertext || tag).
// - CKM_RSA_PKCS_OAEP with SHA-1 and MGF1-SHA1 only (SHA-256 is CKR_ARGUMENTS_BAD): -m 8 interoperates with
//   oaep_hash SHA-1; the other hashes are checked against node:crypto in wrapRsa.test.ts.
// - No CKM_RSA_AES_KEY_WRAP (0x1054): -m 7 is proven by composing it in the token from the two mechanisms PKCS#11
//   defines it with (CKM_RSA_PKCS_OAEP of an ephemeral AES key, then CKM_AES_KEY_WRAP_PAD of the target under it).
// The AES key wrap forms are also checked against the RFC 3394 section 4 and RFC 5649 section 6 vectors in
// test/unit/keyWrap.test.ts, and AES-GCM against the GCM specification's test case 4 in test/unit/wrapMechanisms.test.ts.
import { createHash, generateKeyPairSync, KeyObject, randomBytes, verify as verifySignature } from "node:crypto";
import * as graphene from "graphene-pk11";
import { HsmClient, hsmProto, KEY_CLASS, KEY_TYPE } from "../../clients";
import { aesKeyWrapPkcs5 } from "../../common/keyWrap";
import { aesKcv, des3Kcv } from "../support/kcv";
import { CKM_AES_KEY_WRAP_KWP, createSecretKey, kcvByEncryption, keyValue, openSoftHsm, SoftHsm, softhsmUnavailable, unwrapTemplate } from "../support/softhsm";
import { startTestDaemon, TestDaemon } from "../support/testDaemon";

const M = hsmProto.WrapMechanism;
const SHA1 = hsmProto.HashAlgorithm.HASH_ALGORITHM_SHA1;
/** PKCS#11 v2.40 CKM_RSA_AES_KEY_WRAP, which graphene-pk11 names but SoftHSM2 2.6.1 does not implement. */
const CKM_RSA_AES_KEY_WRAP = 0x1054;
/** CKM_RSA_PKCS_OAEP as SoftHSM2 2.6.1 supports it. */
const OAEP_SHA1: graphene.IAlgorithm = { name: "RSA_PKCS_OAEP", params: new graphene.RsaOaepParams(graphene.MechanismEnum.SHA1, graphene.RsaMgf.MGF1_SHA1) };

interface Kind {
  readonly name: string;
  readonly kmuType: number;
  readonly p11Type: graphene.KeyType;
  readonly length: number;
}

const KINDS: readonly Kind[] = [
  { name: "AES-128", kmuType: KEY_TYPE.AES, p11Type: graphene.KeyType.AES, length: 16 },
  { name: "AES-256", kmuType: KEY_TYPE.AES, p11Type: graphene.KeyType.AES, length: 32 },
  { name: "3DES", kmuType: KEY_TYPE.DES3, p11Type: graphene.KeyType.DES3, length: 24 },
];

function kcvOf(kind: Kind, material: Buffer): string {
  return kind.p11Type === graphene.KeyType.AES ? aesKcv(material) : des3Kcv(material);
}

const unavailable = softhsmUnavailable();
// As in softhsmInterop.test.ts: skipped with a note locally without softhsm2, a failure in CI.
const suite = unavailable && !process.env.CI ? describe.skip : describe;
if (unavailable && !process.env.CI) console.warn(`SoftHSM2 wrap interop tests skipped: ${unavailable}`);

suite(`SoftHSM2 wrap mechanism interop${unavailable ? ` (skipped: ${unavailable})` : ""}`, () => {
  let t: TestDaemon;
  let alice: HsmClient;
  let hsm: SoftHsm;
  let session: graphene.Session;
  let importer: number;
  /** The shared AES-256 KEK: daemon handle and SoftHSM2 object. */
  const kekPlain = randomBytes(32);
  let kek: number;
  let p11Kek: graphene.SecretKey;
  /** The shared RSA-2048 pair: both halves in the daemon and in SoftHSM2. */
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 65537 });
  let rsaPublic: number;
  let rsaPrivate: number;
  let p11Public: graphene.PublicKey;
  let p11Private: graphene.PrivateKey;

  beforeAll(async () => {
    t = await startTestDaemon();
    alice = await t.loggedInCu("alice");
    importer = await alice.createWrappingKey("importer");
    kek = (await alice.importSymKey(kekPlain, { wrappingKey: importer, label: "shared-kek" })).keyHandle;
    rsaPublic = (await alice.importPublicKey(rsa.publicKey, { label: "shared-rsa" })).keyHandle;
    rsaPrivate = (await alice.importPrivateKey(rsa.privateKey, { wrappingKey: importer, label: "shared-rsa" })).keyHandle;
    hsm = openSoftHsm();
    session = hsm.session;
    p11Kek = createSecretKey(session, graphene.KeyType.AES, kekPlain, { wrap: true, unwrap: true, encrypt: true, decrypt: true, extractable: false });
    const jwk = rsa.privateKey.export({ format: "jwk" });
    const b = (field: string | undefined): Buffer => Buffer.from(field ?? "", "base64url");
    p11Public = session
      .create({ class: graphene.ObjectClass.PUBLIC_KEY, keyType: graphene.KeyType.RSA, modulus: b(jwk.n), publicExponent: b(jwk.e), token: false, wrap: true, encrypt: true })
      .toType<graphene.PublicKey>();
    p11Private = session
      .create({
        class: graphene.ObjectClass.PRIVATE_KEY,
        keyType: graphene.KeyType.RSA,
        modulus: b(jwk.n),
        publicExponent: b(jwk.e),
        privateExponent: b(jwk.d),
        prime1: b(jwk.p),
        prime2: b(jwk.q),
        exp1: b(jwk.dp),
        exp2: b(jwk.dq),
        coefficient: b(jwk.qi),
        token: false,
        private: true,
        sensitive: true,
        unwrap: true,
        decrypt: true,
      })
      .toType<graphene.PrivateKey>();
  });

  afterAll(async () => {
    hsm?.close();
    await t?.close();
  });

  async function importKnown(kind: Kind, material: Buffer, label: string): Promise<number> {
    return (await alice.importSymKey(material, { wrappingKey: importer, keyType: kind.kmuType, label })).keyHandle;
  }

  async function daemonWrap(handle: number, wrappingKey: number, mechanism: hsmProto.WrapMechanism, extra: { aad?: Buffer; oaepHash?: hsmProto.HashAlgorithm } = {}): Promise<Buffer> {
    return Buffer.from((await alice.wrapKey(handle, wrappingKey, { mechanism, ...extra })).wrappedKey);
  }

  test("SoftHSM2 2.6.1 has no CKM_RSA_AES_KEY_WRAP, no AES-GCM key wrapping, and RSA-OAEP with SHA-1 only", () => {
    const mechanisms = hsm.slot.getMechanisms();
    const types = new Set<number>();
    for (let i = 0; i < mechanisms.length; i++) types.add(mechanisms.items(i).type);
    expect({
      AES_KEY_WRAP: types.has(graphene.MechanismEnum.AES_KEY_WRAP),
      AES_KEY_WRAP_PAD: types.has(graphene.MechanismEnum.AES_KEY_WRAP_PAD),
      AES_KEY_WRAP_KWP: types.has(CKM_AES_KEY_WRAP_KWP),
      AES_GCM: types.has(graphene.MechanismEnum.AES_GCM),
      RSA_PKCS_OAEP: types.has(graphene.MechanismEnum.RSA_PKCS_OAEP),
      RSA_AES_KEY_WRAP: types.has(CKM_RSA_AES_KEY_WRAP),
    }).toEqual({ AES_KEY_WRAP: true, AES_KEY_WRAP_PAD: true, AES_KEY_WRAP_KWP: false, AES_GCM: true, RSA_PKCS_OAEP: true, RSA_AES_KEY_WRAP: false });
    const target = createSecretKey(session, graphene.KeyType.AES, randomBytes(32));
    const gcm = { name: "AES_GCM", params: new graphene.AesGcmParams(randomBytes(12), Buffer.alloc(0), 128) };
    expect(() => session.wrapKey(gcm, p11Kek, target)).toThrow(/CKR_MECHANISM_INVALID/);
    const oaepSha256 = { name: "RSA_PKCS_OAEP", params: new graphene.RsaOaepParams(graphene.MechanismEnum.SHA256, graphene.RsaMgf.MGF1_SHA256) };
    expect(() => session.wrapKey(oaepSha256, p11Public, target)).toThrow(/CKR_ARGUMENTS_BAD/);
  });

  describe.each(KINDS)("$name", (kind) => {
    test.each([
      { name: "-m 5 = CKM_AES_KEY_WRAP (RFC 3394)", mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD, p11: "AES_KEY_WRAP" },
      { name: "-m 6 = CKM_AES_KEY_WRAP_PAD (RFC 5649)", mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, p11: "AES_KEY_WRAP_PAD" },
    ])("$name: SoftHSM2 unwraps the daemon's blob, wraps the key back to the same bytes, and the daemon unwraps SoftHSM2's blob", async ({ mechanism, p11 }) => {
      const material = randomBytes(kind.length);
      const handle = await importKnown(kind, material, `m${mechanism}-${kind.name}`);
      const blob = await daemonWrap(handle, kek, mechanism);
      const inSoftHsm = session.unwrapKey(p11, p11Kek, blob, unwrapTemplate(kind.p11Type, { encrypt: true }));
      expect({ value: keyValue(inSoftHsm), kcv: kcvByEncryption(session, inSoftHsm, kind.p11Type) }).toEqual({ value: material, kcv: kcvOf(kind, material) });
      expect(session.wrapKey(p11, p11Kek, inSoftHsm)).toEqual(blob);

      const other = randomBytes(kind.length);
      const softBlob = session.wrapKey(p11, p11Kek, createSecretKey(session, kind.p11Type, other));
      const res = await alice.unwrapKey(softBlob, { wrappingKey: kek, mechanism, keyType: kind.kmuType, label: `from-softhsm-${kind.name}` });
      expect(await alice.kcv(res.keyHandle)).toBe(kcvOf(kind, other));
    });

    test("-m 10 (AES-GCM): SoftHSM2's CKM_AES_GCM decryption of the blob gives the key; the daemon unwraps SoftHSM2's encryption", async () => {
      const material = randomBytes(kind.length);
      const handle = await importKnown(kind, material, `gcm-${kind.name}`);
      const aad = Buffer.from(`aad for ${kind.name}`);
      const blob = await daemonWrap(handle, kek, M.WRAP_MECHANISM_AES_GCM, { aad });
      const iv = blob.subarray(0, 12);
      // One-part C_Decrypt: SoftHSM2 releases GCM plaintext only once the tag is checked, so multi-part update gives nothing.
      const decipher = session.createDecipher({ name: "AES_GCM", params: new graphene.AesGcmParams(iv, aad, 128) }, p11Kek);
      expect(decipher.once(blob.subarray(12), Buffer.alloc(blob.length))).toEqual(material);

      const other = randomBytes(kind.length);
      const softIv = randomBytes(12);
      const cipher = session.createCipher({ name: "AES_GCM", params: new graphene.AesGcmParams(softIv, aad, 128) }, p11Kek);
      const softBlob = Buffer.concat([softIv, cipher.update(other), cipher.final()]);
      const res = await alice.unwrapKey(softBlob, { wrappingKey: kek, mechanism: M.WRAP_MECHANISM_AES_GCM, aad, keyType: kind.kmuType, label: `gcm-from-softhsm-${kind.name}` });
      expect(await alice.kcv(res.keyHandle)).toBe(kcvOf(kind, other));
    });

    test("-m 8 (RSA-OAEP SHA-1): SoftHSM2 unwraps with the private key what the daemon wraps with the public key, and back", async () => {
      const material = randomBytes(kind.length);
      const handle = await importKnown(kind, material, `oaep-${kind.name}`);
      const blob = await daemonWrap(handle, rsaPublic, M.WRAP_MECHANISM_RSA_OAEP, { oaepHash: SHA1 });
      const inSoftHsm = session.unwrapKey(OAEP_SHA1, p11Private, blob, unwrapTemplate(kind.p11Type, { encrypt: true }));
      expect(keyValue(inSoftHsm)).toEqual(material);

      const other = randomBytes(kind.length);
      const softBlob = session.wrapKey(OAEP_SHA1, p11Public, createSecretKey(session, kind.p11Type, other));
      const res = await alice.unwrapKey(softBlob, { wrappingKey: rsaPrivate, mechanism: M.WRAP_MECHANISM_RSA_OAEP, oaepHash: SHA1, keyType: kind.kmuType, label: `oaep-from-softhsm-${kind.name}` });
      expect(await alice.kcv(res.keyHandle)).toBe(kcvOf(kind, other));
    });

    test("-m 7 (RSA-AES, SHA-1): composed in SoftHSM2 from CKM_RSA_PKCS_OAEP and CKM_AES_KEY_WRAP_PAD, both ways", async () => {
      const material = randomBytes(kind.length);
      const handle = await importKnown(kind, material, `rsa-aes-${kind.name}`);
      const blob = await daemonWrap(handle, rsaPublic, M.WRAP_MECHANISM_RSA_AES, { oaepHash: SHA1 });
      // PKCS#11 CKM_RSA_AES_KEY_WRAP: the first modulus-length bytes are the OAEP-wrapped AES key.
      const ephemeral = session.unwrapKey(OAEP_SHA1, p11Private, blob.subarray(0, 256), unwrapTemplate(graphene.KeyType.AES, { unwrap: true })).toType<graphene.SecretKey>();
      expect(keyValue(ephemeral)).toHaveLength(32);
      const inSoftHsm = session.unwrapKey("AES_KEY_WRAP_PAD", ephemeral, blob.subarray(256), unwrapTemplate(kind.p11Type));
      expect(keyValue(inSoftHsm)).toEqual(material);

      const other = randomBytes(kind.length);
      const softEphemeral = session.generateKey("AES_KEY_GEN", { class: graphene.ObjectClass.SECRET_KEY, keyType: graphene.KeyType.AES, valueLen: 32, token: false, extractable: true, wrap: true });
      const softBlob = Buffer.concat([
        session.wrapKey(OAEP_SHA1, p11Public, softEphemeral),
        session.wrapKey("AES_KEY_WRAP_PAD", softEphemeral, createSecretKey(session, kind.p11Type, other)),
      ]);
      const res = await alice.unwrapKey(softBlob, { wrappingKey: rsaPrivate, mechanism: M.WRAP_MECHANISM_RSA_AES, oaepHash: SHA1, keyType: kind.kmuType, label: `rsa-aes-from-softhsm-${kind.name}` });
      expect(await alice.kcv(res.keyHandle)).toBe(kcvOf(kind, other));
    });
  });

  test("-m 4 (PKCS#5-padded RFC 3394, no PKCS#11 mechanism): SoftHSM2's CKM_AES_KEY_WRAP unwrap gives the key plus its padding", async () => {
    // A 13-byte generic secret gets 3 bytes of 0x03; an aligned key gets 8 bytes of 0x08 (softhsmInterop.test.ts b(i)).
    const generic = await alice.genSymKey({ keyType: KEY_TYPE.GENERIC_SECRET, keySize: 13, label: "thirteen" });
    const material = (await alice.exportKey(generic.keyHandle, kek)).material;
    const blob = await daemonWrap(generic.keyHandle, kek, M.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5);
    expect(blob).toEqual(aesKeyWrapPkcs5(kekPlain, material));
    const inSoftHsm = session.unwrapKey("AES_KEY_WRAP", p11Kek, blob, unwrapTemplate(graphene.KeyType.GENERIC_SECRET));
    expect(keyValue(inSoftHsm)).toEqual(Buffer.concat([material, Buffer.alloc(3, 3)]));
    // Back: the token wraps the padded bytes as an object of its own with CKM_AES_KEY_WRAP; UnwrapKey -m 4 strips the pad.
    const res = await alice.unwrapKey(session.wrapKey("AES_KEY_WRAP", p11Kek, inSoftHsm), {
      wrappingKey: kek,
      mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5,
      keyType: KEY_TYPE.GENERIC_SECRET,
      label: "thirteen-back",
    });
    expect((await alice.exportKey(res.keyHandle, kek)).material).toEqual(material);
  });

  test("a private key: the daemon's -m 6 blob of an EC key's PKCS#8 unwraps in SoftHSM2 as CKO_PRIVATE_KEY and signs for its public key", async () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const handle = (await alice.importPrivateKey(ec.privateKey, { wrappingKey: importer, label: "ec-to-softhsm" })).keyHandle;
    const blob = await daemonWrap(handle, kek, M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD);
    const key = session
      .unwrapKey("AES_KEY_WRAP_PAD", p11Kek, blob, { class: graphene.ObjectClass.PRIVATE_KEY, keyType: graphene.KeyType.EC, token: false, private: true, sensitive: true, sign: true })
      .toType<graphene.PrivateKey>();
    const data = Buffer.from("signed in SoftHSM2 with a key the daemon wrapped");
    // SoftHSM2 2.6.1 has plain CKM_ECDSA (over a digest) only; its signatures are r || s as PKCS#11 defines.
    const signature = session.createSign("ECDSA", key).once(createHash("sha256").update(data).digest());
    expect(verifySignature("sha256", data, { key: ec.publicKey, dsaEncoding: "ieee-p1363" }, signature)).toBe(true);

    // Back: SoftHSM2 wraps the private key object (PKCS#8) and the daemon unwraps it into the same key (same KCV).
    const softBlob = session.wrapKey("AES_KEY_WRAP_PAD", p11Kek, session.create(ecPrivateTemplate(ec.privateKey)).toType<graphene.PrivateKey>());
    const res = await alice.unwrapKey(softBlob, { wrappingKey: kek, mechanism: M.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, keyClass: KEY_CLASS.PRIVATE, keyType: KEY_TYPE.EC, label: "ec-from-softhsm" });
    expect(await alice.kcv(res.keyHandle)).toBe(await alice.kcv(handle));
  });
});

/** A SoftHSM2 template for an extractable EC P-256 private key object with the node key's scalar. */
function ecPrivateTemplate(key: KeyObject): graphene.ITemplate {
  const jwk = key.export({ format: "jwk" });
  return {
    class: graphene.ObjectClass.PRIVATE_KEY,
    keyType: graphene.KeyType.EC,
    // DER OBJECT IDENTIFIER of prime256v1, the PKCS#11 CKA_EC_PARAMS of a named curve.
    paramsEC: Buffer.from("06082a8648ce3d030107", "hex"),
    value: Buffer.from(jwk.d ?? "", "base64url"),
    token: false,
    private: true,
    sensitive: false,
    extractable: true,
  };
}
