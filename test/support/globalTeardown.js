// Jest global teardown: removes the SoftHSM2 token directory made by globalSetup and restores SOFTHSM2_CONF.
const { rmSync } = require("node:fs");
const softhsm = require("./softhsmEnv");

module.exports = async function globalTeardown() {
  const dir = process.env[softhsm.ENV_DIR];
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (process.env[softhsm.ENV_PREVIOUS_CONF] !== undefined) {
    if (process.env[softhsm.ENV_PREVIOUS_CONF] === "") delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = process.env[softhsm.ENV_PREVIOUS_CONF];
  }
  for (const name of [softhsm.ENV_DIR, softhsm.ENV_PREVIOUS_CONF, softhsm.ENV_LIBRARY, softhsm.ENV_SKIP]) delete process.env[name];
};
