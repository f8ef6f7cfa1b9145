import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/** A real Git smart-HTTP server on 127.0.0.1: `git http-backend` behind HTTP Basic auth. */
export interface GitHttpServer {
  /** `http(s)://127.0.0.1:<port>/<repo>` (no credentials). */
  url(repo: string): string;
  /** Requests that came with the right credentials, and those refused. */
  counts: { authorized: number; refused: number };
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  /** The folder holding the bare repositories (GIT_PROJECT_ROOT). */
  projectRoot: string;
  username: string;
  password: string;
  /** Serve HTTPS with this key and certificate (see selfSignedCertificate). */
  tls?: { key: string; cert: string };
}

/**
 * A key and a certificate for 127.0.0.1 written into `dir`, and a Git configuration trusting it:
 * point XDG_CONFIG_HOME at `xdgConfigHome` for the Git that should trust the server.
 */
export function selfSignedCertificate(dir: string): { key: string; cert: string; xdgConfigHome: string } {
  const keyFile = path.join(dir, "key.pem");
  const certFile = path.join(dir, "cert.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"].concat([
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ]),
    { stdio: "ignore" },
  );
  const xdgConfigHome = path.join(dir, "xdg");
  fs.mkdirSync(path.join(xdgConfigHome, "git"), { recursive: true });
  fs.writeFileSync(path.join(xdgConfigHome, "git", "config"), `[http]\n\tsslCAInfo = ${certFile}\n`);
  return { key: fs.readFileSync(keyFile, "utf8"), cert: fs.readFileSync(certFile, "utf8"), xdgConfigHome };
}

/**
 * Serves every bare repository under `projectRoot`, fetch and push, to whoever sends the right
 * Basic credentials; anyone else gets a 401 challenge, as GitHub or GitLab would answer.
 */
export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString("base64")}`;
  const counts = { authorized: 0, refused: 0 };
  const handler: http.RequestListener = (req, res) => {
    if (req.headers.authorization !== expected) {
      counts.refused++;
      res.writeHead(401, { "WWW-Authenticate": 'Basic realm="tidegate-test"' }).end();
      req.resume();
      return;
    }
    counts.authorized++;
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const header = (name: string): string => String(req.headers[name] ?? "");
    // CGI: the request in the environment, the body on stdin. The Authorization header is not
    // passed on: the backend needs only the user's name.
    const backend = spawn("git", ["http-backend"], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: options.projectRoot,
        GIT_CONFIG_GLOBAL: os.devNull,
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_PROJECT_ROOT: options.projectRoot,
        GIT_HTTP_EXPORT_ALL: "1",
        REMOTE_USER: options.username,
        REMOTE_ADDR: "127.0.0.1",
        REQUEST_METHOD: req.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.replace(/^\?/, ""),
        CONTENT_TYPE: header("content-type"),
        HTTP_CONTENT_ENCODING: header("content-encoding"),
        GIT_PROTOCOL: header("git-protocol"),
      },
      stdio: ["pipe", "pipe", "inherit"],
    });
    req.pipe(backend.stdin);
    let head = Buffer.alloc(0);
    let headersSent = false;
    backend.stdout.on("data", (chunk: Buffer) => {
      if (headersSent) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      headersSent = true;
      res.write(head.subarray(end + 4));
    });
    backend.on("close", () => {
      if (!headersSent) res.writeHead(500);
      res.end();
    });
  };
  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (repo) => `${options.tls ? "https" : "http"}://127.0.0.1:${port}/${repo}`,
    counts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
