#!/usr/bin/env node
"use strict";
/* global require, process, Buffer -- a CommonJS Node script, run by Git; the lint config targets TS */
/* eslint-disable @typescript-eslint/no-require-imports */
// Git's credential helper for tidegate (see credential-server.ts). Git runs it as
// `<node> credential-helper.cjs get|store|erase` with the request on stdin; it passes the
// operation and the request to the tidegate process that started Git, over the Unix socket named
// by TIDEGATE_GIT_CREDENTIAL_SOCKET, and prints the answer. It holds no secret itself: the
// credentials exist only in tidegate's memory and on this pipe to Git.
const net = require("node:net");

const operation = process.argv[2] ?? "";
const socketPath = process.env.TIDEGATE_GIT_CREDENTIAL_SOCKET;
if (!socketPath || !["get", "store", "erase"].includes(operation)) process.exit(0);

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const socket = net.createConnection(socketPath);
  socket.on("error", (err) => {
    process.stderr.write(`tidegate credential helper: cannot reach tidegate: ${err.message}\n`);
    process.exit(0);
  });
  socket.pipe(process.stdout);
  socket.end(`${operation}\n${Buffer.concat(chunks).toString("utf8")}`);
});
