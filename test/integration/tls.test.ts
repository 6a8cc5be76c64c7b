// TLS and mutual TLS between the facade and the daemon, including a wrong CA and a missing client certificate.
import * as grpc from "@grpc/grpc-js";
import { HsmClient, HsmClientError, tlsCredentials } from "../../clients";
import { CertificateSet, makeCertificates } from "../support/testCertificates";
import { startTestDaemon, TEST_PASSWORD, TestDaemon } from "../support/testDaemon";

let certs: CertificateSet;
beforeAll(() => {
  certs = makeCertificates();
});
afterAll(() => certs.remove());

function serverTls(mutual: boolean): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(
    mutual ? certs.read(certs.caCert) : null,
    [{ cert_chain: certs.read(certs.serverCert), private_key: certs.read(certs.serverKey) }],
    mutual,
  );
}

async function failureCode(client: HsmClient): Promise<grpc.status> {
  try {
    await client.login("alice", TEST_PASSWORD);
  } catch (err) {
    return (err as HsmClientError).code;
  } finally {
    client.close();
  }
  throw new Error("the call succeeded");
}

describe("TLS", () => {
  let t: TestDaemon;
  beforeAll(async () => {
    t = await startTestDaemon({ serverCredentials: serverTls(false), clientCredentials: tlsCredentials({ caFile: certs.caCert }) });
    await t.admin.createUser("alice", TEST_PASSWORD);
  });
  afterAll(() => t.close());

  test("a client trusting the daemon's CA works end to end", async () => {
    const alice = t.client();
    await alice.login("alice", TEST_PASSWORD);
    const key = await alice.createWrappingKey();
    expect(await alice.kcv(key)).toMatch(/^[0-9a-f]{6}$/);
  });

  test("a client trusting another CA cannot connect", async () => {
    expect(await failureCode(new HsmClient(t.address, { credentials: tlsCredentials({ caFile: certs.otherCaCert }), deadlineMs: 5000 }))).toBe(grpc.status.UNAVAILABLE);
  });

  test("a plaintext client cannot talk to a TLS daemon", async () => {
    expect(await failureCode(new HsmClient(t.address, { deadlineMs: 5000 }))).toBe(grpc.status.UNAVAILABLE);
  });
});

describe("mutual TLS", () => {
  let t: TestDaemon;
  beforeAll(async () => {
    t = await startTestDaemon({
      serverCredentials: serverTls(true),
      clientCredentials: tlsCredentials({ caFile: certs.caCert, certFile: certs.clientCert, keyFile: certs.clientKey }),
    });
    await t.admin.createUser("alice", TEST_PASSWORD);
  });
  afterAll(() => t.close());

  test("a client with a certificate from the trusted CA works", async () => {
    const alice = t.client();
    await alice.login("alice", TEST_PASSWORD);
    expect(alice.userId).toBeGreaterThan(0);
  });

  test("a client without a certificate is refused", async () => {
    expect(await failureCode(new HsmClient(t.address, { credentials: tlsCredentials({ caFile: certs.caCert }), deadlineMs: 5000 }))).toBe(grpc.status.UNAVAILABLE);
  });
});
