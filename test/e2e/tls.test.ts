// The daemon process serving mutual TLS from configured files, and refusing plaintext off loopback.
import { HsmClient, HsmClientError, tlsCredentials } from "../../clients";
import { makeCertificates } from "../support/testCertificates";
import { childEnv, DaemonProcess, DEV_PASSWORD, DEV_USER, standardArgs } from "./support/daemonProcess";
import { freshDataDir, useDaemonCleanup } from "./support/e2eFixture";

const certs = makeCertificates();

useDaemonCleanup();
afterAll(() => certs.remove());

test("with --tls-* files the daemon serves mutual TLS; a client without a certificate is refused", async () => {
  const daemon = await DaemonProcess.start(
    standardArgs(freshDataDir(), ["--tls-cert-file", certs.serverCert, "--tls-key-file", certs.serverKey, "--tls-client-ca-file", certs.caCert]),
  );
  const address = `127.0.0.1:${daemon.port}`;
  const good = new HsmClient(address, { credentials: tlsCredentials({ caFile: certs.caCert, certFile: certs.clientCert, keyFile: certs.clientKey }) });
  const anonymous = new HsmClient(address, { credentials: tlsCredentials({ caFile: certs.caCert }), deadlineMs: 5000 });
  try {
    await good.login(DEV_USER, DEV_PASSWORD);
    expect(await good.kcv(await good.createWrappingKey())).toMatch(/^[0-9a-f]{6}$/);
    let refused: unknown;
    await anonymous.login(DEV_USER, DEV_PASSWORD).catch((err: unknown) => (refused = err));
    expect(refused).toBeInstanceOf(HsmClientError);
  } finally {
    good.close();
    anonymous.close();
  }
  expect((await daemon.stop("SIGTERM")).code).toBe(0);
});

test("plaintext on a non-loopback address is refused at start unless --allow-insecure", async () => {
  const dataDir = freshDataDir();
  const refused = await DaemonProcess.run(["--listen", "0.0.0.0:0", "--data-dir", dataDir, "--scrypt-n", "1024"], childEnv());
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain("--allow-insecure");
  const allowed = await DaemonProcess.start(["--listen", "0.0.0.0:0", "--data-dir", dataDir, "--scrypt-n", "1024", "--allow-insecure"], childEnv());
  expect(allowed.port).toBeGreaterThan(0);
  expect((await allowed.stop("SIGTERM")).code).toBe(0);
});
