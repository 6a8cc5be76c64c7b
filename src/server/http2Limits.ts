// HTTP/2 connection limits handed to grpc-js: streams per connection, and when an idle or dead connection is closed.
import * as grpc from "@grpc/grpc-js";

export interface Http2Limits {
  /** Streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); more are refused. */
  readonly maxConcurrentStreams: number;
  /**
   * A connection with no open call for this long is closed (GOAWAY). This also closes a socket that
   * never sends the HTTP/2 preface: grpc-js starts the idle clock when the connection is accepted.
   */
  readonly connectionIdleMs: number;
  /** Every connection is pinged this often, open calls or not... */
  readonly keepaliveMs: number;
  /** ...and closed when a ping is not answered within this, so a vanished peer's watches do not stay open. */
  readonly keepaliveTimeoutMs: number;
}

/** The grpc-js server options (1.14) that enforce `limits`. */
export function http2ServerOptions(limits: Http2Limits): grpc.ServerOptions {
  return {
    "grpc.max_concurrent_streams": limits.maxConcurrentStreams,
    "grpc.max_connection_idle_ms": limits.connectionIdleMs,
    "grpc.keepalive_time_ms": limits.keepaliveMs,
    "grpc.keepalive_timeout_ms": limits.keepaliveTimeoutMs,
  };
}
