// WrapKey and UnwrapKey with KMU's wrapping mechanisms: which keys may wrap and be wrapped, length rules, and the key an unwrap creates.
import { KeyObject as CryptoKey } from "node:crypto";
import { UnwrapIntegrityError } from "../../common/keyWrap";
import { RETURN_CODES } from "../../common/returnCodes";
import { GroupCommit } from "./groupCommit";
import { KeyCreation, NewKeyOptions, StepOutcome } from "./clusterTypes";
import {
  isAesMechanism,
  modulusBytes,
  OaepHash,
  unwrapKeyBytes,
  WrapMechanism,
  WrapParams,
  WrapperKey,
  wrapKeyBytes,
  wrapLengthProblem,
  wrappedLengthProblem,
} from "./crypto/wrapMechanisms";
import { asymmetricView, ParsedKey, parsePrivateKey } from "./crypto/asymmetricKeys";
import { HsmError } from "./errors";
import { KeyObject } from "./key";
import { checkKeyType, checkMaterialLength, KeyGuards, requireCryptoUser } from "./keyGuards";
import { buildKey, checkNewKey } from "./keyOperations";
import { asymmetricDraft } from "./keyPairOperations";
import { KeyPlacement } from "./keyPlacement";
import { KeyClass, KeyType } from "./keyTypes";
import { LoginSession } from "./sessions";

const OK = RETURN_CODES.SUCCESS.code;

/** Largest blob UnwrapKey takes: room for a PKCS#8 RSA-4096 private key under any mechanism. */
export const MAX_UNWRAP_BYTES = 8192;

/** How WrapKey wraps (the proto's defaults already applied). */
export interface WrapKeyParams extends WrapParams {
  readonly keyHandle: number;
  readonly wrappingKeyHandle: number;
}

/** UnwrapKey: the blob, how it was wrapped, and the new key's class, type and attributes. */
export interface UnwrapKeyParams extends WrapParams, NewKeyOptions {
  readonly wrappingKeyHandle: number;
  readonly wrappedKey: Buffer;
  readonly keyClass: number;
  readonly keyType: number;
  readonly nonExtractable: boolean;
}

export interface WrapOperationParts {
  readonly commits: GroupCommit;
  readonly guards: KeyGuards;
  readonly placement: KeyPlacement;
}

/** Both calls are for crypto users; every check runs before any key is wrapped, unwrapped or created. */
export class WrapOperations {
  constructor(private readonly parts: WrapOperationParts) {}

  /** KMU wrapKey / exSymKey's Cfm3WrapKey: the owner wraps an extractable secret or private key. */
  wrapKey(session: LoginSession, params: WrapKeyParams): Buffer {
    requireCryptoUser(session);
    const { commits, guards } = this.parts;
    const handle = params.keyHandle;
    const key = guards.ownedKey(session, handle, "only the key's owner can export it");
    if (!key.flags.extractable) throw new HsmError("KEY_NOT_EXTRACTABLE", "the key is not extractable", { key_handle: handle });
    if (key.keyClass === KeyClass.PUBLIC) {
      throw new HsmError("KEY_TYPE_MISMATCH", "public keys are exported, not wrapped", { key_handle: handle, key_class: key.keyClass });
    }
    const wrapper = this.wrapperKey(session, params.wrappingKeyHandle, params.mechanism, "wrap");
    const plaintext = key.material;
    const problem = wrapLengthProblem(params.mechanism, plaintext.length, params.oaepHash, wrapper.kind === "rsa" ? modulusBytes(wrapper.key) : 0);
    if (problem) {
      throw new HsmError("KEY_LENGTH_INVALID", problem, { key_handle: handle, key_length: plaintext.length, mechanism: params.mechanism });
    }
    const wrapped = wrapKeyBytes(wrapper, params, plaintext);
    commits.record({
      opcode: "CN_WRAP_KEY",
      node: session.nodeId,
      user: session.userId,
      handle,
      result: "SUCCESS",
      detail: `wrapping key ${params.wrappingKeyHandle} mechanism ${params.mechanism}`,
    });
    return wrapped;
  }

