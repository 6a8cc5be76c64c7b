// HsmService handlers: validate the request, call the cluster, build the response (errors are mapped by the adapter).
import { attributeFileText } from "../hsm/attributes";
import { HsmCluster } from "../hsm/cluster";
import { WatchItem } from "../hsm/syncWatcher";
import { bearerToken } from "./auth";
import { unaryCall } from "./callAdapter";
import { cipherHandlers } from "./cipherHandlers";
import { handlerKit, HsmServiceHandlers, keyCreationCall } from "./handlerKit";
import { infoHandlers } from "./infoHandlers";
import { keyPairHandlers } from "./keyPairHandlers";
import { Logger } from "./logger";
import { PageTokenCodec } from "./pageToken";
import {
  validateFindKey,
  validateGenSymKey,
  validateGetAttribute,
  validateImportSymKey,
  validateLogin,
  validateShareKey,
  validateWatch,
} from "./requestValidation";
import { toAttributeValue, toNodeStatuses, toUser } from "./responseMapping";
import { OpenStreams, serverStreamingCall } from "./streamAdapter";
import { WatchResponseEncoder } from "./watchEncoding";
import { wrapHandlers } from "./wrapHandlers";

export type { HsmServiceHandlers } from "./handlerKit";

/** How the watch stream behaves; the defaults suit tests and laptops alike. */
export interface WatchSettings {
  readonly defaultProgressIntervalMs: number;
  /** A watcher this many revisions behind is ended with WATCHER_TOO_SLOW. */
  readonly maxLag: number;
}

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
  const kit = handlerKit(cluster, logger);
  const authenticate = kit.authenticate;
  return {
    ...cipherHandlers(kit),
    ...keyPairHandlers(kit),
    ...wrapHandlers(kit),
    ...infoHandlers(kit),
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

    genSymKey: keyCreationCall(kit, "GenSymKey", validateGenSymKey, (session, params, signal) => cluster.genSymKey(session, params, signal)),

    importSymKey: keyCreationCall(kit, "ImportSymKey", validateImportSymKey, (session, params, signal) => cluster.importSymKey(session, params, signal)),

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
        query.filter.kcv?.toString("hex"), query.filter.modulus?.toString("hex")]);
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
