// Pure checks that turn proto requests into domain parameters; shape errors are refused before the domain runs.
import { UserType } from "../../clients/generated/localcloudhsm/v1/common";
import {
  FindKeyRequest,
  GenSymKeyRequest,
  GetAttributeRequest,
  ImportSymKeyRequest,
  LoginRequest,
  ShareKeyRequest,
  WatchSyncStatusRequest,
} from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { CreateUserRequest, UnlockUserRequest } from "../../clients/generated/localcloudhsm/v1/admin_service";
import { GenSymKeyParams, ImportSymKeyParams, KeyFilter, NewKeyOptions } from "../hsm/cluster";
import { HsmError } from "../hsm/errors";
import { KCV_LENGTH } from "../hsm/crypto/kcv";
import { UserRole } from "../hsm/users";
import { MAX_NONCE_BYTES, MIN_NONCE_BYTES } from "../hsm/attestation";

/** Largest share list accepted; CloudHSM clusters hold at most 1,024 users. */
export const MAX_SHARE_USERS = 1024;
export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;

export function validateLogin(request: LoginRequest): { role: UserRole; username: string; password: string } {
  return { role: roleOf(request.userType), username: request.username, password: request.password };
}

/** UnlockUser: an empty new_password keeps the current password. */
export function validateUnlockUser(request: UnlockUserRequest): { username: string; newPassword: string | undefined } {
  return { username: request.username, newPassword: request.newPassword === "" ? undefined : request.newPassword };
}

export function validateCreateUser(request: CreateUserRequest): { role: UserRole; username: string; password: string } {
  return { role: roleOf(request.userType), username: request.username, password: request.password };
}

/** The nonce of an attested call, or undefined when the call does not ask for attestation. */
export function attestNonce(request: { attest: boolean; attestNonce: Buffer }): Buffer | undefined {
  if (!request.attest) return undefined;
  if (request.attestNonce.length < MIN_NONCE_BYTES || request.attestNonce.length > MAX_NONCE_BYTES) {
    throw new HsmError("REQUEST_INVALID", `attest_nonce is ${MIN_NONCE_BYTES} to ${MAX_NONCE_BYTES} bytes`, {
      field: "attest_nonce",
      length: request.attestNonce.length,
    });
  }
  return request.attestNonce;
}

/** The request fields every key-creating call has. */
export type NewKeyRequestFields = Pick<GenSymKeyRequest, "label" | "id" | "session" | "shareWithUserIds" | "minSrv" | "timeoutSeconds">;

/** What every key-creating request says alike about the key it creates: names, scope, sharing, min_srv. */
export function newKeyOptions(request: NewKeyRequestFields): NewKeyOptions {
  return {
    label: request.label,
    id: request.id,
    session: request.session,
    shareWith: shareList(request.shareWithUserIds),
    minSrv: request.minSrv,
    timeoutSeconds: request.timeoutSeconds,
  };
}

export function validateGenSymKey(request: GenSymKeyRequest): GenSymKeyParams {
  return {
    keyType: request.keyType,
    keySize: request.keySize,
    nonExtractable: request.nonExtractable,
    ...newKeyOptions(request),
  };
}

export function validateImportSymKey(request: ImportSymKeyRequest): ImportSymKeyParams {
  const material = request.material;
  if (!material) {
    throw new HsmError("REQUEST_INVALID", "give key_material (-f) or host_wrapped_key (-wk)", { field: "material" });
  }
  return {
    keyType: request.keyType,
    wrappingKeyHandle: request.wrappingKeyHandle,
    material: material.$case === "keyMaterial" ? { kind: "plaintext", bytes: material.value } : { kind: "hostWrapped", bytes: material.value },
    ...newKeyOptions(request),
  };
}

export function validateGetAttribute(request: GetAttributeRequest): { handle: number; attributeId: number } {
  return { handle: request.keyHandle, attributeId: request.attributeId };
}

/** Longest -m modulus: a 4096-bit key's. */
const MAX_MODULUS_BYTES = 512;

export interface FindKeyQuery {
  readonly filter: KeyFilter;
  readonly pageSize: number;
  readonly pageToken: string;
}

