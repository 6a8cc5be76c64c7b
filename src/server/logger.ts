// The daemon's winston logger, and the bridge that routes grpc-js's own log lines into it.
import * as grpc from "@grpc/grpc-js";
import winston from "winston";
import { LogFormat, LogLevel } from "./config";
import { redactCredentials } from "./credentialRedaction";

export type Logger = winston.Logger;

export function createLogger(level: LogLevel, format: LogFormat, stream: NodeJS.WritableStream = process.stdout): Logger {
  const formats =
    format === "json"
      ? winston.format.combine(winston.format.timestamp(), winston.format.json())
      : winston.format.combine(
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level: lvl, message, ...rest }) => {
            const extra = Object.keys(rest).length > 0 ? " " + JSON.stringify(rest) : "";
            return `${String(timestamp)} ${lvl} ${String(message)}${extra}`;
          }),
        );
  return winston.createLogger({ level, format: formats, transports: [new winston.transports.Stream({ stream })] });
}

/** grpc-js logs through this logger from now on, credentials redacted; its verbosity follows the daemon's level. */
export function routeGrpcLogs(logger: Logger, level: LogLevel): void {
  const child = logger.child({ component: "grpc-js" });
  const line = (args: unknown[]): string => redactCredentials(args.map(String).join(" "));
  grpc.setLogger({
    error: (...args: unknown[]) => child.error(line(args)),
    info: (...args: unknown[]) => child.info(line(args)),
    debug: (...args: unknown[]) => child.debug(line(args)),
  });
  grpc.setLogVerbosity(
    level === "debug" ? grpc.logVerbosity.DEBUG : level === "info" ? grpc.logVerbosity.INFO : grpc.logVerbosity.ERROR,
  );
}
