// The daemon process with --metrics-listen: the bound port in the log, Prometheus text over HTTP (HTTPS with TLS), refusal off loopback without TLS.
import * as https from "node:https";
import { readFileSync } from "node:fs";
import { KEY_TYPE } from "../../clients";
import { makeCertificates } from "../support/testCertificates";
import { parsePrometheusText, perNode, valueOf } from "../support/prometheusText";
import { childEnv, DaemonProcess, standardArgs } from "./support/daemonProcess";
import { devCuClient, freshDataDir, useDaemonCleanup } from "./support/e2eFixture";

const certs = makeCertificates();
const closer = useDaemonCleanup();
afterAll(() => certs.remove());

/** The URL the daemon logged for its metrics (written before its ready line). */
async function metricsUrl(daemon: DaemonProcess): Promise<string> {
  const line = await daemon.waitForLog((l) => l.message === "metrics serving", "the metrics line");
  expect(line.port).toEqual(expect.any(Number));
  return String(line.url);
}

test("--metrics-listen 127.0.0.1:0: the log names the bound port; a scrape reads the cluster and the calls; SIGTERM closes it", async () => {
  const daemon = await DaemonProcess.start(standardArgs(freshDataDir(), ["--metrics-listen", "127.0.0.1:0"]));
  const url = await metricsUrl(daemon);
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

  const hsm = await devCuClient(closer, daemon);
  await hsm.genSymKey({ keyType: KEY_TYPE.AES, keySize: 32, label: "m", minSrv: 3 });
  const response = await fetch(url);
  expect(response.status).toBe(200);
  const samples = parsePrometheusText(await response.text());
  expect(perNode(samples, "cloudhsm_hsm_unhealthy")).toEqual({ 0: 0, 1: 0, 2: 0 });
  expect(perNode(samples, "cloudhsm_hsm_keys_token_occupied")).toEqual({ 0: 1, 1: 1, 2: 1 });
  // The dev CU is the one user.
  expect(valueOf(samples, "cloudhsm_hsm_users_available")).toBe(1023);
  expect(valueOf(samples, "localcloudhsm_rpc_handled_total", { method: "GenSymKey", code: "OK" })).toBe(1);
  expect(valueOf(samples, "localcloudhsm_rpc_duration_seconds_count", { method: "Login" })).toBe(1);

  expect((await daemon.stop("SIGTERM")).code).toBe(0);
  await expect(fetch(url)).rejects.toThrow();
});

test("with TLS the endpoint may listen off loopback and serves HTTPS with the daemon's certificate, asking for a client certificate under mutual TLS", async () => {
  const daemon = await DaemonProcess.start(
    standardArgs(freshDataDir(), [
      "--metrics-listen",
      "0.0.0.0:0",
      "--tls-cert-file",
      certs.serverCert,
      "--tls-key-file",
      certs.serverKey,
      "--tls-client-ca-file",
      certs.caCert,
    ]),
  );
  const url = (await metricsUrl(daemon)).replace("0.0.0.0", "127.0.0.1");
  expect(url).toMatch(/^https:\/\//);
  const ca = readFileSync(certs.caCert);
  const scraped = await httpsGet(url, { ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) });
  expect(scraped.status).toBe(200);
  expect(perNode(parsePrometheusText(scraped.body), "cloudhsm_hsm_unhealthy")).toEqual({ 0: 0, 1: 0, 2: 0 });
  await expect(httpsGet(url, { ca })).rejects.toThrow();
  expect((await daemon.stop("SIGTERM")).code).toBe(0);
});

test("a non-loopback --metrics-listen without TLS is refused at start, naming the setting", async () => {
  const refused = await DaemonProcess.run(standardArgs(freshDataDir(), ["--metrics-listen", "0.0.0.0:9464"]), childEnv());
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain("invalid --metrics-listen (LOCALCLOUDHSM_METRICS_LISTEN): metrics are refused on non-loopback address 0.0.0.0 without TLS");
});

function httpsGet(url: string, tls: https.RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ...tls, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      response.on("error", reject);
    });
    request.on("error", reject);
  });
}
