// A throwaway SoftHSM2 token for the peer rows: its own softhsm2.conf and token directory in a temp dir, initialised with softhsm2-util, removed afterwards.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SoftHsmTokenRef } from "./softhsmPeer";

/** Where distributions put the PKCS#11 module; the first that exists is used. */
const LIBRARIES = [
  "/usr/lib/softhsm/libsofthsm2.so",
  "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/local/lib/softhsm/libsofthsm2.so",
];

export interface BenchToken extends SoftHsmTokenRef {
  /** The environment a process needs to see this token (SOFTHSM2_CONF), on top of its own. */
  readonly env: NodeJS.ProcessEnv;
  /** softhsm2-util --version. */
  readonly version: string;
  remove(): void;
}

/** Creates the token, or says why it cannot (softhsm2 not installed). */
export function createBenchToken(): BenchToken | { readonly unavailable: string } {
  const library = LIBRARIES.find((candidate) => existsSync(candidate));
  let version: string;
  try {
    version = execFileSync("softhsm2-util", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return { unavailable: "softhsm2-util is not installed (apt-get install softhsm2)" };
  }
  if (library === undefined) return { unavailable: `libsofthsm2.so is in none of ${LIBRARIES.join(", ")}` };
  const dir = mkdtempSync(join(tmpdir(), "local-cloudhsm-bench-softhsm-"));
  try {
    const tokens = join(dir, "tokens");
    mkdirSync(tokens, { mode: 0o700 });
    const conf = join(dir, "softhsm2.conf");
    writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
    const env = { SOFTHSM2_CONF: conf };
    const label = "bench";
    const userPin = "1234";
    execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--so-pin", "5678", "--pin", userPin], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "inherit"],
    });
    return { library, label, userPin, env, version, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
