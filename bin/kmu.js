#!/usr/bin/env node
// The `kmu` command: runs the compiled CLI, or says how to build it.
"use strict";
const path = require("node:path");
const fs = require("node:fs");

const main = path.join(__dirname, "..", "dist", "src", "cli", "main.js");
if (!fs.existsSync(main)) {
  process.stderr.write("kmu: run `npm run build` first\n");
  process.exit(2);
}
require(main)
  .main(process.argv.slice(2), process.env, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr })
  .then(
    (status) => {
      process.exitCode = status;
    },
    (err) => {
      process.stderr.write(`kmu: ${err && err.stack ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
