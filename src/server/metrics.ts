// The daemon's Prometheus metrics: gauges named after CloudHSM's CloudWatch metrics, read from the cluster when scraped, plus per-RPC counts and latencies.
import * as grpc from "@grpc/grpc-js";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { ClusterReadings, NodeReading, USERS_QUOTA } from "../hsm/clusterReadings";
import { CallObserver } from "./callAdapter";

/** What the metrics read from the cluster on each scrape. */
export interface ReadableCluster {
  readings(): ClusterReadings;
}

/** Seconds; unary calls range from tens of microseconds (a cached read) to seconds (a -min_srv wait). */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Whether CloudWatch would call the node unhealthy: not answering, cut off from replication, or with tampered firmware. */
function unhealthy(node: NodeReading): boolean {
  return node.state !== "UP" || node.firmwareTampered;
}

/**
 * One per daemon, each with its own Registry (never prom-client's global one), so two daemons in one process
 * keep separate figures. Gauges hold no state of their own: each scrape takes one reading of the cluster and
 * every gauge's collect callback copies from it.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  /** The reading of the scrape in progress. */
  private reading: ClusterReadings | undefined;
  private readonly handled: Counter<"method" | "code">;
  private readonly latency: Histogram<"method">;

  constructor(private readonly cluster: ReadableCluster) {
    const registers = [this.registry];
    const perNode = (name: string, help: string, value: (node: NodeReading) => number): void => {
      const gauge: Gauge<"node"> = new Gauge({
        name,
        help,
        labelNames: ["node"],
        registers,
        collect: () => {
          gauge.reset();
          for (const node of this.current().nodes) gauge.set({ node: String(node.nodeId) }, value(node));
        },
      });
    };
    perNode("cloudhsm_hsm_keys_token_occupied", "HsmKeysTokenOccupied: token keys the HSM holds.", (n) => n.tokenKeys);
    perNode("cloudhsm_hsm_keys_session_occupied", "HsmKeysSessionOccupied: session keys living on the HSM.", (n) => n.sessionKeys);
    perNode("cloudhsm_hsm_session_count", "HsmSessionCount: open login sessions bound to the HSM.", (n) => n.sessions);
    perNode("cloudhsm_hsm_unhealthy", "HsmUnhealthy: 1 when the HSM is down, partitioned or its firmware is tampered, else 0.", (n) => (unhealthy(n) ? 1 : 0));
    const usersAvailable: Gauge = new Gauge({
      name: "cloudhsm_hsm_users_available",
      help: `HsmUsersAvailable: users that can still be created in the cluster (HsmUsersMax ${USERS_QUOTA} minus the users that exist).`,
      registers,
      collect: () => usersAvailable.set(Math.max(0, USERS_QUOTA - this.current().users)),
    });
    new Gauge({ name: "cloudhsm_hsm_users_max", help: "HsmUsersMax: users a cluster may hold (the hsm2m.medium quota; informative, not enforced).", registers }).set(USERS_QUOTA);
    perNode("localcloudhsm_replication_pending_keys", "Token keys queued for the node and not yet delivered to it.", (n) => n.pendingReplications);
    perNode(
      "localcloudhsm_replication_oldest_pending_seconds",
      "Age of the oldest token key queued for the node and not yet delivered (0 when none waits).",
      (n) => n.oldestPendingMs / 1000,
    );
    this.handled = new Counter({
      name: "localcloudhsm_rpc_handled_total",
      help: "Finished gRPC calls (unary and streaming) by method and status code.",
      labelNames: ["method", "code"],
      registers,
    });
    this.latency = new Histogram({
      name: "localcloudhsm_rpc_duration_seconds",
      help: "Duration of unary gRPC calls by method, from the call's arrival to its answer.",
      labelNames: ["method"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
  }

  /** Counts a finished call (what the call adapters report). */
  readonly observeCall: CallObserver = (method, code, seconds, kind) => {
    this.handled.inc({ method, code: grpc.status[code] });
    // A stream lasts as long as its client keeps it open: its duration says nothing about the daemon's speed.
    if (kind === "unary") this.latency.observe({ method }, seconds);
  };

  /** The Prometheus text exposition of every metric, from one reading of the cluster. */
  async render(): Promise<string> {
    this.reading = this.cluster.readings();
    try {
      // Every collect callback runs before metrics() first yields, so they all see this reading.
      return await this.registry.metrics();
    } finally {
      this.reading = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The scrape's reading; a fresh one when the registry is read directly. */
  private current(): ClusterReadings {
    return this.reading ?? this.cluster.readings();
  }
}
