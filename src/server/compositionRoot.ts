// Builds a daemon from its configuration: store, cluster, services, health and reflection, wired in one place.
import * as grpc from "@grpc/grpc-js";
import { AdminServiceService } from "../../clients/generated/localcloudhsm/v1/admin_service";
import { ClusterControlServiceService } from "../../clients/generated/localcloudhsm/v1/cluster_control_service";
import { HsmServiceService } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { Clock, systemClock } from "../hsm/clock";
import { ClusterOptions, HsmCluster } from "../hsm/cluster";
import { HsmStore } from "../hsm/store/hsmStore";
import { PasswordHasher, UserRole } from "../hsm/users";
import { adminServiceHandlers, logSeededKeys } from "./adminService";
import { SeedDocument, SeedError } from "../hsm/seed";
import { SnapshotShelf } from "../hsm/store/snapshotShelf";
import { clusterControlHandlers } from "./clusterControlService";
import { Settings } from "./settings";
import { hsmServiceHandlers } from "./hsmService";
import { withEncodedWatchResponses } from "./watchEncoding";
import { withReusedEncryptWriter } from "./responseEncoding";

import { addHealth, addReflection, setAllNotServing } from "./introspection";
import { Logger } from "./logger";
import { PageTokenCodec } from "./pageToken";
import { gateService, transportLimit } from "./requestGate";
import { http2ServerOptions } from "./http2Limits";
import { OpenStreams } from "./streamAdapter";
import { Timers } from "../hsm/timers";
import { AuditTrail } from "../hsm/auditLog";
import { observedLogger } from "./callAdapter";
import { MetricsEndpoint, MetricsTls } from "./metricsEndpoint";
import { hostPort } from "./settingKinds";

/** The settings the daemon's parts use, as option bags (the rest belong to the entry point: listen, data dir, logs, secrets). */
export type DaemonSettings = Pick<
  Settings,
  | "nodeCount"
  | "replicationDelayMs"
  | "createObjectMinimumNodes"
  | "eventCapacity"
  | "watch"
  | "sessionLimits"
  | "maxKeys"
  | "loginLimits"
  | "maxMessageBytes"
  | "scryptN"
  | "devUsers"
  | "shutdownGraceSeconds"
  | "http2"
>;

