// The daemon's entry point: reads configuration, opens the data directory, serves until SIGTERM or SIGINT.
import { readFileSync } from "node:fs";
import { parseConfig, usage } from "./config";
import { dataDirLayout } from "./dataDirFiles";
import { METRICS_PATH } from "./metricsEndpoint";
import { hostPort } from "./settingKinds";
import { announceServing, startDaemon, Started } from "./daemonStart";
import { createLogger, routeGrpcLogs } from "./logger";
import { startupFailureLine } from "./startupError";

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env, (path) => readFileSync(path, "utf8"));
  } catch (err) {
    process.stderr.write(`local-cloudhsm: ${(err as Error).message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(usage() + "\n");
    return 0;
  }
  const config = parsed.config;
  // Whatever the daemon creates (directories, store, WAL, audit log, secrets, lock) is its user's alone.
  process.umask(0o077);
  // Installed before anything else so a signal at any moment of start-up shuts down gracefully. The handlers
  // stay installed: Ctrl-C under `npm start` delivers SIGINT twice (from the terminal and forwarded by npm),
  // and the second must not kill a shutdown in progress (which --shutdown-grace-seconds bounds anyway).
  let stopSignal: NodeJS.Signals | undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      stopSignal ??= signal;
      resolve(signal);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
  const logger = createLogger(config.logLevel, config.logFormat);
  routeGrpcLogs(logger, config.logLevel);

  const layout = dataDirLayout(config.dataDir);
  let started: Started;
  try {
    started = await startDaemon(config, layout, logger);
  } catch (err) {
    process.stderr.write(startupFailureLine(err, config.logLevel === "debug") + "\n");
    return 1;
  }
  const { daemon, lock } = started;
  let port: number;
  try {
    port = await daemon.listen(config.listen.host, config.listen.port);
  } catch (err) {
    logger.error("cannot listen", { host: config.listen.host, port: config.listen.port, error: (err as Error).message });
    await daemon.shutdown();
    lock.release();
    return 1;
  }
  if (config.metricsListen) {
    const { host } = config.metricsListen;
    try {
      const metricsPort = await daemon.listenMetrics(host, config.metricsListen.port);
      // Logged before the ready line, so a script that waited for that one finds the metrics port already written.
      logger.info("metrics serving", { url: `${config.tls ? "https" : "http"}://${hostPort.show({ host, port: metricsPort })}${METRICS_PATH}`, port: metricsPort });
    } catch (err) {
      logger.error("cannot listen for metrics", { host, port: config.metricsListen.port, error: (err as Error).message });
      await daemon.shutdown();
      lock.release();
      return 1;
    }
  }
  announceServing(logger, {
    host: config.listen.host,
    port,
    config,
    daemon,
    adminSecret: config.adminSecret !== undefined ? "from configuration" : layout.adminSecret,
    dataDir: config.dataDir,
  });

  const signal = stopSignal ?? (await stopped);
  logger.info("shutting down", { signal });
  await daemon.shutdown();
  lock.release();
  logger.info("stopped");
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Start-up failures are handled in main; this is a failure while serving or stopping: a bug, so the stack.
    process.stderr.write(startupFailureLine(err, true) + "\n");
    process.exitCode = 1;
  },
);
