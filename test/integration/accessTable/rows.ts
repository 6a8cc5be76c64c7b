// The access table's rows: one request per HsmService RPC, what each refers to (World), and how an outcome is
// reduced to a verdict and a comparable shape. accessTable.test.ts runs every row under every kind of credential.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { hsmProto, UserType, watchRequest } from "../../../clients";
import { RawOutcome } from "../../support/rawCall";
import { MethodInfo } from "../../support/serviceMethods";
import { TEST_PASSWORD } from "../../support/testDaemon";
import { genSymKeyRequest, importSymKeyRequest } from "../../support/rawRequests";

const S = grpc.status;
const { WatchSyncStatusResponse } = hsmProto;

/** Everything the requests of the table refer to. */
export interface World {
  aliceId: number;
  bobId: number;
  carolId: number;
  /** Alice's AES wrapping key. */
  W: number;
  /** Alice's imported key (not shared with anyone). */
  K: number;
  KLabel: string;
  KId: string;
  Kkcv: Buffer;
  /** A blob wrapped under W (alice's export of K). */
  blob: Buffer;
  /** Bob's wrapping key and another key of his. */
  BW: number;
  BK: number;
  /** Alice's generic secret (an HMAC key, not shared). */
  HM: number;
  /** A handle no key has ever had. */
  missing: number;
  /** Revision of K's creation. */
  kRevision: number;
  /** Alice's EC P-256 pair (not shared): public P, private Q, and Q's DER signature of SIGNED. */
  P: number;
  Q: number;
  sig: Buffer;
  /** PEMs of a key pair made outside the HSM, for the imports. */
  publicPem: string;
  privatePem: string;
}

/** What Q signed for the table. */
export const SIGNED = Buffer.from("access table");
const ecdsa = { mechanism: hsmProto.SignMechanism.SIGN_MECHANISM_ECDSA, hash: hsmProto.HashAlgorithm.HASH_ALGORITHM_SHA256, input: { $case: "data" as const, value: SIGNED } };
export const signRequest = (keyHandle: number) => ({ keyHandle, ...ecdsa });
export const verifyRequest = (keyHandle: number, signature: Buffer) => ({ keyHandle, ...ecdsa, signature });
export const privateImportRequest = (wrappingKeyHandle: number, pem: string) => ({ material: { $case: "pem" as const, value: pem }, wrappingKeyHandle, label: "access-private" });

export type Request = (w: World) => object;

export interface Row {
  /** Valid request naming alice's objects (used for the credential columns). */
  readonly request: Request;
  /** Refused for a crypto officer with INVALID_USER_TYPE. */
  readonly keyRpc: boolean;
  /**
   * For another crypto user: pairs of requests that differ only in naming alice's key or a missing handle; both
   * must be answered identically. Absent for RPCs that take no key: another user's valid session simply works.
   */
  readonly foreign?: readonly [mine: Request, missing: Request][];
}

export const aesRequest = (label: string) => genSymKeyRequest({ label });
export const importRequest = (wrappingKeyHandle: number, label: string) => importSymKeyRequest(wrappingKeyHandle, { $case: "keyMaterial", value: randomBytes(32) }, { label });
export const watchFrom = (startRevision: number, keyHandles: number[]) => watchRequest({ startRevision, keyHandles });

const encryptRequest = (keyHandle: number) => ({ keyHandle, mechanism: hsmProto.CipherMechanism.CIPHER_MECHANISM_AES_GCM, plaintext: Buffer.from("data") });
const decryptRequest = (keyHandle: number) => ({ keyHandle, mechanism: hsmProto.CipherMechanism.CIPHER_MECHANISM_AES_ECB, ciphertext: Buffer.alloc(16) });
// A wrong MAC: SIGNATURE_INVALID for alice, KEY_NOT_FOUND for anyone who cannot see the key.
const verifyMacRequest = (keyHandle: number) => ({ keyHandle, hash: hsmProto.HashAlgorithm.HASH_ALGORITHM_SHA256, data: Buffer.from("data"), mac: Buffer.alloc(32) });

