#!/usr/bin/env node
"use strict";
/* global require, process, __dirname, __filename -- a CommonJS Node script; the lint config targets TS */
/* eslint-disable @typescript-eslint/no-require-imports */
// Runs tidegate's compiled JavaScript (dist/, from `npm run build`) when it is current, else
// src/main.ts through tsx. An installed package ships dist/ without src/; in a checkout, dist/ is
// used only while its build stamp is newer than every file under src/, so an edit never runs stale code.
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const root = path.join(__dirname, "..");

// tidegate needs Node >= 22.13: the `node` dependency installs it. npx and npm scripts put
// node_modules/.bin first on PATH, so that Node runs this file; when an older `node` started it
// directly, hand over to the pinned one.
const [major, minor] = process.versions.node.split(".").map(Number);
if ((major < 22 || (major === 22 && minor < 13)) && !process.env.TIDEGATE_NODE_HANDOVER) {
  const pinned = pinnedNode();
  if (pinned) {
    const result = spawnSync(pinned, [__filename, ...process.argv.slice(2)], {
      stdio: "inherit",
      env: { ...process.env, TIDEGATE_NODE_HANDOVER: "1" },
    });
    process.exit(result.status ?? 1);
  }
  process.stderr.write(
    `tidegate: needs Node >= 22.13 (this is ${process.version}); run 'npm install' to get it\n`,
  );
  process.exit(1);
}

// V8's compiled code for every module, cached on disk (Node >= 22.1): later starts skip compiling.
require("node:module").enableCompileCache?.();

if (compiledIsCurrent()) {
  require("../dist/main.js").runCli();
} else {
  // Both hooks: the CommonJS one for static imports, the ESM one for the commands loaded with import().
  require("tsx/cjs");
  require("tsx/esm/api").register();
  require("../src/main.ts").runCli();
}

/** The `node` package's binary: beside this checkout, or hoisted next to this installed package. */
function pinnedNode() {
  try {
    const binary = path.join(
      path.dirname(require.resolve("node/package.json", { paths: [root] })),
      "bin",
      "node",
    );
    return fs.existsSync(binary) ? binary : undefined;
  } catch {
    return undefined;
  }
}

function compiledIsCurrent() {
  let built;
  try {
    built = fs.statSync(`${root}/dist/.build-stamp`).mtimeMs;
  } catch {
    return false;
  }
  if (!fs.existsSync(`${root}/src`)) return true;
  // A stat per source file, about 1.5 ms for ~250 files (readdir's withFileTypes and path.join cost
  // several times that on a cold start).
  const changedSince = (dir) =>
    fs.readdirSync(dir).some((name) => {
      const stat = fs.statSync(`${dir}/${name}`);
      return stat.isDirectory() ? changedSince(`${dir}/${name}`) : stat.mtimeMs > built;
    });
  return !changedSince(`${root}/src`);
}
