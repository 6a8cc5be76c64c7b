// What one call of each measured scenario sends and how its answer is checked (load-worker side).
import { createCipheriv, randomBytes } from "node:crypto";
import {
  CipherMechanism,
  EncryptRequest,
  FindKeyRequest,
  GetAttributeRequest,
  HashAlgorithm,
  ImportSymKeyRequest,
  SignMechanism,
  SignRequest,
} from "../clients/generated/localcloudhsm/v1/hsm_service";
import { GCM_IV_BYTES, GCM_PLAINTEXT_BYTES, GCM_TAG_BYTES, gcmPlaintext, RSA_SIGNATURE_BYTES, signMessage } from "./cryptoMaterial";
import { ENCRYPT, FIND_KEY, GET_ATTRIBUTE, HEALTH_CHECK, IMPORT_SYM_KEY, SIGN } from "./methods";
import { UnaryClient } from "./unaryClient";
import { AcknowledgedKey, ScenarioName, ScenarioParams } from "./workerProtocol";

const AES = 31;
const KCV_ATTRIBUTE = 371;
const IMPORT_KEY_BYTES = 32;

/** Completion of one call: undefined on success, else a one-line description of what went wrong. */
export type CallDone = (error: string | undefined) => void;

export interface Scenario {
  issue(client: UnaryClient, done: CallDone): void;
  /** Keys the daemon acknowledged (ImportSymKey only). */
  acknowledged(): AcknowledgedKey[];
}

export function makeScenario(name: ScenarioName, params: ScenarioParams): Scenario {
  switch (name) {
    case "ceiling":
      return simple((client, done) =>
        client.call(HEALTH_CHECK, { service: "" }, (err, res) =>
          done(err ? describe(err) : res?.status === "SERVING" ? undefined : `health status ${res?.status}`),
        ),
      );
    case "getAttribute": {
      const kcvRequest = GetAttributeRequest.fromPartial({ keyHandle: params.kcvHandle, attributeId: KCV_ATTRIBUTE });
      return simple((client, done) =>
        client.call(GET_ATTRIBUTE, kcvRequest, (err, res) => {
          if (err) return done(describe(err));
          const value = res?.attributes[0]?.value;
          done(value?.$case === "bytesValue" && value.value.length === 3 ? undefined : "GetAttribute returned no 3-byte KCV");
        }),
      );
    }
    case "findKey": {
      const findRequest = FindKeyRequest.fromPartial({ label: params.findLabel });
      return simple((client, done) =>
        client.call(FIND_KEY, findRequest, (err, res) => {
          if (err) return done(describe(err));
          const found = res?.keyHandles.length ?? -1;
          done(found === params.findExpected ? undefined : `FindKey returned ${found} handles, expected ${params.findExpected}`);
        }),
      );
    }
    case "importSymKey":
      return importScenario(params);
    case "aesGcmEncrypt":
      return gcmScenario(cryptoHandle(params, "aesKey"));
    case "ecdsaSign":
      return signScenario(cryptoHandle(params, "ecPrivateKey"), SignMechanism.SIGN_MECHANISM_ECDSA);
    case "rsaSign":
      return signScenario(cryptoHandle(params, "rsaPrivateKey"), SignMechanism.SIGN_MECHANISM_RSA_PKCS1_V15);
  }
}

function cryptoHandle(params: ScenarioParams, which: keyof NonNullable<ScenarioParams["crypto"]>): number {
  const handle = params.crypto?.[which];
  if (handle === undefined) throw new Error(`no ${which} in the scenario parameters: the crypto set-up did not make it`);
  return handle;
}

/**
 * AES-GCM Encrypt of the same 4 KiB each call; the HSM makes the IV. Each answer's shape is checked here (a full
 * decryption per call would bill the load generator); cryptoSetup.ts decrypts one answer before measuring.
 */
function gcmScenario(keyHandle: number): Scenario {
  const request = EncryptRequest.fromPartial({ keyHandle, mechanism: CipherMechanism.CIPHER_MECHANISM_AES_GCM, plaintext: gcmPlaintext() });
  return simple((client, done) =>
    client.call(ENCRYPT, request, (err, res) => {
      if (err) return done(describe(err));
      const ok = res?.ciphertext.length === GCM_PLAINTEXT_BYTES && res.iv.length === GCM_IV_BYTES && res.tag.length === GCM_TAG_BYTES;
      done(ok ? undefined : `Encrypt returned ${res?.ciphertext.length}/${res?.iv.length}/${res?.tag.length} bytes of ciphertext/IV/tag`);
    }),
  );
}

/** Sign of the same 256-byte message with SHA-256, hashed by the HSM; cryptoSetup.ts verifies one signature before measuring. */
function signScenario(keyHandle: number, mechanism: SignMechanism): Scenario {
  const request = SignRequest.fromPartial({ keyHandle, mechanism, hash: HashAlgorithm.HASH_ALGORITHM_SHA256, input: { $case: "data", value: signMessage() } });
  // RSA-2048 signatures are exactly 256 bytes; a DER ECDSA P-256 signature is a SEQUENCE of two integers, 8 to 72 bytes.
  const plausible = mechanism === SignMechanism.SIGN_MECHANISM_ECDSA ? (n: number) => n >= 8 && n <= 72 : (n: number) => n === RSA_SIGNATURE_BYTES;
  return simple((client, done) =>
    client.call(SIGN, request, (err, res) => {
      if (err) return done(describe(err));
      const length = res?.signature.length ?? 0;
      done(plausible(length) ? undefined : `Sign returned a ${length}-byte signature`);
    }),
  );
}

function simple(issue: Scenario["issue"]): Scenario {
  return { issue, acknowledged: () => [] };
}

/** Durable (token) AES-256 imports, each of fresh random material; remembers what was acknowledged. */
function importScenario(params: ScenarioParams): Scenario {
  const material = new RandomSlices(IMPORT_KEY_BYTES);
  const acked: { handle: number; material: Buffer }[] = [];
  // Every other field at its proto default, so fields added to the message later need no change here.
  const template = ImportSymKeyRequest.fromPartial({ wrappingKeyHandle: params.wrappingKey, keyType: AES, label: params.importLabel });
  return {
    issue(client, done) {
      const bytes = material.next();
      client.call(
        IMPORT_SYM_KEY,
        { ...template, material: { $case: "keyMaterial", value: bytes } },
        (err, res) => {
          if (err) return done(describe(err));
          if (!res || res.keyHandle <= 0) return done("ImportSymKey returned no handle");
          acked.push({ handle: res.keyHandle, material: bytes });
          done(undefined);
        },
      );
    },
    acknowledged: () => acked.map((k) => ({ handle: k.handle, kcvHex: aesKcv(k.material).toString("hex") })),
  };
}

/** Fresh random byte strings of one size, cut from large random blocks (one CSPRNG call per block). */
class RandomSlices {
  private block = Buffer.alloc(0);
  private offset = 0;

  constructor(private readonly size: number) {}

  next(): Buffer {
    if (this.offset + this.size > this.block.length) {
      // A new block rather than a refill: slices already handed out stay as they were.
      this.block = randomBytes(this.size * 2048);
      this.offset = 0;
    }
    const slice = this.block.subarray(this.offset, this.offset + this.size);
    this.offset += this.size;
    return slice;
  }
}

/** KMU key check value of an AES key, computed independently of the daemon. */
export function aesKcv(key: Buffer): Buffer {
  const cipher = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
  return cipher.update(Buffer.alloc(16)).subarray(0, 3);
}

function describe(err: { code?: number; details?: string; message: string }): string {
  return `${err.code ?? "?"} ${err.details ?? err.message}`;
}
