// Gives the daemon the crypto rows' keys (the run's own material: ImportSymKey for AES, ImportPrivateKey for RSA and EC) and checks one answer of each operation independently before anything is measured.
import * as grpc from "@grpc/grpc-js";
import {
  CipherMechanism,
  EncryptRequest,
  HashAlgorithm,
  ImportPrivateKeyRequest,
  ImportSymKeyRequest,
  SignMechanism,
  SignRequest,
} from "../clients/generated/localcloudhsm/v1/hsm_service";
import { CRYPTO_OPS, CryptoMaterial, CryptoOp, gcmPlaintext, signMessage } from "./cryptoMaterial";
import { ENCRYPT, IMPORT_PRIVATE_KEY, IMPORT_SYM_KEY, SIGN } from "./methods";
import { checkGcmOutput, checkSignature } from "./nodeCryptoOps";
import { UnaryClient, UnaryMethod } from "./unaryClient";
import { CryptoHandles } from "./workerProtocol";

const AES = 31;
export const CRYPTO_KEY_LABEL = "bench-crypto";

export interface DaemonCryptoSetup {
  readonly handles: CryptoHandles;
  /** Operations the daemon cannot be measured on, with why (e.g. the RPC answers UNIMPLEMENTED). */
  readonly unavailable: Partial<Record<CryptoOp, string>>;
}

function unary<Req, Res>(client: UnaryClient, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => client.call(method, request, (err, res) => (err || res === undefined ? reject(err ?? new Error("no response")) : resolve(res))));
}

/** A one-line account of a failed call: the gRPC status name and the ErrorInfo-bearing details. */
function why(err: unknown): string {
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code === "number") return `${grpc.status[e.code] ?? e.code}: ${e.details ?? ""}`.trim();
  return String((err as Error)?.message ?? err);
}

/**
 * Imports the run's keys as token keys under the bench's wrapping key, then runs each operation once and checks
 * the answer with node:crypto (the signature verifies under the run's public key, the ciphertext decrypts under
 * the run's AES key). An operation whose set-up or check fails is left out of the measurements with the reason.
 */
export async function prepareDaemonCrypto(client: UnaryClient, wrappingKeyHandle: number, material: CryptoMaterial): Promise<DaemonCryptoSetup> {
  const handles: { -readonly [K in keyof CryptoHandles]: CryptoHandles[K] } = {};
  const unavailable: Partial<Record<CryptoOp, string>> = {};
  for (const op of CRYPTO_OPS) {
    try {
      if (op === "aesGcmEncrypt") {
        const created = await unary(
          client,
          IMPORT_SYM_KEY,
          ImportSymKeyRequest.fromPartial({ material: { $case: "keyMaterial", value: Buffer.from(material.aesKeyHex, "hex") }, wrappingKeyHandle, keyType: AES, label: CRYPTO_KEY_LABEL }),
        );
        const res = await unary(client, ENCRYPT, EncryptRequest.fromPartial({ keyHandle: created.keyHandle, mechanism: CipherMechanism.CIPHER_MECHANISM_AES_GCM, plaintext: gcmPlaintext() }));
        const problem = checkGcmOutput(material, res);
        if (problem !== undefined) throw new Error(`the daemon's AES-GCM output is wrong: ${problem}`);
        handles.aesKey = created.keyHandle;
      } else {
        const pem = op === "rsaSign" ? material.rsaPem : material.ecPem;
        const created = await unary(client, IMPORT_PRIVATE_KEY, ImportPrivateKeyRequest.fromPartial({ material: { $case: "pem", value: pem }, wrappingKeyHandle, label: CRYPTO_KEY_LABEL }));
        const mechanism = op === "rsaSign" ? SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15 : SignMechanism.SIGN_MECHANISM_ECDSA;
        const res = await unary(
          client,
          SIGN,
          SignRequest.fromPartial({ keyHandle: created.keyHandle, mechanism, hash: HashAlgorithm.HASH_ALGORITHM_SHA256, input: { $case: "data", value: signMessage() } }),
        );
        const problem = checkSignature(material, op, res.signature);
        if (problem !== undefined) throw new Error(`the daemon's signature is wrong: ${problem}`);
        if (op === "rsaSign") handles.rsaPrivateKey = created.keyHandle;
        else handles.ecPrivateKey = created.keyHandle;
      }
    } catch (err) {
      unavailable[op] = why(err);
    }
  }
  return { handles, unavailable };
}
