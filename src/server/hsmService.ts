// HsmService handlers: validate the request, call the cluster, build the response (errors are mapped by the adapter).
import * as grpc from "@grpc/grpc-js";
import { GenSymKeyResponse, HsmServiceServer, WatchSyncStatusRequest } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { attributeFileText } from "../hsm/attributes";
import { HsmCluster } from "../hsm/cluster";
import { LoginSession } from "../hsm/sessions";
import { bearerToken } from "./auth";
import { CallContext, unaryCall } from "./callAdapter";
import { OpenStreams, serverStreamingCall } from "./streamAdapter";
import { Logger } from "./logger";
import { PageTokenCodec } from "./pageToken";
import {
  validateFindKey,
  validateGenSymKey,
  validateGetAttribute,
  validateImportSymKey,
  attestNonce,
  validateLogin,
  validateShareKey,
  validateWatch,
} from "./requestValidation";
import { toAttributeValue, toNodeStatuses, toSteps, toUser } from "./responseMapping";
import { Attestation, AttestationDocument } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { NodeStatus, StepResult } from "../../clients/generated/localcloudhsm/v1/common";
import { KeyCreation } from "../hsm/cluster";
import { WatchItem } from "../hsm/syncWatcher";
import { WatchResponseEncoder } from "./watchEncoding";

/** How the watch stream behaves; the defaults suit tests and laptops alike. */
export interface WatchSettings {
  readonly defaultProgressIntervalMs: number;
  /** A watcher this many revisions behind is ended with WATCHER_TOO_SLOW. */
  readonly maxLag: number;
}

/** The generated server type without grpc-js's untyped index signature, which Omit would keep instead of the methods. */
type NamedMethods<T> = { [K in keyof T as string extends K ? never : K]: T[K] };

/** The handlers; WatchSyncStatus writes responses already encoded (see watchEncoding). */
export type HsmServiceHandlers = Omit<NamedMethods<HsmServiceServer>, "watchSyncStatus"> & {
  watchSyncStatus: grpc.handleServerStreamingCall<WatchSyncStatusRequest, Buffer>;
};

/**
 * Every key call authenticates first, so a caller without a session learns nothing, not even the
 * request rules; then validates (pure), calls the cluster and builds the response. Failures are
 * mapped to statuses in one place, by the call adapter.
 */
