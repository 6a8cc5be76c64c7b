// Asymmetric key operations of key_mgmt_util: genRSAKeyPair/genECCKeyPair, sign, verify, importPubKey, importPrivateKey, exportPubKey, exportPrivateKey.
import { generateKeyPair as generateCryptoKeyPair } from "node:crypto";
import { promisify } from "node:util";
import { aesKeyWrapPkcs5 } from "../../common/keyWrap";
import { RETURN_CODES } from "../../common/returnCodes";
import { KeyCreation, NewKeyOptions, NodeResult, StepOutcome } from "./clusterTypes";
import { asymmetricView, CurveName, CURVES, fromPrivateKey, fromPublicKey, ParsedKey, parsePrivateKey, parsePublicPem, RSA_MODULUS_BITS, RSA_PUBLIC_EXPONENT } from "./crypto/asymmetricKeys";
import { HashName, SignatureLayout, SignatureSpec, SignMechanism, signWith, verifyWith } from "./crypto/signatures";
import { HsmError } from "./errors";
import { defaultFlags, KeyObject } from "./key";
import { requireCryptoUser, unwrapWith } from "./keyGuards";
import { checkNewKey, KeyOperationParts } from "./keyOperations";
import { KeyClass, KeyType } from "./keyTypes";
import { LoginSession } from "./sessions";

const OK = RETURN_CODES.SUCCESS.code;

/** Largest message Sign and Verify hash themselves. */
export const MAX_SIGN_DATA_BYTES = 65536;

const generateAsync = promisify(generateCryptoKeyPair);

export interface GenerateKeyPairParams extends NewKeyOptions {
  readonly keyType: number;
  /** RSA only. */
  readonly modulusBits: number;
  /** RSA only; 0 means 65537. */
  readonly publicExponent: number;
  /** EC only. */
  readonly curve: CurveName | undefined;
  readonly nonExtractable: boolean;
}

export interface KeyPairCreation {
  readonly publicHandle: number;
  readonly privateHandle: number;
  readonly steps: readonly StepOutcome[];
  readonly nodes: readonly NodeResult[];
  /** Revision of the private key's creation event. */
  readonly revision: number;
}

export interface ImportPublicKeyParams extends NewKeyOptions {
  readonly pem: string;
}

export type PrivateKeyMaterial = { readonly kind: "pem"; readonly pem: string } | { readonly kind: "hostWrapped"; readonly bytes: Buffer };

export interface ImportPrivateKeyParams extends NewKeyOptions {
  readonly material: PrivateKeyMaterial;
  readonly wrappingKeyHandle: number;
}

export interface SignParams {
  readonly handle: number;
  readonly mechanism: SignMechanism;
  readonly hash: HashName;
  readonly input: { readonly kind: "data" | "digest"; readonly bytes: Buffer };
  readonly saltLength: number | undefined;
  readonly layout: SignatureLayout;
}

export interface VerifyParams extends SignParams {
  readonly signature: Buffer;
}

/**
 * A key pair is two keys created like any other (KeyPlacement.create) that share label, id and sharing;
 * when either creation fails, the other key is removed, so a pair exists whole or not at all.
 */
export class KeyPairOperations {
  constructor(private readonly parts: KeyOperationParts) {}

  async generateKeyPair(session: LoginSession, params: GenerateKeyPairParams, signal?: AbortSignal): Promise<KeyPairCreation> {
    requireCryptoUser(session);
    const keyType = checkPairSpec(params);
    const required = checkNewKey(this.parts, session, params);
    const pair =
      keyType === KeyType.RSA
        ? await generateAsync("rsa", { modulusLength: params.modulusBits, publicExponent: RSA_PUBLIC_EXPONENT })
        : await generateAsync("ec", { namedCurve: params.curve ?? "prime256v1" });
    const origin = { local: true, extractable: !params.nonExtractable };
    const publicKey = asymmetricDraft(session, params, fromPublicKey(pair.publicKey), origin);
    const privateKey = asymmetricDraft(session, params, fromPrivateKey(pair.privateKey), origin);
    const steps = [{ name: "Cfm3GenerateKeyPair", returnCode: OK }];
    // The id was free when checked; the generation above yielded, so check again before anything is created.
    this.parts.placement.checkRoomFor(params.id);
    const [pub, priv] = await this.createBoth(session, [publicKey, privateKey], required, params.timeoutSeconds, steps, signal);
    return { publicHandle: pub.handle, privateHandle: priv.handle, steps, nodes: priv.nodes, revision: priv.revision };
  }

