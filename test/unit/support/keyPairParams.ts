// Builders for the key-pair parameter objects of the domain tests.
import { GenerateKeyPairParams, SignParams } from "../../../src/hsm/cluster";
import { KeyType } from "../../../src/hsm/keyTypes";
import { keyOptions } from "./harness";

export function rsaParams(overrides: Partial<GenerateKeyPairParams> = {}): GenerateKeyPairParams {
  return { ...keyOptions({ label: "pair" }), keyType: KeyType.RSA, modulusBits: 2048, publicExponent: 65537, curve: undefined, nonExtractable: false, ...overrides };
}

export function ecParams(curve: GenerateKeyPairParams["curve"] = "prime256v1", overrides: Partial<GenerateKeyPairParams> = {}): GenerateKeyPairParams {
  return { ...keyOptions({ label: "pair" }), keyType: KeyType.EC, modulusBits: 0, publicExponent: 0, curve, nonExtractable: false, ...overrides };
}

export function signParams(handle: number, overrides: Partial<SignParams> = {}): SignParams {
  return { handle, mechanism: "ECDSA", hash: "sha256", input: { kind: "data", bytes: Buffer.from("message") }, saltLength: undefined, layout: "der", ...overrides };
}