export function validateFindKey(request: FindKeyRequest): FindKeyQuery {
  if (request.pageSize < 0) throw new HsmError("PAGE_SIZE_INVALID", "page_size must not be negative", { page_size: request.pageSize });
  if (request.kcv !== undefined && request.kcv.length !== KCV_LENGTH) {
    throw new HsmError("REQUEST_INVALID", "kcv is 3 bytes", { field: "kcv", length: request.kcv.length });
  }
  if (request.modulus !== undefined && (request.modulus.length === 0 || request.modulus[0] === 0 || request.modulus.length > MAX_MODULUS_BYTES)) {
    throw new HsmError("REQUEST_INVALID", `modulus is 1 to ${MAX_MODULUS_BYTES} big-endian bytes without leading zeros`, { field: "modulus", length: request.modulus.length });
  }
  const sharedWith = shareList(request.sharedWithUserIds);
  return {
    filter: {
      ...(request.keyClass !== undefined ? { keyClass: request.keyClass } : {}),
      ...(request.keyType !== undefined ? { keyType: request.keyType } : {}),
      ...(request.label !== undefined ? { label: request.label } : {}),
      ...(request.id !== undefined ? { id: request.id } : {}),
      ...(request.session !== undefined ? { session: request.session } : {}),
      ...(sharedWith.length > 0 ? { sharedWith } : {}),
      ...(request.kcv !== undefined ? { kcv: Buffer.from(request.kcv) } : {}),
      ...(request.modulus !== undefined ? { modulus: Buffer.from(request.modulus) } : {}),
    },
    // AIP-158: zero means the default; larger than the maximum is coerced down.
    pageSize: request.pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(request.pageSize, MAX_PAGE_SIZE),
    pageToken: request.pageToken,
  };
}

function shareList(ids: readonly number[]): number[] {
  if (ids.length > MAX_SHARE_USERS) {
    throw new HsmError("REQUEST_INVALID", `at most ${MAX_SHARE_USERS} user ids`, { field: "user_ids", count: ids.length });
  }
  return [...ids];
}

function roleOf(type: UserType): UserRole {
  switch (type) {
    case UserType.USER_TYPE_CU:
      return UserRole.CU;
    case UserType.USER_TYPE_CO:
      return UserRole.CO;
    default:
      throw new HsmError("REQUEST_INVALID", "user_type must be USER_TYPE_CU or USER_TYPE_CO", { field: "user_type", value: String(type) });
  }
}

export function validateShareKey(request: ShareKeyRequest): { handle: number; userIds: number[]; share: boolean } {
  return { handle: request.keyHandle, userIds: shareList(request.userIds), share: request.share };
}

/** Bounds of WatchSyncStatus progress notices (the default is the --watch-progress-ms setting). */
export const MIN_PROGRESS_INTERVAL_MS = 10;
export const MAX_WATCH_FILTER_ITEMS = 10_000;

export interface WatchQuery {
  readonly startRevision: number;
  readonly handles: ReadonlySet<number>;
  readonly nodes: ReadonlySet<number>;
  readonly progressIntervalMs: number;
  /** 1: one event per response; more: batches of up to this many. */
  readonly maxEventsPerResponse: number;
  /** 0: never ends; else ends once the one watched key is on this many nodes (or gone). */
  readonly untilNodesHolding: number;
}

/** Batches stay far below the 4 MiB default message limit of gRPC clients (an event is about 30 bytes). */
export const MAX_EVENTS_PER_RESPONSE = 4096;

export function validateWatch(request: WatchSyncStatusRequest, defaultProgressMs: number): WatchQuery {
  const start = Number(request.startRevision);
  if (!/^\d+$/.test(request.startRevision) || !Number.isSafeInteger(start)) {
    throw new HsmError("REQUEST_INVALID", "start_revision must be 0 or a positive revision", { field: "start_revision", value: request.startRevision });
  }
  if (request.keyHandles.length > MAX_WATCH_FILTER_ITEMS || request.nodeIds.length > MAX_WATCH_FILTER_ITEMS) {
    throw new HsmError("REQUEST_INVALID", `at most ${MAX_WATCH_FILTER_ITEMS} handles or nodes in a filter`, { field: "key_handles" });
  }
  const interval = request.progressIntervalMs === 0 ? defaultProgressMs : request.progressIntervalMs;
  if (interval < MIN_PROGRESS_INTERVAL_MS) {
    throw new HsmError("REQUEST_INVALID", `progress_interval_ms is at least ${MIN_PROGRESS_INTERVAL_MS}`, { field: "progress_interval_ms" });
  }
  if (request.maxEventsPerResponse > MAX_EVENTS_PER_RESPONSE) {
    throw new HsmError("REQUEST_INVALID", `max_events_per_response is at most ${MAX_EVENTS_PER_RESPONSE}`, {
      field: "max_events_per_response",
      max: MAX_EVENTS_PER_RESPONSE,
    });
  }
  if (request.untilNodesHolding > 0 && new Set(request.keyHandles).size !== 1) {
    throw new HsmError("REQUEST_INVALID", "until_nodes_holding needs exactly one handle in key_handles", {
      field: "until_nodes_holding",
      key_handles: request.keyHandles.length,
    });
  }
  // A node filter would hide the replications that reach the count, so the stream could never end.
  if (request.untilNodesHolding > 0 && request.nodeIds.length > 0) {
    throw new HsmError("REQUEST_INVALID", "until_nodes_holding cannot be combined with node_ids", { field: "until_nodes_holding" });
  }
  return {
    startRevision: start,
    handles: new Set(request.keyHandles),
    nodes: new Set(request.nodeIds),
    progressIntervalMs: interval,
    maxEventsPerResponse: Math.max(1, request.maxEventsPerResponse),
    untilNodesHolding: request.untilNodesHolding,
  };
}