  /** importPubKey: Cfm3CreatePublicKey of a PEM public key. */
  async importPublicKey(session: LoginSession, params: ImportPublicKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    requireCryptoUser(session);
    const required = checkNewKey(this.parts, session, params);
    const parsed = parsePublicPem(params.pem);
    const draft = asymmetricDraft(session, params, parsed, { local: false, extractable: true });
    const steps = [{ name: "Cfm3CreatePublicKey", returnCode: OK }];
    return this.parts.placement.create(draft, session.nodeId, required, params.timeoutSeconds, steps, signal);
  }

  /**
   * importPrivateKey, like imSymKey: the PKCS#8 DER is wrapped with the AES wrapping key (Cfm3WrapHostKey,
   * skipped when the host wrapped it), then unwrapped inside the HSM (Cfm3CreateUnwrapTemplate, Cfm3UnWrapKey).
   */
  async importPrivateKey(session: LoginSession, params: ImportPrivateKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    requireCryptoUser(session);
    const required = checkNewKey(this.parts, session, params);
    const wrappingKey = this.parts.guards.wrappingKey(session, params.wrappingKeyHandle, ["wrap", "unwrap"]);
    const steps: StepOutcome[] = [];
    let blob: Buffer;
    if (params.material.kind === "pem") {
      const parsed = parsePrivateKey({ pem: params.material.pem });
      blob = aesKeyWrapPkcs5(wrappingKey.material, parsed.der);
      parsed.der.fill(0);
      steps.push({ name: "Cfm3WrapHostKey", returnCode: OK });
    } else {
      blob = params.material.bytes;
    }
    steps.push({ name: "Cfm3CreateUnwrapTemplate", returnCode: OK });
    const der = unwrapWith(wrappingKey, blob, "Cfm3UnWrapKey");
    let parsed: ParsedKey;
    try {
      parsed = parsePrivateKey({ der });
    } finally {
      der.fill(0);
    }
    steps.push({ name: "Cfm3UnWrapKey", returnCode: OK });
    const draft = asymmetricDraft(session, params, parsed, { local: false, extractable: true });
    return this.parts.placement.create(draft, session.nodeId, required, params.timeoutSeconds, steps, signal);
  }

  /** exportPubKey: the SubjectPublicKeyInfo PEM of a public key the caller may use. */
  exportPublicKey(session: LoginSession, handle: number): string {
    requireCryptoUser(session);
    const key = this.parts.guards.usableKey(session, handle);
    requireClass(key, KeyClass.PUBLIC, "exportPubKey takes a public key");
    return asymmetricView(key.keyClass, key.material).publicKey.export({ format: "pem", type: "spki" }).toString();
  }

  /** exportPrivateKey's Cfm3WrapKey: the owner wraps an extractable private key's PKCS#8 DER under an AES wrapping key. */
  exportPrivateKey(session: LoginSession, handle: number, wrappingHandle: number): Buffer {
    requireCryptoUser(session);
    const { commits, guards } = this.parts;
    const key = guards.ownedKey(session, handle, "only the key's owner can export it");
    requireClass(key, KeyClass.PRIVATE, "exportPrivateKey takes a private key");
    if (!key.flags.extractable) throw new HsmError("KEY_NOT_EXTRACTABLE", "the key is not extractable", { key_handle: handle });
    const wrappingKey = guards.wrappingKey(session, wrappingHandle, ["wrap"]);
    const wrapped = aesKeyWrapPkcs5(wrappingKey.material, key.material);
    commits.record({ opcode: "CN_WRAP_KEY", node: session.nodeId, user: session.userId, handle, result: "SUCCESS", detail: `private key, wrapping key ${wrappingHandle}` });
    return wrapped;
  }

  /** sign: a private key with SIGN=1 whose type fits the mechanism. Data operations are not audited (see the README). */
  async sign(session: LoginSession, params: SignParams): Promise<Buffer> {
    requireCryptoUser(session);
    const key = this.signingKey(session, params, KeyClass.PRIVATE);
    return signWith(asymmetricView(key.keyClass, key.material), toSpec(params));
  }

  /** verify: a public key with VERIFY=1; a signature that does not verify is SIGNATURE_INVALID. */
  async verify(session: LoginSession, params: VerifyParams): Promise<void> {
    requireCryptoUser(session);
    const key = this.signingKey(session, params, KeyClass.PUBLIC);
    await verifyWith(asymmetricView(key.keyClass, key.material), toSpec(params), params.signature);
  }

