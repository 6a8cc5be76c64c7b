// Jest runs TypeScript through ts-jest in transpile-only mode; `npm run typecheck` does the type checking.
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  globalSetup: "<rootDir>/test/support/globalSetup.js",
  globalTeardown: "<rootDir>/test/support/globalTeardown.js",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
  testTimeout: 30000,
};