export interface DaemonParts {
  readonly store: HsmStore;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Every setting with a value (from parseConfig or configFrom, which apply the table's defaults). */
  readonly settings: DaemonSettings;
  /** Hashes and checks passwords; scrypt at settings.scryptN when absent (tests inject one to hold checks). */
  readonly passwordHasher?: PasswordHasher;
  /** The audit log; none when absent. */
  readonly audit?: AuditTrail & { close?(): void };
  /** Transport security; plaintext when absent. */
  readonly serverCredentials?: grpc.ServerCredentials;
  /** Seed of the nodes' attestation keys (derive it from the master key so keys survive restarts). */
  readonly attestationSeed?: Buffer;
  readonly adminSecret: string;
  /** Applied at start (what is missing is created) and the target of ResetState to_seed; its cluster values override the settings. */
  readonly seed?: SeedDocument;
  /** Where snapshots are kept; in memory when absent. */
  readonly snapshots?: SnapshotShelf;
  /** Collect metrics for a Prometheus endpoint (served by listenMetrics), over HTTPS with `tls`; none when absent. */
  readonly metrics?: { readonly tls?: MetricsTls };
}

/** The cluster's share of the settings (unit tests build clusters with clusterSettings(DEFAULTS)). */
export function clusterSettings(
  settings: Omit<DaemonSettings, "maxMessageBytes" | "devUsers" | "shutdownGraceSeconds" | "http2">,
): Omit<ClusterOptions, "store" | "clock" | "nodeCount"> {
  return {
    replicationDelayMs: settings.replicationDelayMs,
    createObjectMinimumNodes: settings.createObjectMinimumNodes,
    eventCapacity: settings.eventCapacity,
    watchBatchIntervalMs: settings.watch.batchIntervalMs,
    // r and p are scrypt's usual; only N is a setting.
    scryptCost: { N: settings.scryptN, r: 8, p: 1 },
    sessionLimits: settings.sessionLimits,
    loginLimits: settings.loginLimits,
    maxKeys: settings.maxKeys,
  };
}

export interface Daemon {
  readonly cluster: HsmCluster;
  readonly server: grpc.Server;
  /** Binds and starts serving; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Serves the metrics (GET /metrics) on their own port; resolves with it. Only for a daemon built with `metrics`. */
  listenMetrics(host: string, port: number): Promise<number>;
  /** Stops accepting calls, lets in-flight calls finish (within the grace period), then closes the store. */
  shutdown(): Promise<void>;
}

export async function buildDaemon(parts: DaemonParts): Promise<Daemon> {
  const { logger } = parts;
  const { settings, seed } = parts;
  const nodeCount = seed?.cluster?.nodes ?? settings.nodeCount;
  if (nodeCount < settings.createObjectMinimumNodes) {
    throw new SeedError(["cluster", "nodes"], `${nodeCount} nodes is fewer than --create-object-minimum-nodes (${settings.createObjectMinimumNodes})`);
  }
  const cluster = new HsmCluster({
    store: parts.store,
    clock: parts.clock ?? systemClock,
    ...(parts.timers ? { timers: parts.timers } : {}),
    nodeCount,
    ...clusterSettings(settings),
    ...(seed?.cluster?.replicationDelayMs !== undefined ? { replicationDelayMs: seed.cluster.replicationDelayMs } : {}),
    ...(parts.snapshots ? { snapshots: parts.snapshots } : {}),
    ...(parts.attestationSeed ? { attestationSeed: parts.attestationSeed } : {}),
    ...(parts.audit ? { audit: parts.audit } : {}),
    ...(parts.passwordHasher ? { passwordHasher: parts.passwordHasher } : {}),
    onBackgroundError: (err, context) => logger.error("background failure", { context, error: err instanceof Error ? err.message : String(err) }),
  });
  if (seed) {
    try {
      logSeededKeys(logger, await cluster.applySeed(seed));
    } catch (err) {
      cluster.close();
      throw err;
    }
  }
  for (const dev of settings.devUsers) {
    if (cluster.findUserByName(dev.username)) continue;
    const user = await cluster.createUser(UserRole.CU, dev.username, dev.password);
    logger.info("created development crypto user", { user_id: user.userId, username: user.username });
  }

  const metrics = parts.metrics ? new (loadMetricsModule().DaemonMetrics)(cluster) : undefined;
  const metricsEndpoint =
    metrics && new MetricsEndpoint(metrics, parts.metrics?.tls, (err) => logger.error("metrics scrape failed", { error: err instanceof Error ? err.message : String(err) }));
  // Handlers log every call through this logger; with metrics on, the same point counts and times the call.
  const callLogger = metrics ? observedLogger(logger, metrics.observeCall) : logger;

  const limit = transportLimit(settings.maxMessageBytes);
  const server = new grpc.Server({
    "grpc.max_receive_message_length": limit,
    ...http2ServerOptions(settings.http2),
  });
  const streams = new OpenStreams();
  server.addService(
    withReusedEncryptWriter(withEncodedWatchResponses(gateService(HsmServiceService, settings.maxMessageBytes))),
    hsmServiceHandlers(cluster, new PageTokenCodec(), callLogger, streams, settings.watch),
  );
  server.addService(gateService(AdminServiceService, settings.maxMessageBytes), adminServiceHandlers(cluster, parts.adminSecret, callLogger, seed));
  server.addService(
    gateService(ClusterControlServiceService, settings.maxMessageBytes),
    clusterControlHandlers(cluster, parts.adminSecret, callLogger),
  );
  const health = addHealth(server);
  addReflection(server);

  let stopping: Promise<void> | undefined;
  return {
    cluster,
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        const address = hostPort.show({ host, port });
        server.bindAsync(address, parts.serverCredentials ?? grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
      }),
    listenMetrics: (host, port) =>
      metricsEndpoint ? metricsEndpoint.listen(host, port) : Promise.reject(new Error("this daemon was built without metrics")),
    shutdown: () => {
      stopping ??= new Promise<void>((resolve) => {
        setAllNotServing(health);
        const metricsClosed = metricsEndpoint?.close() ?? Promise.resolve();
        // Watch streams never end on their own; end them so clients reconnect and resume.
        streams.closeAll();
        const grace = setTimeout(() => {
          logger.warn("shutdown grace period over; cancelling remaining calls");
          server.forceShutdown();
        }, settings.shutdownGraceSeconds * 1000);
        server.tryShutdown(() => {
          clearTimeout(grace);
          cluster.close();
          parts.audit?.close?.();
          void metricsClosed.then(() => resolve());
        });
      });
      return stopping;
    },
  };
}

/**
 * The metrics module, loaded only by a daemon that serves metrics: prom-client takes 0.1-0.3 s to load, which
 * every other start (and every test daemon) would pay. A synchronous require keeps jest's CommonJS runtime happy.
 */
function loadMetricsModule(): typeof import("./metrics") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose, see above
  return require("./metrics") as typeof import("./metrics");
}
