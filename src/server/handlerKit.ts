// What every HsmService handler file shares: the cluster, the logger, session authentication, and key-creation responses.
import * as grpc from "@grpc/grpc-js";
import { Attestation, AttestationDocument, HsmServiceServer, WatchSyncStatusRequest } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { NodeStatus, StepResult } from "../../clients/generated/localcloudhsm/v1/common";
import { HsmCluster, KeyCreation } from "../hsm/cluster";
import { LoginSession } from "../hsm/sessions";
import { bearerToken } from "./auth";
import { CallContext, unaryCall } from "./callAdapter";
import { Logger } from "./logger";
import { attestNonce } from "./requestValidation";
import { toNodeStatuses, toSteps } from "./responseMapping";

/** The generated server type without grpc-js's untyped index signature, which Omit would keep instead of the methods. */
type NamedMethods<T> = { [K in keyof T as string extends K ? never : K]: T[K] };

/** The handlers; WatchSyncStatus writes responses already encoded (see watchEncoding). */
export type HsmServiceHandlers = Omit<NamedMethods<HsmServiceServer>, "watchSyncStatus"> & {
  watchSyncStatus: grpc.handleServerStreamingCall<WatchSyncStatusRequest, Buffer>;
};

/** What a handler file needs to build its handlers. */
export interface HandlerKit {
  readonly cluster: HsmCluster;
  readonly logger: Logger;
  /** The caller's session from the call's bearer token; records the user in the call's log line. */
  readonly authenticate: (context: Pick<CallContext, "metadata" | "log">) => LoginSession;
}

export function handlerKit(cluster: HsmCluster, logger: Logger): HandlerKit {
  return {
    cluster,
    logger,
    authenticate: (context) => {
      const session = cluster.session(bearerToken(context.metadata));
      context.log.userId = session.userId;
      return session;
    },
  };
}

/** The fields every key-creating response shares. */
export interface CreationFields {
  keyHandle: number;
  steps: StepResult[];
  nodeStatuses: NodeStatus[];
  revision: string;
  attestations: Attestation[];
}

/**
 * A call that creates one key: authenticate, validate, check the attest nonce before creating anything, create,
 * log the new handle, and answer with steps, node lines and attestations.
 */
export function keyCreationCall<Req extends { attest: boolean; attestNonce: Buffer }, Params>(
  kit: HandlerKit,
  method: string,
  validate: (request: Req) => Params,
  create: (session: LoginSession, params: Params, signal: AbortSignal) => Promise<KeyCreation>,
): grpc.handleUnaryCall<Req, CreationFields> {
  return unaryCall(method, kit.logger, async (request: Req, context) => {
    const session = kit.authenticate(context);
    const params = validate(request);
    const nonce = attestNonce(request);
    const created = await create(session, params, context.signal);
    context.log.keyHandle = created.handle;
    return { ...creationResponse(created), attestations: attestations(kit.cluster, session, created.handle, nonce) };
  });
}

export function creationResponse(created: KeyCreation): Omit<CreationFields, "attestations"> {
  return { keyHandle: created.handle, steps: toSteps(created.steps), nodeStatuses: toNodeStatuses(created.nodes), revision: String(created.revision) };
}

/** With -attest, each answering node's signed statement about its firmware, the nonce and the new key. */
export function attestations(cluster: HsmCluster, session: LoginSession, handle: number, nonce: Buffer | undefined): Attestation[] {
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
