// Builds a daemon from its configuration: store, cluster, services, health and reflection, wired in one place.
import * as grpc from "@grpc/grpc-js";
import { AdminServiceService } from "../../clients/generated/localcloudhsm/v1/admin_service";
import { ClusterControlServiceService } from "../../clients/generated/localcloudhsm/v1/cluster_control_service";
import { HsmServiceService } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { Clock, systemClock } from "../hsm/clock";
import { HsmCluster } from "../hsm/cluster";
import { HsmStore } from "../hsm/store/hsmStore";
import { PasswordHasher, UserRole } from "../hsm/users";
import { adminServiceHandlers } from "./adminService";
import { clusterControlHandlers } from "./clusterControlService";
import { DevUser } from "./config";
import { hsmServiceHandlers, WatchSettings } from "./hsmService";
import { withEncodedWatchResponses } from "./watchEncoding";

import { addHealth, addReflection, setAllNotServing } from "./introspection";
import { Logger } from "./logger";
import { PageTokenCodec } from "./pageToken";
import { gateService, transportLimit } from "./requestGate";
import { DEFAULT_HTTP2_LIMITS, Http2Limits, http2ServerOptions } from "./http2Limits";
import { OpenStreams } from "./streamAdapter";
import { Timers } from "../hsm/timers";
import { SessionLimits } from "../hsm/sessions";
import { AuditTrail } from "../hsm/auditLog";
import { LoginLimits } from "../hsm/hashQueue";

export interface DaemonParts {
  readonly store: HsmStore;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly nodeCount: number;
  /** Default replication delay to each node, ms. */
  readonly replicationDelayMs?: number;
  /** CloudHSM's create_object_minimum_nodes. */
  readonly createObjectMinimumNodes?: number;
  /** Events kept for watchers before compaction. */
  readonly eventCapacity?: number;
  readonly watch?: Partial<WatchSettings & { batchIntervalMs: number }>;
  readonly sessionLimits?: SessionLimits;
  /** Most keys in the cluster; 0 for no limit. */
  readonly maxKeys?: number;
  /** Password checks at once, logins in progress per connection, logins waiting daemon-wide. */
  readonly loginLimits?: LoginLimits;
  /** Hashes and checks passwords; scrypt at scryptN when absent (tests inject one to hold checks). */
  readonly passwordHasher?: PasswordHasher;
  /** The audit log; none when absent. */
  readonly audit?: AuditTrail & { close?(): void };
  /** Transport security; plaintext when absent. */
  readonly serverCredentials?: grpc.ServerCredentials;
  /** Seed of the nodes' attestation keys (derive it from the master key so keys survive restarts). */
  readonly attestationSeed?: Buffer;
  readonly adminSecret: string;
  readonly maxMessageBytes: number;
  readonly scryptN: number;
  readonly devUsers?: readonly DevUser[];
  /** Seconds in-flight calls get at shutdown before they are cancelled. */
  readonly shutdownGraceSeconds?: number;
  /** Streams per connection, idle and keepalive timeouts; DEFAULT_HTTP2_LIMITS for what is absent. */
  readonly http2?: Partial<Http2Limits>;
}

export interface Daemon {
  readonly cluster: HsmCluster;
  readonly server: grpc.Server;
  /** Binds and starts serving; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting calls, lets in-flight calls finish (within the grace period), then closes the store. */
  shutdown(): Promise<void>;
}

export async function buildDaemon(parts: DaemonParts): Promise<Daemon> {
  const { logger } = parts;
  const cluster = new HsmCluster({
    store: parts.store,
    clock: parts.clock ?? systemClock,
    ...(parts.timers ? { timers: parts.timers } : {}),
    nodeCount: parts.nodeCount,
    ...(parts.replicationDelayMs !== undefined ? { replicationDelayMs: parts.replicationDelayMs } : {}),
    ...(parts.createObjectMinimumNodes !== undefined ? { createObjectMinimumNodes: parts.createObjectMinimumNodes } : {}),
    ...(parts.eventCapacity !== undefined ? { eventCapacity: parts.eventCapacity } : {}),
    ...(parts.watch?.batchIntervalMs !== undefined ? { watchBatchIntervalMs: parts.watch.batchIntervalMs } : {}),
    scryptCost: { N: parts.scryptN, r: 8, p: 1 },
    ...(parts.attestationSeed ? { attestationSeed: parts.attestationSeed } : {}),
    ...(parts.sessionLimits ? { sessionLimits: parts.sessionLimits } : {}),
    ...(parts.audit ? { audit: parts.audit } : {}),
    ...(parts.maxKeys !== undefined ? { maxKeys: parts.maxKeys } : {}),
    ...(parts.loginLimits ? { loginLimits: parts.loginLimits } : {}),
    ...(parts.passwordHasher ? { passwordHasher: parts.passwordHasher } : {}),
    onBackgroundError: (err, context) => logger.error("background failure", { context, error: err instanceof Error ? err.message : String(err) }),
  });
  for (const dev of parts.devUsers ?? []) {
    if (cluster.findUserByName(dev.username)) continue;
    const user = await cluster.createUser(UserRole.CU, dev.username, dev.password);
    logger.info("created development crypto user", { user_id: user.userId, username: user.username });
  }

  const limit = transportLimit(parts.maxMessageBytes);
  const server = new grpc.Server({
    "grpc.max_receive_message_length": limit,
    ...http2ServerOptions({ ...DEFAULT_HTTP2_LIMITS, ...parts.http2 }),
  });
  const streams = new OpenStreams();
  const watchSettings: WatchSettings = {
    defaultProgressIntervalMs: parts.watch?.defaultProgressIntervalMs ?? 5000,
    maxLag: parts.watch?.maxLag ?? 10_000,
  };
  server.addService(
    withEncodedWatchResponses(gateService(HsmServiceService, parts.maxMessageBytes)),
    hsmServiceHandlers(cluster, new PageTokenCodec(), logger, streams, watchSettings),
  );
  server.addService(gateService(AdminServiceService, parts.maxMessageBytes), adminServiceHandlers(cluster, parts.adminSecret, logger));
  server.addService(
    gateService(ClusterControlServiceService, parts.maxMessageBytes),
    clusterControlHandlers(cluster, parts.adminSecret, logger),
  );
  const health = addHealth(server);
  addReflection(server);

  let stopping: Promise<void> | undefined;
  return {
    cluster,
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
        server.bindAsync(address, parts.serverCredentials ?? grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
      }),
    shutdown: () => {
      stopping ??= new Promise<void>((resolve) => {
        setAllNotServing(health);
        // Watch streams never end on their own; end them so clients reconnect and resume.
        streams.closeAll();
        const grace = setTimeout(() => {
          logger.warn("shutdown grace period over; cancelling remaining calls");
          server.forceShutdown();
        }, (parts.shutdownGraceSeconds ?? 10) * 1000);
        server.tryShutdown(() => {
          clearTimeout(grace);
          cluster.close();
          parts.audit?.close?.();
          resolve();
        });
      });
      return stopping;
    },
  };
}
