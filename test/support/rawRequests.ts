// Complete GenSymKey and ImportSymKey requests (every field at its default) for tests that call the RPCs without
// the facade; each test overrides the fields it is about.
import { hsmProto, KEY_TYPE } from "../../clients";

/** An AES-256 token key labelled "k"; `overrides` replace any field. */
export function genSymKeyRequest(overrides: Partial<hsmProto.GenSymKeyRequest> = {}): hsmProto.GenSymKeyRequest {
  return {
    keyType: KEY_TYPE.AES,
    keySize: 32,
    label: "k",
    id: "",
    session: false,
    shareWithUserIds: [],
    nonExtractable: false,
    attest: false,
    attestNonce: Buffer.alloc(0),
    minSrv: undefined,
    timeoutSeconds: undefined,
    ...overrides,
  };
}

/** An AES token key labelled "k" imported from `material` under `wrappingKeyHandle`; `overrides` replace any field. */
export function importSymKeyRequest(
  wrappingKeyHandle: number,
  material: hsmProto.ImportSymKeyRequest["material"],
  overrides: Partial<hsmProto.ImportSymKeyRequest> = {},
): hsmProto.ImportSymKeyRequest {
  return {
    material,
    wrappingKeyHandle,
    keyType: KEY_TYPE.AES,
    label: "k",
    id: "",
    session: false,
    attest: false,
    attestNonce: Buffer.alloc(0),
    shareWithUserIds: [],
    minSrv: undefined,
    timeoutSeconds: undefined,
    ...overrides,
  };
}
