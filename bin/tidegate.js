#!/usr/bin/env node
"use strict";
/* global require, process, __dirname, __filename -- a CommonJS Node script; the lint config targets TS */
/* eslint-disable @typescript-eslint/no-require-imports */
// Runs src/main.ts in this process through tsx (no build step). Both hooks are registered: the
// CommonJS one for the static imports, the ESM one for the commands main.ts loads with import().
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

// tidegate needs Node >= 22.13. npx and npm scripts put node_modules/.bin first on PATH, so the
// Node 22 the repo installs runs this file; when an older `node` started it directly, hand over.
const [major, minor] = process.versions.node.split(".").map(Number);
const repoNode = path.join(__dirname, "..", "node_modules", ".bin", "node");
if (
  (major < 22 || (major === 22 && minor < 13)) &&
  !process.env.TIDEGATE_NODE_HANDOVER &&
  fs.existsSync(repoNode)
) {
  const result = spawnSync(repoNode, [__filename, ...process.argv.slice(2)], {
    stdio: "inherit",
    env: { ...process.env, TIDEGATE_NODE_HANDOVER: "1" },
  });
  process.exit(result.status ?? 1);
}

require("tsx/cjs");
require("tsx/esm/api").register();
require("../src/main.ts").runCli();
