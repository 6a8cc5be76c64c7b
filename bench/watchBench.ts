// The watchers benchmark: ImportSymKey x64 without, then with N unfiltered watchers connected; deliveries, lag, loss, CPU.
import { performance } from "node:perf_hooks";
import { HsmClient, KEY_TYPE } from "../clients";
import { RunningDaemon } from "./daemonProcess";
import { LatencySummary } from "./latencyStats";
import { QUIET_WAIT_MS, waitForQuietMachine } from "./machine";
import { measure, MeasuredRunSpec, Measurement } from "./measure";
import { SCENARIO_TITLES } from "./report";
import { cpuMicros, rssBytes } from "./procCpu";
import { NOISY_OTHER_CORES } from "./rounds";
import { settle } from "./settle";
import { deliveriesBetween, FleetReport, RunningFleet, startFleet } from "./watchers";
import { WorkerSpec } from "./workerProtocol";

/** How long, after the last event is produced, every watcher has to receive it. */
const LAST_REVISION_DEADLINE_MS = 20_000;
const MARKER_LABEL = "bench-watch-marker";
const WITHOUT_ATTEMPTS = 2;
/** KEY_CREATED on the session's node, then KEY_REPLICATED on each of the other two (--nodes 3). */
const EVENTS_PER_IMPORT = 3;

export interface WatchBenchSpec extends MeasuredRunSpec {
  readonly user: string;
  readonly password: string;
  readonly concurrency: number;
  readonly watchers: number;
  readonly processes: number;
  readonly channelsPerProcess: number;
  readonly maxEventsPerResponse: number;
  /** Node flags of the watcher processes (--cpu-prof with --cpu-prof-dir). */
  readonly watcherNodeArgs: readonly string[];
  readonly onProgress?: (line: string) => void;
}

export interface WatchBenchResult {
  readonly watchers: number;
  readonly processes: number;
  readonly channelsPerProcess: number;
  readonly maxEventsPerResponse: number;
  readonly concurrency: number;
  readonly without: Measurement;
  readonly with: Measurement;
  /** with.callsPerSecond / without.callsPerSecond. */
  readonly importRatio: number;
  /** The start marker's KEY_CREATED revision (every watcher's start_revision) and the end marker's last replication. */
  readonly startRevision: number;
  readonly lastRevision: number;
  /** Events every watcher had to receive: lastRevision - startRevision + 1. */
  readonly revisions: number;
  readonly connectMs: number;
  readonly failedToConnect: number;
  readonly report: Omit<FleetReport, "lag" | "bucketsPerProcess">;
  readonly lag: LatencySummary;
  /** Deliveries received during the with-watchers import window, per second. */
  readonly windowDeliveriesPerSecond: number;
  readonly windowDeliveries: number;
  /** The same per watcher. */
  readonly windowPerWatcherPerSecond: number;
  /** Events the daemon produced per second in that window: three per import (created, two replications). */
  readonly producedEventsPerSecond: number;
  /** Daemon CPU in the window divided by the window's deliveries. */
  readonly daemonUsPerDelivery: number;
  /** The same, after taking off the imports at their cost without watchers: what delivering adds. */
  readonly daemonMarginalUsPerDelivery: number;
  readonly watcherCores: number;
  readonly watcherUsPerDelivery: number;
  /**
   * After the import window until the last watcher had the last revision (or the deadline): the daemon
   * does nothing but deliver the backlog, so these are its delivery capacity and cost per delivery.
   */
  readonly drain: {
    readonly seconds: number;
    readonly deliveries: number;
    readonly deliveriesPerSecond: number;
    readonly daemonCores: number;
    readonly daemonUsPerDelivery: number;
    readonly watcherCores: number;
    readonly watcherUsPerDelivery: number;
  };
  /** From the end marker's last event being stamped until the last watcher received it; NaN if some never did. */
  readonly lastArrivalAfterMs: number;
  /** How long the watchers had to receive the last revision once it was produced. */
  readonly lastRevisionDeadlineMs: number;
  /** The daemon's resident memory before the watchers connected and right after the import run, and its peak (since it started) at the end. */
  readonly daemonRssMb: { readonly beforeWatchers: number; readonly afterImports: number; readonly peak: number };
  /** Every watcher got every revision once, and no stream ended early. */
  readonly noLoss: boolean;
}

