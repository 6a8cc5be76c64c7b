// Pure checks that turn the key-pair, sign/verify and public/private import/export requests into domain parameters.
import {
  EcCurve,
  ExportPrivateKeyRequest,
  GenerateKeyPairRequest,
  ImportPrivateKeyRequest,
  ImportPublicKeyRequest,
  SignatureEncoding,
  SignMechanism,
  SignRequest,
  VerifyRequest,
  WrapMechanism,
} from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { GenerateKeyPairParams, ImportPrivateKeyParams, ImportPublicKeyParams, SignParams, VerifyParams } from "../hsm/cluster";
import { CurveName } from "../hsm/crypto/asymmetricKeys";
import { SignMechanism as DomainMechanism } from "../hsm/crypto/signatures";
import { HsmError } from "../hsm/errors";
import { KeyType } from "../hsm/keyTypes";
import { nodeHashNameOf } from "./cipherValidation";
import { newKeyOptions } from "./requestValidation";

/** Largest PEM accepted: a 4096-bit RSA private key's PEM is about 3.3 KB. */
export const MAX_PEM_CHARS = 16_384;
/** Largest host-wrapped PKCS#8 blob. */
export const MAX_WRAPPED_PRIVATE_KEY_BYTES = 8192;
/** Longest signature: a 4096-bit RSA signature. */
export const MAX_SIGNATURE_BYTES = 512;

const CURVES: ReadonlyMap<EcCurve, CurveName> = new Map([
  [EcCurve.EC_CURVE_P256, "prime256v1"],
  [EcCurve.EC_CURVE_P384, "secp384r1"],
  [EcCurve.EC_CURVE_P521, "secp521r1"],
  [EcCurve.EC_CURVE_SECP256K1, "secp256k1"],
]);

const MECHANISMS: ReadonlyMap<SignMechanism, DomainMechanism> = new Map([
  [SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15, "RSA_PKCS1_V15"],
  [SignMechanism.SIGN_MECHANISM_RSA_PSS, "RSA_PSS"],
  [SignMechanism.SIGN_MECHANISM_ECDSA, "ECDSA"],
]);

const ENCODINGS: ReadonlySet<SignatureEncoding> = new Set([
  SignatureEncoding.SIGNATURE_ENCODING_UNSPECIFIED,
  SignatureEncoding.SIGNATURE_ENCODING_DER,
  SignatureEncoding.SIGNATURE_ENCODING_RAW,
]);

export function validateGenerateKeyPair(request: GenerateKeyPairRequest): GenerateKeyPairParams {
  // The curve only matters for EC; an RSA request may leave it unset.
  const curve = CURVES.get(request.curve);
  if (request.keyType === (KeyType.EC as number) && curve === undefined) {
    throw new HsmError("REQUEST_INVALID", "an EC key pair needs a curve", { field: "curve", value: String(request.curve) });
  }
  return {
    keyType: request.keyType,
    modulusBits: request.modulusBits,
    publicExponent: request.publicExponent,
    curve,
    nonExtractable: request.nonExtractable,
    ...newKeyOptions(request),
  };
}

export function validateImportPublicKey(request: ImportPublicKeyRequest): ImportPublicKeyParams {
  checkPem(request.pem, "pem");
  return { pem: request.pem, ...newKeyOptions(request) };
}

export function validateImportPrivateKey(request: ImportPrivateKeyRequest): ImportPrivateKeyParams {
  const material = request.material;
  if (!material) throw new HsmError("REQUEST_INVALID", "give pem or host_wrapped_key", { field: "material" });
  if (material.$case === "pem") checkPem(material.value, "pem");
  else if (material.value.length === 0 || material.value.length > MAX_WRAPPED_PRIVATE_KEY_BYTES) {
    throw new HsmError("REQUEST_INVALID", `host_wrapped_key is 1 to ${MAX_WRAPPED_PRIVATE_KEY_BYTES} bytes`, { field: "host_wrapped_key", length: material.value.length });
  }
  return {
    material: material.$case === "pem" ? { kind: "pem", pem: material.value } : { kind: "hostWrapped", bytes: material.value },
    wrappingKeyHandle: request.wrappingKeyHandle,
    ...newKeyOptions(request),
  };
}

/** ExportPrivateKey: KMU's exportPrivateKey wraps with AES key wrap and PKCS#5 padding (-m 4) only. */
export function validateExportPrivateKey(request: ExportPrivateKeyRequest): { handle: number; wrappingHandle: number } {
  const mechanism = request.mechanism;
  if (mechanism !== WrapMechanism.WRAP_MECHANISM_UNSPECIFIED && mechanism !== WrapMechanism.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5) {
    throw new HsmError("MECHANISM_INVALID", "exportPrivateKey wraps with AES_KEY_WRAP_PAD_PKCS5 (-m 4) only", { mechanism: String(mechanism) });
  }
  return { handle: request.keyHandle, wrappingHandle: request.wrappingKeyHandle };
}

export function validateSign(request: SignRequest): SignParams {
  const mechanism = MECHANISMS.get(request.mechanism);
  if (!mechanism) throw new HsmError("MECHANISM_INVALID", "name a sign mechanism", { mechanism: String(request.mechanism) });
  const hash = nodeHashNameOf(request.hash);
  if (!hash) throw new HsmError("MECHANISM_PARAM_INVALID", "name a hash", { field: "hash", value: String(request.hash) });
  const input = request.input;
  if (!input) throw new HsmError("REQUEST_INVALID", "give data or digest", { field: "input" });
  if (request.pssSaltLength !== undefined && mechanism !== "RSA_PSS") {
    throw new HsmError("MECHANISM_PARAM_INVALID", "pss_salt_length is for RSA_PSS only", { field: "pss_salt_length" });
  }
  if (!ENCODINGS.has(request.encoding)) {
    throw new HsmError("MECHANISM_PARAM_INVALID", "unknown signature encoding", { field: "encoding", value: String(request.encoding) });
  }
  return {
    handle: request.keyHandle,
    mechanism,
    hash,
    input: { kind: input.$case, bytes: input.value },
    saltLength: request.pssSaltLength,
    layout: request.encoding === SignatureEncoding.SIGNATURE_ENCODING_RAW ? "raw" : "der",
  };
}

export function validateVerify(request: VerifyRequest): VerifyParams {
  if (request.signature.length === 0 || request.signature.length > MAX_SIGNATURE_BYTES) {
    throw new HsmError("SIGNATURE_LENGTH_INVALID", `a signature is 1 to ${MAX_SIGNATURE_BYTES} bytes`, { signature_length: request.signature.length });
  }
  return { ...validateSign(request), signature: request.signature };
}

function checkPem(pem: string, field: string): void {
  if (pem.length === 0 || pem.length > MAX_PEM_CHARS) {
    throw new HsmError("REQUEST_INVALID", `${field} is 1 to ${MAX_PEM_CHARS} characters`, { field, length: pem.length });
  }
}