  /** The key for sign (private) or verify (public), after class, type, flag and policy checks, in that order. */
  private signingKey(session: LoginSession, params: SignParams, keyClass: KeyClass.PUBLIC | KeyClass.PRIVATE): KeyObject {
    const key = this.parts.guards.usableKey(session, params.handle);
    const use = keyClass === KeyClass.PRIVATE ? "sign" : "verify";
    requireClass(key, keyClass, `${use} takes a ${keyClass === KeyClass.PRIVATE ? "private" : "public"} key`);
    const wanted = params.mechanism === "ECDSA" ? KeyType.EC : KeyType.RSA;
    if (key.keyType !== wanted) {
      throw new HsmError("KEY_TYPE_MISMATCH", `${params.mechanism} needs a key of type ${wanted}`, { key_handle: key.handle, key_type: key.keyType, mechanism: params.mechanism });
    }
    if (!key.flags[use]) {
      throw new HsmError("KEY_FUNCTION_NOT_PERMITTED", `the key's OBJ_ATTR_${use.toUpperCase()} is 0`, { key_handle: key.handle, function: use });
    }
    if (params.hash === "sha1") throw new HsmError("HASH_FIPS_DISALLOWED", "SHA-1 signatures violate the FIPS policy", { hash: params.hash });
    if (params.input.kind === "data" && params.input.bytes.length > MAX_SIGN_DATA_BYTES) {
      throw new HsmError("DATA_TOO_LARGE", `at most ${MAX_SIGN_DATA_BYTES} bytes are signed in one call`, { length: params.input.bytes.length, max: MAX_SIGN_DATA_BYTES });
    }
    return key;
  }

  /** Creates both keys at once (the public key gets the lower handle); if either fails the other is removed. */
  private async createBoth(
    session: LoginSession,
    drafts: readonly [KeyObject, KeyObject],
    required: number,
    timeoutSeconds: number | undefined,
    steps: StepOutcome[],
    signal: AbortSignal | undefined,
  ): Promise<[KeyCreation, KeyCreation]> {
    const { placement, keys } = this.parts;
    const results = await Promise.allSettled(drafts.map((draft) => placement.create(draft, session.nodeId, required, timeoutSeconds, steps, signal)));
    const [first, second] = results;
    if (first?.status === "fulfilled" && second?.status === "fulfilled") return [first.value, second.value];
    for (const result of results) {
      if (result.status !== "fulfilled") continue;
      const created = keys.get(result.value.handle);
      if (created) placement.tombstone(created);
    }
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    throw failed?.reason;
  }
}

/** A new RSA or EC key object of `parsed`'s class; the public key gets the public defaults whatever `origin` says. */
export function asymmetricDraft(session: LoginSession, options: NewKeyOptions, parsed: ParsedKey, origin: { local: boolean; extractable: boolean }): KeyObject {
  const keyType = parsed.view.keyType;
  return {
    handle: 0,
    ownerId: session.userId,
    keyClass: parsed.keyClass,
    keyType,
    label: options.label,
    id: options.id,
    flags: defaultFlags(keyType, { session: options.session, ...origin }, parsed.keyClass),
    // Emulator choice: the length of the DER at rest (the genECCKeyPair dump's 0x8a is a P-256 PKCS#8 key's length).
    valueLen: parsed.der.length,
    kcv: parsed.view.kcv,
    sharedWith: new Set(options.shareWith),
    sessionId: options.session ? session.sessionId : undefined,
    nodes: new Set(),
    material: parsed.der,
  };
}

function checkPairSpec(params: GenerateKeyPairParams): KeyType.RSA | KeyType.EC {
  if (params.keyType === (KeyType.RSA as number)) {
    if (!RSA_MODULUS_BITS.includes(params.modulusBits)) {
      throw new HsmError("KEY_LENGTH_INVALID", `RSA keys are ${RSA_MODULUS_BITS.join(", ")} bits`, { modulus_bits: params.modulusBits });
    }
    if (params.publicExponent !== 0 && params.publicExponent !== RSA_PUBLIC_EXPONENT) {
      throw new HsmError("MECHANISM_PARAM_INVALID", `the public exponent must be ${RSA_PUBLIC_EXPONENT}`, { public_exponent: params.publicExponent });
    }
    return KeyType.RSA;
  }
  if (params.keyType === (KeyType.EC as number)) {
    if (params.curve === undefined || !CURVES.has(params.curve)) throw new HsmError("REQUEST_INVALID", "name a supported curve", { field: "curve" });
    return KeyType.EC;
  }
  throw new HsmError("KEY_TYPE_NOT_ALLOWED", `key type ${params.keyType} is not allowed here`, { key_type: params.keyType, allowed: "0,3" });
}

function requireClass(key: KeyObject, keyClass: KeyClass, why: string): void {
  if (key.keyClass !== keyClass) throw new HsmError("KEY_TYPE_MISMATCH", why, { key_handle: key.handle, key_class: key.keyClass });
}

function toSpec(params: SignParams): SignatureSpec {
  return { mechanism: params.mechanism, hash: params.hash, input: params.input, saltLength: params.saltLength, layout: params.layout };
}
