import * as fs from "node:fs";
import type { Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { ServerSettings } from "../config/resolve";
import { TidegateError } from "../domain/errors";
import { API_BASE } from "./app";

// The API on a socket: plain HTTP, or HTTPS with server.tls. Closing stops accepting, lets requests
// in flight finish for a while, then cuts the connections still open.

export interface RunningServer {
  /** The API's base URL, e.g. http://127.0.0.1:7420/api/v1 (the real port when 0 was asked for). */
  url: string;
  close(): Promise<void>;
}

const CLOSE_GRACE_MS = 5_000;
const IDLE_SWEEP_MS = 50;

export async function startServer(
  fetch: (request: Request) => Response | Promise<Response>,
  settings: ServerSettings,
): Promise<RunningServer> {
  const tls = settings.tls && {
    cert: readTls(settings.tls.cert, "cert"),
    key: readTls(settings.tls.key, "key"),
  };
  const server = (
    tls
      ? createAdaptorServer({ fetch, createServer: createHttpsServer, serverOptions: tls })
      : createAdaptorServer({ fetch })
  ) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => reject(listenError(error, settings)));
    server.listen(settings.port, settings.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = settings.host.includes(":") ? `[${settings.host}]` : settings.host;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      // A connection whose last response ends during the grace period (a page's event stream, a
      // slow request) is closed as soon as it is idle, not when its keep-alive times out.
      const idle = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
      const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      server.close(() => {
        clearInterval(idle);
        clearTimeout(cut);
        resolve();
      });
      server.closeIdleConnections();
    }));
  return { url: `${tls ? "https" : "http"}://${host}:${port}${API_BASE}`, close };
}

function readTls(file: string, key: "cert" | "key"): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new TidegateError("invalid", `tidegate.yaml server.tls.${key}: cannot read ${file}`, {
      cause: error,
      recovery: `point server.tls.${key} at a readable PEM file`,
    });
  }
}

function listenError(error: NodeJS.ErrnoException, settings: ServerSettings): Error {
  const where = `${settings.host}:${settings.port}`;
  if (error.code === "EADDRINUSE") {
    return new TidegateError("conflict", `cannot serve the API on ${where}: the address is in use`, {
      cause: error,
      recovery: "stop what listens there, or set server.listen in tidegate.yaml to a free host:port",
    });
  }
  return new TidegateError("unavailable", `cannot serve the API on ${where}: ${error.message}`, {
    cause: error,
    recovery: "check server.listen in tidegate.yaml",
  });
}