export function hsmServiceHandlers(
  cluster: HsmCluster,
  pageTokens: PageTokenCodec,
  logger: Logger,
  streams: OpenStreams,
  watchSettings: WatchSettings,
): HsmServiceHandlers {
  const encoder = new WatchResponseEncoder();
  const authenticate = (context: Pick<CallContext, "metadata" | "log">): LoginSession => {
    const session = cluster.session(bearerToken(context.metadata));
    context.log.userId = session.userId;
    return session;
  };
  /**
   * GenSymKey and ImportSymKey differ only in what they validate and which cluster call creates the key; both check
   * the attest nonce before creating anything, log the new handle and answer with node lines and attestations.
   */
  const keyCreationCall = <Req extends { attest: boolean; attestNonce: Buffer }, Params>(
    method: string,
    validate: (request: Req) => Params,
    create: (session: LoginSession, params: Params, signal: AbortSignal) => Promise<KeyCreation>,
  ): grpc.handleUnaryCall<Req, GenSymKeyResponse> =>
    unaryCall(method, logger, async (request: Req, context) => {
      const session = authenticate(context);
      const params = validate(request);
      const nonce = attestNonce(request);
      const created = await create(session, params, context.signal);
      context.log.keyHandle = created.handle;
      return { ...creationResponse(created), attestations: attestations(cluster, session, created.handle, nonce) };
    });

  return {
    login: unaryCall("Login", logger, async (request, context) => {
      const { role, username, password } = validateLogin(request);
      // The connection, not the address: clients on one host (loopback) must not share one login budget.
      const { token, session } = await cluster.login(role, username, password, context.peer);
      context.log.userId = session.userId;
      return { sessionToken: token, userId: session.userId, nodeStatuses: toNodeStatuses(cluster.nodeResults()) };
    }),

    logout: unaryCall("Logout", logger, (_request, context) => {
      authenticate(context);
      const nodes = cluster.logout(bearerToken(context.metadata) ?? "");
      return { nodeStatuses: toNodeStatuses(nodes) };
    }),

    genSymKey: keyCreationCall("GenSymKey", validateGenSymKey, (session, params, signal) => cluster.genSymKey(session, params, signal)),

    importSymKey: keyCreationCall("ImportSymKey", validateImportSymKey, (session, params, signal) => cluster.importSymKey(session, params, signal)),

    wrapKey: unaryCall("WrapKey", logger, (request, context) => {
      const session = authenticate(context);
      context.log.keyHandle = request.keyHandle;
      const wrapped = cluster.wrapKey(session, request.keyHandle, request.wrappingKeyHandle);
      return { wrappedKey: wrapped, steps: toSteps([{ name: "Cfm3WrapKey", returnCode: 0 }]) };
    }),

    unwrapHostKey: unaryCall("UnwrapHostKey", logger, (request, context) => {
      const session = authenticate(context);
      const material = cluster.unwrapHostKey(session, request.wrappingKeyHandle, request.wrappedKey);
      return { keyMaterial: material, steps: toSteps([{ name: "Cfm3UnWrapHostKey", returnCode: 0 }]) };
    }),

    setAttribute: unaryCall("SetAttribute", logger, (request, context) => {
      const session = authenticate(context);
      context.log.keyHandle = request.keyHandle;
      const result = cluster.setAttribute(session, request.keyHandle, request.attributeId, request.value);
      return { nodeStatuses: toNodeStatuses(result.nodes), revision: String(result.revision) };
    }),

    deleteKey: unaryCall("DeleteKey", logger, (request, context) => {
      const session = authenticate(context);
      context.log.keyHandle = request.keyHandle;
      const result = cluster.deleteKey(session, request.keyHandle);
      return { nodeStatuses: toNodeStatuses(result.nodes), revision: String(result.revision) };
    }),

    getKeyInfo: unaryCall("GetKeyInfo", logger, (request, context) => {
      const session = authenticate(context);
      context.log.keyHandle = request.keyHandle;
      const info = cluster.getKeyInfo(session, request.keyHandle);
      return { ownerUserId: info.ownerId, sharedWithUserIds: info.sharedWith, nodeStatuses: toNodeStatuses(info.nodes) };
    }),

    listHsmUsers: unaryCall("ListHsmUsers", logger, (_request, context) => {
      authenticate(context);
      return { users: cluster.listUsers().map(toUser), nodeStatuses: toNodeStatuses(cluster.nodeResults()) };
    }),

    changeUserPassword: unaryCall("ChangeUserPassword", logger, async (request, context) => {
      const session = authenticate(context);
      const user = await cluster.resetUserLogin(session, request.username, request.newPassword);
      return { user: toUser(user) };
    }),

    getAttestationKeys: unaryCall("GetAttestationKeys", logger, (_request, context) => {
      authenticate(context);
      return {
        keys: cluster.attestationKeys().map(({ nodeId, publicKeyDer, expectedFirmwareMeasurement }) => ({
          nodeId,
          publicKey: publicKeyDer,
          expectedFirmwareMeasurement,
        })),
      };
    }),

    getAttribute: unaryCall("GetAttribute", logger, (request, context) => {
      const session = authenticate(context);
      const { handle, attributeId } = validateGetAttribute(request);
      context.log.keyHandle = handle;
      const readings = cluster.getAttribute(session, handle, attributeId);
      return { keyHandle: handle, attributes: readings.map(toAttributeValue), fileText: attributeFileText(readings) };
    }),

    findKey: unaryCall("FindKey", logger, (request, context) => {
      const session = authenticate(context);
      const query = validateFindKey(request);
      const scope = PageTokenCodec.scope([session.sessionId, query.filter.keyClass, query.filter.keyType, query.filter.label,
        query.filter.id, query.filter.session, query.filter.sharedWith && [...query.filter.sharedWith].sort((a, b) => a - b),
        query.filter.kcv?.toString("hex")]);
      const after = query.pageToken === "" ? 0 : pageTokens.decode(query.pageToken, scope);
      const matches = cluster.findKey(session, query.filter);
      const start = after === 0 ? 0 : firstAfter(matches, after);
      const page = matches.slice(start, start + query.pageSize);
      const last = page[page.length - 1];
      const more = start + page.length < matches.length && last !== undefined;
      return {
        keyHandles: page,
        nextPageToken: more ? pageTokens.encode(scope, last) : "",
        totalSize: matches.length,
        nodeStatuses: toNodeStatuses(cluster.nodeResults()),
      };
    }),

    shareKey: unaryCall("ShareKey", logger, (request, context) => {
      const session = authenticate(context);
      const { handle, userIds, share } = validateShareKey(request);
      context.log.keyHandle = handle;
      const result = cluster.shareKey(session, handle, userIds, share);
      return { sharedWithUserIds: result.sharedWith, revision: String(result.revision), nodeStatuses: toNodeStatuses(cluster.nodeResults()) };
    }),

    watchSyncStatus: serverStreamingCall("WatchSyncStatus", logger, streams, (request, context) => {
      const session = authenticate(context);
      const query = validateWatch(request, watchSettings.defaultProgressIntervalMs);
      // The watch keeps its session in use until the stream ends, and ends when the session is logged out or expires.
      const watcher = cluster.openWatch(session, { ...query, maxLag: watchSettings.maxLag }, context.signal);
      return {
        items: watcher.items(context.signal),
        toMessage: (item: WatchItem) => encoder.encode(item),
        // While the client is not reading, the watch's lag policy decides when to give up on it.
        whileBlocked: (signal) => watcher.failWhenTooFarBehind(signal),
      };
    }),
  };
}

function creationResponse(created: KeyCreation): { keyHandle: number; steps: StepResult[]; nodeStatuses: NodeStatus[]; revision: string } {
  return { keyHandle: created.handle, steps: toSteps(created.steps), nodeStatuses: toNodeStatuses(created.nodes), revision: String(created.revision) };
}

/** With -attest, each answering node's signed statement about its firmware, the nonce and the new key. */
function attestations(cluster: HsmCluster, session: LoginSession, handle: number, nonce: Buffer | undefined): Attestation[] {
  if (!nonce) return [];
  return cluster.attestKey(session, nonce, handle).map((statement) => {
    const document = Buffer.from(
      AttestationDocument.encode({
        nodeId: statement.nodeId,
        firmwareMeasurement: statement.firmwareMeasurement,
        nonce: statement.nonce,
        keyHandle: statement.keyHandle,
        time: new Date(statement.atMs),
      }).finish(),
    );
    return { nodeId: statement.nodeId, document, signature: cluster.signAttestation(statement.nodeId, document) };
  });
}

/** Index of the first handle greater than `after` in an ascending list. */
function firstAfter(sorted: readonly number[], after: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