/** One row per HsmService RPC; the test fails if an RPC is missing here. */
export const HSM_TABLE: Record<string, Row> = {
  Login: { request: () => ({ userType: UserType.USER_TYPE_CU, username: "alice", password: TEST_PASSWORD }), keyRpc: false },
  Logout: { request: () => ({}), keyRpc: false },
  GenSymKey: { request: () => aesRequest("access-gen"), keyRpc: true },
  ImportSymKey: {
    request: (w) => importRequest(w.W, "access-import"),
    keyRpc: true,
    foreign: [[(w) => importRequest(w.W, "foreign-import"), (w) => importRequest(w.missing, "foreign-import")]],
  },
  GetAttribute: {
    request: (w) => ({ keyHandle: w.K, attributeId: 371 }),
    keyRpc: true,
    foreign: [
      [(w) => ({ keyHandle: w.K, attributeId: 371 }), (w) => ({ keyHandle: w.missing, attributeId: 371 })],
      [(w) => ({ keyHandle: w.K, attributeId: 512 }), (w) => ({ keyHandle: w.missing, attributeId: 512 })],
    ],
  },
  FindKey: {
    request: (w) => ({ label: w.KLabel, sharedWithUserIds: [], pageSize: 0, pageToken: "" }),
    keyRpc: true,
    foreign: [
      [(w) => ({ label: w.KLabel, sharedWithUserIds: [], pageSize: 0, pageToken: "" }), () => ({ label: "no-such-label", sharedWithUserIds: [], pageSize: 0, pageToken: "" })],
      [(w) => ({ id: w.KId, sharedWithUserIds: [], pageSize: 0, pageToken: "" }), () => ({ id: "no-such-id", sharedWithUserIds: [], pageSize: 0, pageToken: "" })],
      [(w) => ({ kcv: w.Kkcv, sharedWithUserIds: [], pageSize: 0, pageToken: "" }), (w) => ({ kcv: Buffer.from(w.Kkcv.map((b) => b ^ 0xff)), sharedWithUserIds: [], pageSize: 0, pageToken: "" })],
    ],
  },
  ShareKey: {
    request: (w) => ({ keyHandle: w.K, userIds: [w.carolId], share: true }),
    keyRpc: true,
    foreign: [
      [(w) => ({ keyHandle: w.K, userIds: [w.carolId], share: true }), (w) => ({ keyHandle: w.missing, userIds: [w.carolId], share: true })],
      [(w) => ({ keyHandle: w.K, userIds: [w.aliceId], share: false }), (w) => ({ keyHandle: w.missing, userIds: [w.aliceId], share: false })],
    ],
  },
  WatchSyncStatus: {
    request: (w) => watchFrom(w.kRevision, [w.K]),
    keyRpc: false,
    foreign: [[(w) => watchFrom(w.kRevision, [w.K, w.BK]), (w) => watchFrom(w.kRevision, [w.missing, w.BK])]],
  },
  WrapKey: {
    request: (w) => ({ keyHandle: w.K, wrappingKeyHandle: w.W }),
    keyRpc: true,
    foreign: [
      [(w) => ({ keyHandle: w.K, wrappingKeyHandle: w.BW }), (w) => ({ keyHandle: w.missing, wrappingKeyHandle: w.BW })],
      [(w) => ({ keyHandle: w.BK, wrappingKeyHandle: w.W }), (w) => ({ keyHandle: w.BK, wrappingKeyHandle: w.missing })],
    ],
  },
  UnwrapHostKey: {
    request: (w) => ({ wrappingKeyHandle: w.W, wrappedKey: w.blob }),
    keyRpc: true,
    foreign: [[(w) => ({ wrappingKeyHandle: w.W, wrappedKey: w.blob }), (w) => ({ wrappingKeyHandle: w.missing, wrappedKey: w.blob })]],
  },
  SetAttribute: {
    request: (w) => ({ keyHandle: w.K, attributeId: 1, value: 1 }),
    keyRpc: true,
    foreign: [[(w) => ({ keyHandle: w.K, attributeId: 1, value: 1 }), (w) => ({ keyHandle: w.missing, attributeId: 1, value: 1 })]],
  },
  DeleteKey: {
    request: (w) => ({ keyHandle: w.K }),
    keyRpc: true,
    foreign: [[(w) => ({ keyHandle: w.K }), (w) => ({ keyHandle: w.missing })]],
  },
  GetKeyInfo: {
    request: (w) => ({ keyHandle: w.K }),
    keyRpc: true,
    foreign: [[(w) => ({ keyHandle: w.K }), (w) => ({ keyHandle: w.missing })]],
  },
  ListHsmUsers: { request: () => ({}), keyRpc: false },
  GetAttestationKeys: { request: () => ({}), keyRpc: false },
  Encrypt: {
    request: (w) => encryptRequest(w.K),
    keyRpc: true,
    foreign: [[(w) => encryptRequest(w.K), (w) => encryptRequest(w.missing)]],
  },
  Decrypt: {
    request: (w) => decryptRequest(w.K),
    keyRpc: true,
    foreign: [[(w) => decryptRequest(w.K), (w) => decryptRequest(w.missing)]],
  },
  Mac: {
    request: (w) => ({ keyHandle: w.HM, hash: hsmProto.HashAlgorithm.HASH_ALGORITHM_SHA256, data: Buffer.from("data") }),
    keyRpc: true,
    // Alice's AES key and her HMAC key alike: bob sees neither.
    foreign: [
      [(w) => ({ keyHandle: w.K, hash: hsmProto.HashAlgorithm.HASH_ALGORITHM_SHA256, data: Buffer.from("data") }), (w) => ({ keyHandle: w.missing, hash: hsmProto.HashAlgorithm.HASH_ALGORITHM_SHA256, data: Buffer.from("data") })],
    ],
  },
  VerifyMac: {
    request: (w) => verifyMacRequest(w.HM),
    keyRpc: true,
    foreign: [[(w) => verifyMacRequest(w.K), (w) => verifyMacRequest(w.missing)]],
  },
  GenerateKeyPair: { request: () => ({ keyType: 3, curve: hsmProto.EcCurve.EC_CURVE_P256, label: "access-pair" }), keyRpc: true },
  Sign: {
    request: (w) => signRequest(w.Q),
    keyRpc: true,
    foreign: [[(w) => signRequest(w.Q), (w) => signRequest(w.missing)]],
  },
  Verify: {
    request: (w) => verifyRequest(w.P, w.sig),
    keyRpc: true,
    foreign: [[(w) => verifyRequest(w.P, w.sig), (w) => verifyRequest(w.missing, w.sig)]],
  },
  ImportPublicKey: { request: (w) => ({ pem: w.publicPem, label: "access-public" }), keyRpc: true },
  ImportPrivateKey: {
    request: (w) => privateImportRequest(w.W, w.privatePem),
    keyRpc: true,
    foreign: [[(w) => privateImportRequest(w.W, w.privatePem), (w) => privateImportRequest(w.missing, w.privatePem)]],
  },
  ExportPublicKey: {
    request: (w) => ({ keyHandle: w.P }),
    keyRpc: true,
    foreign: [[(w) => ({ keyHandle: w.P }), (w) => ({ keyHandle: w.missing })]],
  },
  ExportPrivateKey: {
    request: (w) => ({ keyHandle: w.Q, wrappingKeyHandle: w.W }),
    keyRpc: true,
    foreign: [
      [(w) => ({ keyHandle: w.Q, wrappingKeyHandle: w.BW }), (w) => ({ keyHandle: w.missing, wrappingKeyHandle: w.BW })],
      [(w) => ({ keyHandle: w.BK, wrappingKeyHandle: w.W }), (w) => ({ keyHandle: w.BK, wrappingKeyHandle: w.missing })],
    ],
  },
  // Sets carol's password to the one she has: harmless to the rest of the file when it works (for an officer).
  ChangeUserPassword: { request: () => ({ username: "carol", newPassword: TEST_PASSWORD }), keyRpc: false },
};

/** A compact, diff-friendly summary of an outcome. */
export function verdict(o: RawOutcome): string {
  if (o.code === S.OK) return "OK";
  return `${S[o.code]} ${o.info?.reason ?? "(no ErrorInfo)"} ${o.info?.metadata.kmu_return_code ?? "(no kmu_return_code)"}`;
}

/** An outcome with every mention of the given handles replaced, so "alice's key" and "a missing key" can be compared. */
export function shape(m: MethodInfo, o: RawOutcome, handles: readonly number[]): unknown {
  const scrub = (v: string): string => (handles.map(String).includes(v) ? "<handle>" : v);
  return {
    code: S[o.code],
    details: o.details,
    reason: o.info?.reason,
    domain: o.info?.domain,
    metadata: o.info ? Object.fromEntries(Object.entries(o.info.metadata).map(([k, v]) => [k, scrub(v)])) : undefined,
    response: o.response ? m.decodeResponse(o.response) : undefined,
    messages: o.messages.map((b) => WatchSyncStatusResponse.decode(b)),
  };
}
