// HsmService handlers: validate the request, call the cluster, build the response (errors are mapped by the adapter).
import { HsmServiceServer } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { attributeFileText } from "../hsm/attributes";
import { HsmCluster } from "../hsm/cluster";
import { LoginSession } from "../hsm/sessions";
import { bearerToken } from "./auth";
import { CallContext, unaryCall } from "./callAdapter";
import { Logger } from "./logger";
import { PageTokenCodec } from "./pageToken";
import {
  validateFindKey,
  validateGenSymKey,
  validateGetAttribute,
  validateImportSymKey,
  validateLogin,
} from "./requestValidation";
import { toAttributeValue, toNodeStatuses, toSteps } from "./responseMapping";

export function hsmServiceHandlers(cluster: HsmCluster, pageTokens: PageTokenCodec, logger: Logger): HsmServiceServer {
  const authenticate = (context: CallContext): LoginSession => {
    const session = cluster.session(bearerToken(context.metadata));
    context.log.userId = session.userId;
    return session;
  };

  return {
    login: unaryCall("Login", logger, async (request, context) => {
      const { role, username, password } = validateLogin(request);
      const { token, session } = await cluster.login(role, username, password);
      context.log.userId = session.userId;
      return { sessionToken: token, userId: session.userId, nodeStatuses: toNodeStatuses(cluster.allNodes()) };
    }),

    logout: unaryCall("Logout", logger, (_request, context) => {
      authenticate(context);
      const nodes = cluster.logout(bearerToken(context.metadata) ?? "");
      return { nodeStatuses: toNodeStatuses(nodes) };
    }),

    genSymKey: unaryCall("GenSymKey", logger, (request, context) => {
      const params = validateGenSymKey(request);
      const session = authenticate(context);
      const created = cluster.genSymKey(session, params);
      context.log.keyHandle = created.handle;
      return { keyHandle: created.handle, steps: toSteps(created.steps), nodeStatuses: toNodeStatuses(created.nodes), revision: String(created.revision) };
    }),

    importSymKey: unaryCall("ImportSymKey", logger, (request, context) => {
      const params = validateImportSymKey(request);
      const session = authenticate(context);
      const created = cluster.importSymKey(session, params);
      context.log.keyHandle = created.handle;
      return { keyHandle: created.handle, steps: toSteps(created.steps), nodeStatuses: toNodeStatuses(created.nodes), revision: String(created.revision) };
    }),

    getAttribute: unaryCall("GetAttribute", logger, (request, context) => {
      const { handle, attributeId } = validateGetAttribute(request);
      const session = authenticate(context);
      context.log.keyHandle = handle;
      const readings = cluster.getAttribute(session, handle, attributeId);
      return { keyHandle: handle, attributes: readings.map(toAttributeValue), fileText: attributeFileText(readings) };
    }),

    findKey: unaryCall("FindKey", logger, (request, context) => {
      const query = validateFindKey(request);
      const session = authenticate(context);
      const scope = PageTokenCodec.scope([session.sessionId, query.filter.keyClass, query.filter.keyType, query.filter.label,
        query.filter.id, query.filter.session, query.filter.sharedWith, query.filter.kcv?.toString("hex")]);
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
        nodeStatuses: toNodeStatuses(cluster.allNodes()),
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
