#!/usr/bin/env node
// The `local-cloudhsm` command: starts the compiled daemon with the given flags (as `npm start -- ...` does in a clone).
"use strict";
const path = require("node:path");
const fs = require("node:fs");

const main = path.join(__dirname, "..", "dist", "src", "server", "main.js");
if (!fs.existsSync(main)) {
  // Only a clone lacks dist/: the published package is built on `npm pack` (prepack).
  process.stderr.write("local-cloudhsm: run `npm run build` first\n");
  process.exit(2);
}
// main.js reads process.argv and runs on load.
require(main);