export async function runWatchBench(spec: WatchBenchSpec): Promise<WatchBenchResult> {
  const progress = spec.onProgress ?? (() => {});
  const hsm = new HsmClient(spec.daemon.address);
  let fleet: RunningFleet | undefined;
  try {
    await hsm.login(spec.user, spec.password);
    const token = (hsm.metadata().get("authorization")[0] as string).replace(/^Bearer /, "");
    const importSpec = (alsoMeasurePids: readonly number[]): WorkerSpec => ({
      address: spec.daemon.address,
      token,
      daemonPid: spec.daemon.pid,
      scenario: "importSymKey",
      params: spec.params,
      concurrency: spec.concurrency,
      warmupMs: spec.warmupMs,
      durationMs: spec.durationMs,
      maxCalls: 1_000_000,
      holdAfterWindow: false,
      alsoMeasurePids,
    });

    // Without watchers: measured again once if other processes disturbed the window; the less disturbed counts.
    let without: Measurement | undefined;
    for (let attempt = 1; attempt <= WITHOUT_ATTEMPTS; attempt++) {
      await settleOrWarn(spec.daemon, progress);
      await waitForQuietMachine(NOISY_OTHER_CORES, QUIET_WAIT_MS);
      const m = checked(await measure(importSpec([])));
      const retry = m.otherCores > NOISY_OTHER_CORES && attempt < WITHOUT_ATTEMPTS;
      progress(
        `${SCENARIO_TITLES.importSymKey} x${spec.concurrency} without watchers: ${Math.round(m.callsPerSecond)} calls/s, ` +
          `other load ${m.otherCores.toFixed(2)} cores${retry ? " - disturbed, measuring again" : ""}`,
      );
      if (!without || m.otherCores < without.otherCores) without = m;
      if (!retry) break;
    }

    await settleOrWarn(spec.daemon, progress);
    const rssBefore = rssBytes(spec.daemon.pid);
    const startMarker = await hsm.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: MARKER_LABEL });
    const startRevision = Number(startMarker.revision);
    fleet = await startFleet({
      address: spec.daemon.address,
      token,
      watchers: spec.watchers,
      processes: spec.processes,
      channelsPerProcess: spec.channelsPerProcess,
      maxEventsPerResponse: spec.maxEventsPerResponse,
      nodeArgs: spec.watcherNodeArgs,
      startRevision,
    });
    progress(`${spec.watchers} watchers from revision ${startRevision}: every stream had its first event after ${Math.round(fleet.connectMs)} ms (${fleet.failedToConnect} without)`);

    await settleOrWarn(spec.daemon, progress);
    await waitForQuietMachine(NOISY_OTHER_CORES, QUIET_WAIT_MS);
    // Not repeated when disturbed: a second run would pile more events onto the watchers' backlog.
    const withWatchers = checked(await measure(importSpec(fleet.pids)));
    progress(
      `${SCENARIO_TITLES.importSymKey} x${spec.concurrency} with ${spec.watchers} watchers: ${Math.round(withWatchers.callsPerSecond)} calls/s, ` +
        `watchers ${withWatchers.alsoMeasuredCores.toFixed(2)} cores, other load ${withWatchers.otherCores.toFixed(2)} cores`,
    );

    const rssAfterImports = rssBytes(spec.daemon.pid);
    // The drain: imports have stopped; from here the daemon only delivers the backlog (and the end marker).
    const drainStartEpochMs = performance.timeOrigin + performance.now();
    const drainDaemonCpu0 = cpuMicros(spec.daemon.pid);
    const drainWatcherCpu0 = fleet.pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);

    // The last event: an end marker's replication to every node. Delivery to a node is in creation order,
    // so once the marker is everywhere every import's replication event has a smaller revision.
    const endMarker = await hsm.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: MARKER_LABEL });
    const lastEvent = await hsm.waitForSync(endMarker, "all");
    const lastRevision = Number(lastEvent.revision);
    const finishing = fleet;
    fleet = undefined;
    const lastEventEpochMs = lastEvent.time?.getTime() ?? Date.now();
    const report = await finishing.finish(lastRevision, lastEventEpochMs, LAST_REVISION_DEADLINE_MS);
    const drainDaemonCpu = cpuMicros(spec.daemon.pid) - drainDaemonCpu0;
    const rssPeak = rssBytes(spec.daemon.pid, "peak");
    const drainEndEpochMs = report.lastArrivalEpochMs ?? report.stoppedEpochMs;
    const drainSeconds = (drainEndEpochMs - drainStartEpochMs) / 1000;
    const drainDeliveries = deliveriesBetween(report.bucketsPerProcess, drainStartEpochMs, drainEndEpochMs);
    progress(`every watcher's last revision ${lastRevision}: ${report.complete}/${report.watchers} watchers had it after waiting ${Math.round(report.waitedForLastMs)} ms`);

    const w = withWatchers.window;
    const seconds = w.elapsedMs / 1000;
    const windowDeliveries = deliveriesBetween(report.bucketsPerProcess, w.startEpochMs, w.endEpochMs);
    const importDaemonUs = withWatchers.window.calls * without!.daemonCpuPerCallUs;
    const revisions = lastRevision - startRevision + 1;
    const { lag, bucketsPerProcess: _buckets, ...counts } = report;
    const endedEarly = Object.values(report.ended).reduce((a, b) => a + b, 0);
    return {
      watchers: spec.watchers,
      processes: spec.processes,
      channelsPerProcess: spec.channelsPerProcess,
      maxEventsPerResponse: spec.maxEventsPerResponse,
      concurrency: spec.concurrency,
      without: without!,
      with: withWatchers,
      importRatio: withWatchers.callsPerSecond / without!.callsPerSecond,
      startRevision,
      lastRevision,
      revisions,
      connectMs: finishing.connectMs,
      failedToConnect: finishing.failedToConnect,
      report: counts,
      lag: lag.summary(),
      windowDeliveries,
      windowDeliveriesPerSecond: windowDeliveries / seconds,
      windowPerWatcherPerSecond: windowDeliveries / seconds / spec.watchers,
      producedEventsPerSecond: EVENTS_PER_IMPORT * withWatchers.callsPerSecond,
      daemonUsPerDelivery: w.daemonCpuMicros / windowDeliveries,
      daemonMarginalUsPerDelivery: (w.daemonCpuMicros - importDaemonUs) / windowDeliveries,
      watcherCores: withWatchers.alsoMeasuredCores,
      watcherUsPerDelivery: w.alsoMeasuredCpuMicros / windowDeliveries,
      drain: {
        seconds: drainSeconds,
        deliveries: drainDeliveries,
        deliveriesPerSecond: drainDeliveries / drainSeconds,
        daemonCores: drainDaemonCpu / 1e6 / drainSeconds,
        daemonUsPerDelivery: drainDaemonCpu / drainDeliveries,
        watcherCores: (report.cpuMicros - drainWatcherCpu0) / 1e6 / drainSeconds,
        watcherUsPerDelivery: (report.cpuMicros - drainWatcherCpu0) / drainDeliveries,
      },
      lastArrivalAfterMs: report.lastArrivalEpochMs === null ? NaN : report.lastArrivalEpochMs - lastEventEpochMs,
      lastRevisionDeadlineMs: LAST_REVISION_DEADLINE_MS,
      daemonRssMb: { beforeWatchers: rssBefore / 2 ** 20, afterImports: rssAfterImports / 2 ** 20, peak: rssPeak / 2 ** 20 },
      noLoss:
        report.complete === spec.watchers &&
        report.missing === 0 &&
        report.duplicates === 0 &&
        report.undelivered === 0 &&
        endedEarly === 0 &&
        finishing.failedToConnect === 0,
    };
  } finally {
    await fleet?.kill();
    hsm.close();
  }
}

async function settleOrWarn(daemon: RunningDaemon, progress: (line: string) => void): Promise<void> {
  const quiet = await settle(daemon.pid);
  if (!quiet.idle) progress(`daemon still busy after ${quiet.waitedMs} ms; measuring anyway`);
}

/** One failed import spoils the measurement, as in the main schedule. */
function checked(m: Measurement): Measurement {
  const failed = m.window.errors + m.done.errorsOutsideWindow;
  if (failed > 0) throw new Error(`${SCENARIO_TITLES[m.scenario]} x${m.concurrency}: ${failed} calls failed, first: ${m.window.firstError}`);
  return m;
}
