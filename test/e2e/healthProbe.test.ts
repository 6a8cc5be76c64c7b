// The health probe (src/server/healthProbe.ts, the container's HEALTHCHECK) against a real daemon process: exit 0
// while the daemon is SERVING (as a whole and per service), 1 for an unknown service and once the daemon is gone,
// 2 for a usage mistake.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { childEnv, DaemonProcess, REPO_ROOT, standardArgs } from "./support/daemonProcess";
import { freshDataDir, useDaemonCleanup } from "./support/e2eFixture";

const PROBE_JS = join(REPO_ROOT, "dist", "src", "server", "healthProbe.js");

interface ProbeRun {
  readonly code: number;
  readonly stdout: string;
}

/** Runs the compiled probe to completion (its own --timeout-ms bounds the call). */
function probe(...args: string[]): Promise<ProbeRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [PROBE_JS, ...args], { env: childEnv() }, (err, stdout) => {
      if (err && typeof err.code !== "number") reject(new Error(`health probe did not run: ${err.message}`));
      else resolve({ code: err ? Number(err.code) : 0, stdout });
    });
  });
}

useDaemonCleanup();

test("exit 0 and SERVING while the daemon serves; 1 for an unknown service; 1 once it has stopped", async () => {
  const daemon = await DaemonProcess.start(standardArgs(freshDataDir()));
  expect(await probe(daemon.address)).toEqual({ code: 0, stdout: `${daemon.address}: SERVING\n` });
  expect(await probe(daemon.address, "--service", "localcloudhsm.v1.HsmService")).toEqual({ code: 0, stdout: `${daemon.address}: SERVING\n` });
  expect((await probe(daemon.address, "--service", "no.such.Service")).code).toBe(1);

  const address = daemon.address;
  expect((await daemon.stop()).code).toBe(0);
  const gone = await probe(address, "--timeout-ms", "2000");
  expect(gone.code).toBe(1);
  expect(gone.stdout).toMatch(/no status/);
});

test("exit 2 for a usage mistake", async () => {
  expect((await probe("--timeout-ms", "soon")).code).toBe(2);
  expect((await probe("127.0.0.1:1", "--tls-cert-file", "cert.pem")).code).toBe(2);
});
