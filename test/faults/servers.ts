import * as net from "node:net";
import * as tls from "node:tls";

// Misbehaving remotes on 127.0.0.1, each on a free port: real TCP servers that real Git (and ssh)
// connect to.

/** Accepts every connection and never sends a byte: a hung Git server, or a proxy holding the line. */
export interface SilentServer {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /** Connections still open: the client side is gone once this drops to zero. */
  open(): number;
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("data", () => {}); // read and ignore, so the client's writes never block
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  const port = await listen(server);
  return {
    port,
    accepted: () => accepted,
    open: () => sockets.size,
    close: () => closeServer(server, sockets),
  };
}

/**
 * What the proxy does to the answer of a connection once it has passed `afterBytes` bytes of it:
 * keep forwarding, cut the connection (the server died), or forward nothing more and hold the
 * connection open (the server hung mid-transfer).
 */
export type ProxyMode = "healthy" | "die" | "stall";

export interface CuttingProxy {
  /** The proxied URL for a path on the target, e.g. `http://user:pass@127.0.0.1:<port>/remote.git`. */
  url(targetUrl: string): string;
  mode: ProxyMode;
  /** Connections cut or stalled so far. */
  faults(): number;
  close(): Promise<void>;
}

/** A TCP proxy in front of a real Git server that fails large answers mid-way, as `mode` says. */
export async function startCuttingProxy(targetPort: number, afterBytes: number): Promise<CuttingProxy> {
  const sockets = new Set<net.Socket>();
  let faults = 0;
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  const proxy: CuttingProxy = {
    mode: "healthy",
    url: (targetUrl) => {
      const url = new URL(targetUrl);
      url.port = String(port);
      return url.toString();
    },
    faults: () => faults,
    close: () => closeServer(server, sockets),
  };
  const server = net.createServer((client) => {
    track(client);
    const upstream = net.connect(targetPort, "127.0.0.1");
    track(upstream);
    // The mode is read per connection when it opens: switching to healthy heals new connections.
    const mode = proxy.mode;
    let forwarded = 0;
    let faulted = false;
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => {
      if (faulted) return;
      if (mode !== "healthy" && forwarded + chunk.length > afterBytes) {
        faulted = true;
        faults++;
        client.write(chunk.subarray(0, Math.max(0, afterBytes - forwarded)));
        if (mode === "die") {
          client.destroy();
          upstream.destroy();
        }
        // stall: nothing more reaches the client; both stay open until the client gives up.
        return;
      }
      forwarded += chunk.length;
      client.write(chunk);
    });
    upstream.on("end", () => {
      if (!faulted) client.end();
    });
    client.on("close", () => upstream.destroy());
  });
  const port = await listen(server);
  return proxy;
}

/**
 * An https front on a fixed port for a plain-HTTP Git server, that can die (the listener closes and
 * every connection is cut: connection refused from then on) and come back on the same port.
 */
export interface DyingFront {
  port: number;
  /** `https://127.0.0.1:<port>/<repo>`. */
  url(repo: string): string;
  die(): Promise<void>;
  revive(): Promise<void>;
  close(): Promise<void>;
}

/** `key` and `cert`: PEM, the certificate for 127.0.0.1 (see selfSignedCertificate in the test). */
export async function startDyingFront(targetPort: number, key: string, cert: string): Promise<DyingFront> {
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  };
  const serve = (): tls.Server =>
    tls.createServer({ key, cert }, (client) => {
      track(client);
      const upstream = net.connect(targetPort, "127.0.0.1");
      track(upstream);
      client.pipe(upstream).pipe(client);
    });
  let server = serve();
  const port = await listen(server);
  let alive = true;
  const die = async (): Promise<void> => {
    if (!alive) return;
    alive = false;
    await closeServer(server, sockets);
  };
  return {
    port,
    url: (repo) => `https://127.0.0.1:${port}/${repo}`,
    die,
    revive: async () => {
      if (alive) return;
      server = serve();
      await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
      alive = true;
    },
    close: die,
  };
}

/** Polls `condition` until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}
