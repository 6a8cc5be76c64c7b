// Names shared by globalSetup/globalTeardown (plain JS, run by jest itself) and the SoftHSM2 interop tests.
module.exports = {
  /** Label of the token globalSetup initialises; tests pick their slot by it (the slot id is random). */
  TOKEN_LABEL: "jest",
  USER_PIN: "1234",
  SO_PIN: "5678",
  /** Path of libsofthsm2.so, set when the token exists. */
  ENV_LIBRARY: "LOCALCLOUDHSM_TEST_SOFTHSM2_LIB",
  /** Why the interop tests must skip (softhsm2 missing); unset when the token exists. */
  ENV_SKIP: "LOCALCLOUDHSM_TEST_SOFTHSM2_SKIP",
  /** The temp dir holding softhsm2.conf and the token store; globalTeardown removes it. */
  ENV_DIR: "LOCALCLOUDHSM_TEST_SOFTHSM2_DIR",
  /** SOFTHSM2_CONF as it was before globalSetup ("" when unset). */
  ENV_PREVIOUS_CONF: "LOCALCLOUDHSM_TEST_SOFTHSM2_PREVIOUS_CONF",
};
