// Graceful shutdown of the daemon process: in-flight calls finish, the process exits 0 after logging "stopped",
// and the store reopens cleanly.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { HsmClient, HsmClientError } from "../../clients";
import { childEnv, DaemonProcess, DEV_PASSWORD, DEV_USER, LogLine, standardArgs } from "./support/daemonProcess";
import { devCuClient, freshDataDir, useDaemonCleanup } from "./support/e2eFixture";
import { aesKcv } from "./support/keyMaterial";

const closer = useDaemonCleanup();

/**
 * scrypt cost (16x the other e2e tests) that makes each Login take a noticeable time, so calls are still
 * running at the signal: 20 concurrent Logins keep the daemon busy for about a second on 2 cores.
 */
const SLOW_SCRYPT_N = 16384;

/**
 * With --log-level debug and GRPC_TRACE=server_call, grpc-js logs (through the daemon's logger) a line for
 * every call stream the server has accepted: the deterministic signal that a call is in flight on the server.
 */
const TRACE_ENV = childEnv({ GRPC_TRACE: "server_call" });
const loginReceived = (l: LogLine): boolean =>
  l.component === "grpc-js" && typeof l.message === "string" && l.message.includes("Received call to method /localcloudhsm.v1.HsmService/Login");
const loginLogged = (l: LogLine): boolean => l.message === "call" && l.method === "Login";

type Outcome = { ok: true; userId: number } | { ok: false; error: unknown };

function settle(p: Promise<number>): Promise<Outcome> {
  return p.then(
    (userId) => ({ ok: true as const, userId }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

async function shutdownWithCallsInFlight(signal: NodeJS.Signals, inFlight: number): Promise<void> {
  const dataDir = freshDataDir();
  const daemon = await DaemonProcess.start(standardArgs(dataDir, ["--log-level", "debug"], SLOW_SCRYPT_N), TRACE_ENV);

  const setup = closer.add(new HsmClient(daemon.address));
  const aliceId = await setup.login(DEV_USER, DEV_PASSWORD);
  const wrappingKey = await setup.createWrappingKey();
  const material = randomBytes(32);
  const { keyHandle } = await setup.importSymKey(material, { wrappingKey, label: "before-shutdown" });
  const receivedBefore = daemon.logs.filter(loginReceived).length;

  const clients = Array.from({ length: inFlight }, () => closer.add(new HsmClient(daemon.address)));
  const outcomes = Promise.all(clients.map((c) => settle(c.login(DEV_USER, DEV_PASSWORD))));
  // Every call has reached the server before the signal is sent.
  await daemon.waitForLog(loginReceived, `${inFlight} Login calls received`, receivedBefore + inFlight);
  daemon.signal(signal);

  // Once the daemon says it is shutting down, it takes no new calls.
  await daemon.waitForLog((l) => l.message === "shutting down", "the shutting down line");
  const late = closer.add(new HsmClient(daemon.address, { deadlineMs: 10_000 }));
  const lateError = await late.login(DEV_USER, DEV_PASSWORD).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(lateError).toBeInstanceOf(HsmClientError);
  expect(grpc.status[(lateError as HsmClientError).code]).toBe("UNAVAILABLE");

  const results = await outcomes;
  expect(results.filter((r) => !r.ok)).toEqual([]);
  expect(results.map((r) => (r.ok ? r.userId : undefined))).toEqual(Array(inFlight).fill(aliceId));

  const exit = await daemon.exited;
  expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
  const messages = daemon.logs.map((l) => l.message);
  const shuttingDownAt = messages.indexOf("shutting down");
  expect(daemon.logs[shuttingDownAt]).toMatchObject({ signal });
  expect(messages[messages.length - 1]).toBe("stopped");
  // The calls really were in flight: their completions are logged after the shutdown began, all OK.
  const loginLines = daemon.logs.filter(loginLogged);
  expect(loginLines.filter((l) => l.status !== "OK")).toEqual([]);
  expect(loginLines).toHaveLength(1 + inFlight);
  expect(daemon.logs.slice(shuttingDownAt).filter(loginLogged).length).toBeGreaterThan(0);
  expect(daemon.logs.filter((l) => l.level === "error" || l.level === "warn")).toEqual([]);
  expect(exit.stderr).toBe("");

  // The store was closed cleanly: a restart opens it and the key is there.
  const restarted = await DaemonProcess.start(standardArgs(dataDir));
  expect(restarted.logs.find((l) => l.message === "local-cloudhsm serving")).toMatchObject({ keys: 2 });
  const again = await devCuClient(closer, restarted);
  expect(await again.kcv(keyHandle)).toBe(aesKcv(material));
  expect((await restarted.stop("SIGTERM")).code).toBe(0);
}

describe("graceful shutdown", () => {
  test("SIGTERM with 20 slow Login calls in flight: all complete, exit 0, 'stopped', the store reopens", async () => {
    await shutdownWithCallsInFlight("SIGTERM", 20);
  });

  test("SIGINT does the same and exits 0", async () => {
    await shutdownWithCallsInFlight("SIGINT", 4);
  });

  test("an idle daemon stops at SIGTERM with exit 0 and logs 'stopped'", async () => {
    const daemon = await DaemonProcess.start(standardArgs(freshDataDir()));
    // One answered call first: it proves the daemon is past its start-up (see the race in the next test).
    await devCuClient(closer, daemon);
    const exit = await daemon.stop("SIGTERM");
    expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: 0, signal: null, stderr: "" });
    expect(daemon.logs.map((l) => l.message).slice(-2)).toEqual(["shutting down", "stopped"]);
  });

  // The signal handlers are installed before the daemon listens, so a signal at the first possible moment
  // still shuts it down gracefully.
  test("SIGTERM sent the moment the serving line appears still shuts down gracefully (exit 0)", async () => {
    const ROUNDS = 20;
    for (let round = 0; round < ROUNDS; round++) {
      const daemon = await DaemonProcess.start(standardArgs(freshDataDir()), undefined, "SIGTERM");
      const exit = await daemon.exited;
      expect({ round, code: exit.code, signal: exit.signal, last: daemon.logs.at(-1)?.message }).toEqual({
        round,
        code: 0,
        signal: null,
        last: "stopped",
      });
    }
  });
});