  /** KMU unWrapKey: Cfm3CreateUnwrapTemplate, then Cfm3UnWrapKey creates the key (LOCAL=0) like imSymKey does. */
  async unwrapKey(session: LoginSession, params: UnwrapKeyParams, signal?: AbortSignal): Promise<KeyCreation> {
    requireCryptoUser(session);
    const keyType = newKeyType(params.keyClass, params.keyType);
    const required = checkNewKey(this.parts, session, params);
    const wrapper = this.wrapperKey(session, params.wrappingKeyHandle, params.mechanism, "unwrap");
    const problem = wrappedLengthProblem(params.mechanism, params.wrappedKey.length, wrapper.kind === "rsa" ? modulusBytes(wrapper.key) : 0);
    if (problem) {
      throw new HsmError("DATA_LENGTH_INVALID", problem, { field: "wrapped_key", length: params.wrappedKey.length, mechanism: params.mechanism });
    }
    const steps: StepOutcome[] = [{ name: "Cfm3CreateUnwrapTemplate", returnCode: OK }];
    let material: Buffer;
    try {
      material = unwrapKeyBytes(wrapper, params, params.wrappedKey);
    } catch (err) {
      if (!(err instanceof UnwrapIntegrityError)) throw err;
      throw new HsmError("UNWRAP_INTEGRITY_FAILED", "the wrapped key does not unwrap with the wrapping key and mechanism", {
        step: "Cfm3UnWrapKey",
        wrapping_key_handle: params.wrappingKeyHandle,
        mechanism: params.mechanism,
      });
    }
    let key: KeyObject;
    try {
      key = this.newKey(session, params, keyType, material);
    } catch (err) {
      material.fill(0);
      throw err;
    }
    steps.push({ name: "Cfm3UnWrapKey", returnCode: OK });
    return this.parts.placement.create(key, session.nodeId, required, params.timeoutSeconds, steps, signal);
  }

  /** The key object an unwrap creates, after its material passed the checks of its class and type. */
  private newKey(session: LoginSession, params: UnwrapKeyParams, keyType: KeyType, material: Buffer): KeyObject {
    const origin = { local: false, extractable: !params.nonExtractable };
    if (params.keyClass === (KeyClass.SECRET as number)) {
      checkMaterialLength(keyType, material.length);
      return buildKey(session, params, keyType, material, origin);
    }
    // A private key arrives as PKCS#8 DER: it must parse, be a size or curve the HSM takes, and be of the named type.
    let parsed: ParsedKey;
    try {
      parsed = parsePrivateKey({ der: material });
    } finally {
      material.fill(0);
    }
    if (parsed.view.keyType !== keyType) {
      parsed.der.fill(0);
      throw new HsmError("KEY_TYPE_MISMATCH", `the unwrapped private key is of type ${parsed.view.keyType}, not ${keyType}`, {
        key_type: keyType,
        unwrapped_key_type: parsed.view.keyType,
      });
    }
    return asymmetricDraft(session, params, parsed, origin);
  }

  /** The key that wraps (or unwraps) with the mechanism: AES for the AES mechanisms, RSA public (private) for RSA ones. */
  private wrapperKey(session: LoginSession, handle: number, mechanism: WrapMechanism, use: "wrap" | "unwrap"): WrapperKey {
    const { guards } = this.parts;
    if (isAesMechanism(mechanism)) {
      // The AES mechanisms keep exSymKey's and imSymKey's reasons (WRAPPING_KEY_NOT_AES, WRAPPING_KEY_CANNOT_WRAP).
      return { kind: "aes", material: guards.wrappingKey(session, handle, [use]).material };
    }
    const key = guards.usableKey(session, handle);
    const wantedClass = use === "wrap" ? KeyClass.PUBLIC : KeyClass.PRIVATE;
    if (key.keyType !== KeyType.RSA || key.keyClass !== wantedClass) {
      throw new HsmError("KEY_TYPE_MISMATCH", `mechanism ${mechanism} needs an RSA ${use === "wrap" ? "public" : "private"} key`, {
        key_handle: handle,
        key_class: key.keyClass,
        key_type: key.keyType,
        mechanism,
      });
    }
    if (!(use === "wrap" ? key.flags.wrap : key.flags.unwrap)) {
      throw new HsmError("KEY_FUNCTION_NOT_PERMITTED", `the key needs OBJ_ATTR_${use.toUpperCase()}=1`, { key_handle: handle, [use]: false });
    }
    const view = asymmetricView(key.keyClass, key.material);
    return { kind: "rsa", key: use === "wrap" ? view.publicKey : requirePrivate(view.privateKey) };
  }
}

/** The new key's type when it fits its class: secret 16, 21 or 31; private 0 (RSA) or 3 (EC). */
function newKeyType(keyClass: number, keyType: number): KeyType {
  // The request's numbers are compared with the enums' numbers.
  if (keyClass === (KeyClass.SECRET as number)) return checkKeyType(keyType, [KeyType.AES, KeyType.DES3, KeyType.GENERIC_SECRET]);
  if (keyClass === (KeyClass.PRIVATE as number)) {
    if (keyType === (KeyType.RSA as number)) return KeyType.RSA;
    if (keyType === (KeyType.EC as number)) return KeyType.EC;
    throw new HsmError("KEY_TYPE_NOT_ALLOWED", `key type ${keyType} is not a private key type`, { key_class: keyClass, key_type: keyType, allowed: "0,3" });
  }
  throw new HsmError("REQUEST_INVALID", "key_class is 3 (private) or 4 (secret)", { field: "key_class", key_class: keyClass });
}

function requirePrivate(key: CryptoKey | undefined): CryptoKey {
  if (!key) throw new TypeError("a private key object without its private key");
  return key;
}

export type { OaepHash };
export { WrapMechanism };
