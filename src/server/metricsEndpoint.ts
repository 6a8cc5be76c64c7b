// The HTTP(S) server of the metrics: GET /metrics answers the Prometheus text; nothing else is served.
import * as http from "node:http";
import * as https from "node:https";
import { AddressInfo } from "node:net";

/** The daemon's TLS material, reused for the metrics endpoint. */
export interface MetricsTls {
  readonly certChain: Buffer;
  readonly privateKey: Buffer;
  /** Set: a scraper must present a client certificate from this CA (as gRPC clients must). */
  readonly clientCa: Buffer | undefined;
}

export interface MetricsSource {
  readonly contentType: string;
  render(): Promise<string>;
}

export const METRICS_PATH = "/metrics";

export class MetricsEndpoint {
  private readonly server: http.Server;

  constructor(
    private readonly source: MetricsSource,
    tls: MetricsTls | undefined,
    private readonly onError: (err: unknown) => void,
  ) {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.answer(req, res);
    this.server = tls
      ? https.createServer(
          {
            cert: tls.certChain,
            key: tls.privateKey,
            ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
          },
          handler,
        )
      : http.createServer(handler);
  }

  /** Binds and serves; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const failed = (err: Error): void => reject(err);
      this.server.once("error", failed);
      this.server.listen(port, host, () => {
        this.server.off("error", failed);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops listening and drops open connections (a scrape is short; nothing waits for it). */
  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? "").split("?")[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found; metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    this.source.render().then(
      (body) => {
        res.writeHead(200, { "content-type": this.source.contentType });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (err: unknown) => {
        this.onError(err);
        res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n");
      },
    );
  }
}
