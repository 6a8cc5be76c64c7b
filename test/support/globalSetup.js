// Jest global setup: builds the compiled daemon for end-to-end tests and creates a throwaway SoftHSM2 token
// for the PKCS#11 interop tests. It runs in jest's parent process, so the environment set here is what
// every worker (and the native SoftHSM2 library inside it) inherits; a test file's process.env is a copy.
const { execFileSync } = require("node:child_process");
const { existsSync, mkdirSync, mkdtempSync, writeFileSync } = require("node:fs");
const { tmpdir } = require("node:os");
const path = require("node:path");
const softhsm = require("./softhsmEnv");

/** Where Debian's softhsm2 package puts the PKCS#11 module (the first one that exists is used). */
const SOFTHSM2_LIBRARIES = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", "/usr/local/lib/softhsm/libsofthsm2.so"];

function hasSofthsm2Util() {
  try {
    execFileSync("softhsm2-util", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Creates the token "jest" (user PIN 1234, SO PIN 5678) in a temp dir, or records why it could not. */
function createSofthsmToken() {
  delete process.env[softhsm.ENV_SKIP];
  const library = SOFTHSM2_LIBRARIES.find((candidate) => existsSync(candidate));
  if (!hasSofthsm2Util() || library === undefined) {
    process.env[softhsm.ENV_SKIP] = "softhsm2 is not installed (apt-get install -y softhsm2 opensc, as .ci/run does)";
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), "lch-softhsm-"));
  const tokens = path.join(dir, "tokens");
  mkdirSync(tokens, { mode: 0o700 });
  const conf = path.join(dir, "softhsm2.conf");
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env[softhsm.ENV_DIR] = dir;
  process.env[softhsm.ENV_PREVIOUS_CONF] = process.env.SOFTHSM2_CONF ?? "";
  process.env.SOFTHSM2_CONF = conf;
  process.env[softhsm.ENV_LIBRARY] = library;
  execFileSync(
    "softhsm2-util",
    ["--init-token", "--free", "--label", softhsm.TOKEN_LABEL, "--so-pin", softhsm.SO_PIN, "--pin", softhsm.USER_PIN],
    { env: process.env, stdio: ["ignore", "ignore", "inherit"] },
  );
}

module.exports = async function globalSetup() {
  const root = path.resolve(__dirname, "..", "..");
  // End-to-end tests run the daemon the way users do: compiled, as its own process.
  execFileSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
  createSofthsmToken();
};
