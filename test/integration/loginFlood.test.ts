// Login floods over real gRPC: a connection sending 500 logins of unknown users gets RESOURCE_EXHAUSTED TOO_MANY_LOGINS
// past its cap, while a real login on another connection still completes.
import * as grpc from "@grpc/grpc-js";
import { HsmClient, HsmClientError } from "../../clients";
import { PasswordHasher, scryptHasher } from "../../src/hsm/users";
import { startTestDaemon, TEST_PASSWORD, TEST_SCRYPT_N, TestDaemon } from "../support/testDaemon";

const S = grpc.status;
const FLOOD = 500;
const FLOOD_PASSWORD = "flood-password";

/**
 * Real scrypt, except that checks of the flood's password wait until the test releases them: the flood's
 * admitted logins are then provably still in progress while the real login runs and completes.
 */
class HoldingHasher implements PasswordHasher {
  private readonly inner = scryptHasher({ N: TEST_SCRYPT_N, r: 8, p: 1 });
  private release: () => void = () => undefined;
  private readonly released = new Promise<void>((resolve) => (this.release = resolve));
  held = 0;

  hash(password: string): Promise<string> {
    return this.inner.hash(password);
  }

  async verify(password: string, encoded: string): Promise<boolean> {
    if (password === FLOOD_PASSWORD) {
      this.held += 1;
      await this.released;
    }
    return this.inner.verify(password, encoded);
  }

  releaseAll(): void {
    this.release();
  }
}

describe("login floods", () => {
  let t: TestDaemon;
  const hasher = new HoldingHasher();
  const PER_CONNECTION = 3;
  const clients: HsmClient[] = [];
  const ownClient = (): HsmClient => {
    const c = new HsmClient(t.address, { ownConnection: true });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    // Four checks at once: the flood's connection may hold three, one stays for everyone else.
    t = await startTestDaemon({ passwordHasher: hasher, loginLimits: { hashConcurrency: PER_CONNECTION + 1, perConnection: PER_CONNECTION, maxWaiting: 64 } });
    await t.admin.createUser("realuser", TEST_PASSWORD);
  });
  afterAll(async () => {
    hasher.releaseAll();
    for (const c of clients) c.close();
    await t.close();
  });

  test(`${FLOOD} concurrent logins of unknown users: the excess gets RESOURCE_EXHAUSTED TOO_MANY_LOGINS, a real login completes meanwhile`, async () => {
    const flooder = ownClient();
    const outcomes = Array.from({ length: FLOOD }, (_, i) =>
      flooder.login(`ghost_${i}`, FLOOD_PASSWORD).then(
        () => "OK",
        (err: HsmClientError) => err,
      ),
    );
    // Every login past the connection's cap is refused at once, without waiting for the held ones: that many settle first.
    const refused = (await firstSettled(outcomes, FLOOD - PER_CONNECTION)).filter((o): o is HsmClientError => o instanceof HsmClientError && o.reason === "TOO_MANY_LOGINS");
    expect(refused).toHaveLength(FLOOD - PER_CONNECTION);
    for (const err of refused) {
      expect(err.code).toBe(S.RESOURCE_EXHAUSTED);
      expect(err.metadata).toMatchObject({ kmu_return_code: "0x105", limit: "connection", max_logins: String(PER_CONNECTION) });
    }
    expect(hasher.held).toBe(PER_CONNECTION);

    // The flood's admitted logins are still in progress (held); a real login on another connection completes.
    const real = ownClient();
    expect(await real.login("realuser", TEST_PASSWORD)).toBeGreaterThan(0);
    expect(hasher.held).toBe(PER_CONNECTION);

    hasher.releaseAll();
    const settled = await Promise.all(outcomes);
    const answered = settled.filter((o) => o instanceof HsmClientError && o.reason === "LOGIN_FAILED");
    expect(answered).toHaveLength(PER_CONNECTION);
    for (const err of answered) expect((err as HsmClientError).code).toBe(S.UNAUTHENTICATED);
    expect(settled).not.toContain("OK");

    // Once the flood is over, its connection may log in again.
    await flooder.login("realuser", TEST_PASSWORD);
  });
});

/** The first `count` results of `promises` to settle, in settling order. */
function firstSettled<T>(promises: readonly Promise<T>[], count: number): Promise<T[]> {
  return new Promise((resolve) => {
    const results: T[] = [];
    for (const p of promises) {
      void p.then((value) => {
        results.push(value);
        if (results.length === count) resolve([...results]);
      });
    }
  });
}
