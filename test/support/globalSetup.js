// Jest global setup: nothing to prepare yet beyond making sure the compiled daemon exists for end-to-end tests.
const { execFileSync } = require("node:child_process");
const path = require("node:path");

module.exports = async function globalSetup() {
  const root = path.resolve(__dirname, "..", "..");
  // End-to-end tests run the daemon the way users do: compiled, as its own process.
  execFileSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit",
  });
};
