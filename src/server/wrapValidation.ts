// Pure checks of WrapKey and UnwrapKey requests: the mechanism, the parameters it allows, the blob's size.
import { HashAlgorithm, UnwrapKeyRequest, WrapKeyRequest, WrapMechanism as ProtoWrapMechanism } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { MAX_UNWRAP_BYTES, UnwrapKeyParams, WrapKeyParams } from "../hsm/cluster";
import { OaepHash, WrapMechanism } from "../hsm/crypto/wrapMechanisms";
import { HsmError } from "../hsm/errors";
import { nodeHashNameOf } from "./cipherValidation";
import { newKeyOptions } from "./requestValidation";

/** The proto's values are KMU's -m numbers, so each maps to the domain value of the same number. */
const MECHANISMS: ReadonlyMap<number, WrapMechanism> = new Map([
  [ProtoWrapMechanism.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5, WrapMechanism.AES_KEY_WRAP_PAD_PKCS5],
  [ProtoWrapMechanism.WRAP_MECHANISM_AES_KEY_WRAP_NO_PAD, WrapMechanism.AES_KEY_WRAP_NO_PAD],
  [ProtoWrapMechanism.WRAP_MECHANISM_AES_KEY_WRAP_ZERO_PAD, WrapMechanism.AES_KEY_WRAP_ZERO_PAD],
  [ProtoWrapMechanism.WRAP_MECHANISM_RSA_AES, WrapMechanism.RSA_AES],
  [ProtoWrapMechanism.WRAP_MECHANISM_RSA_OAEP, WrapMechanism.RSA_OAEP],
  [ProtoWrapMechanism.WRAP_MECHANISM_AES_GCM, WrapMechanism.AES_GCM],
]);

/** Longest AAD accepted for AES-GCM wrapping. */
export const MAX_WRAP_AAD_BYTES = 8192;

export function validateWrapKey(request: WrapKeyRequest): WrapKeyParams {
  // exSymKey sends no mechanism: it has only mechanism 4.
  const mechanism = request.mechanism === ProtoWrapMechanism.WRAP_MECHANISM_UNSPECIFIED ? WrapMechanism.AES_KEY_WRAP_PAD_PKCS5 : mechanismOf(request.mechanism);
  return {
    keyHandle: request.keyHandle,
    wrappingKeyHandle: request.wrappingKeyHandle,
    mechanism,
    ...mechanismParams(mechanism, request.aad, request.oaepHash),
  };
}

export function validateUnwrapKey(request: UnwrapKeyRequest): UnwrapKeyParams {
  if (request.mechanism === ProtoWrapMechanism.WRAP_MECHANISM_UNSPECIFIED) {
    throw new HsmError("MECHANISM_INVALID", "name the mechanism that wrapped the key (-m)", { field: "mechanism" });
  }
  const mechanism = mechanismOf(request.mechanism);
  if (request.wrappedKey.length > MAX_UNWRAP_BYTES) {
    throw new HsmError("DATA_TOO_LARGE", `wrapped keys are at most ${MAX_UNWRAP_BYTES} bytes`, {
      field: "wrapped_key",
      length: request.wrappedKey.length,
      max_length: MAX_UNWRAP_BYTES,
    });
  }
  return {
    wrappingKeyHandle: request.wrappingKeyHandle,
    wrappedKey: request.wrappedKey,
    mechanism,
    ...mechanismParams(mechanism, request.aad, request.oaepHash),
    keyClass: request.keyClass,
    keyType: request.keyType,
    nonExtractable: request.nonExtractable,
    ...newKeyOptions(request),
  };
}

function mechanismOf(value: number): WrapMechanism {
  const mechanism = MECHANISMS.get(value);
  if (mechanism === undefined) throw new HsmError("MECHANISM_INVALID", `wrap mechanism ${value} is not supported`, { field: "mechanism", mechanism: value });
  return mechanism;
}

/** AAD belongs to AES-GCM and a hash to the RSA mechanisms; either given to another mechanism is refused. */
function mechanismParams(mechanism: WrapMechanism, aad: Buffer, hash: HashAlgorithm): { aad: Buffer; oaepHash: OaepHash } {
  if (aad.length > 0 && mechanism !== WrapMechanism.AES_GCM) {
    throw new HsmError("MECHANISM_PARAM_INVALID", "aad is for AES-GCM only", { field: "aad", mechanism });
  }
  if (aad.length > MAX_WRAP_AAD_BYTES) {
    throw new HsmError("MECHANISM_PARAM_INVALID", `aad is at most ${MAX_WRAP_AAD_BYTES} bytes`, { field: "aad", length: aad.length });
  }
  const rsa = mechanism === WrapMechanism.RSA_OAEP || mechanism === WrapMechanism.RSA_AES;
  if (hash === HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED) return { aad, oaepHash: "sha256" };
  const oaepHash = nodeHashNameOf(hash);
  if (!rsa || oaepHash === undefined) {
    throw new HsmError("MECHANISM_PARAM_INVALID", rsa ? `hash ${hash} is not an OAEP hash` : "oaep_hash is for RSA_OAEP and RSA_AES only", {
      field: "oaep_hash",
      mechanism,
    });
  }
  return { aad, oaepHash };
}
