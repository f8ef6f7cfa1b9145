import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { GitCredentials } from "./credentials";

// How credentials reach Git without a command line, a config file or a child's environment: for
// the length of one Git command, tidegate listens on a Unix socket in a fresh 0700 folder, and Git
// runs credential-helper.cjs (with the Node running tidegate), which asks the socket. Only the
// socket's path is in Git's environment; it is no secret, and the 0700 folder keeps other users
// out. A nonce would add nothing: whoever could read it from Git's environment (the same user)
// can read tidegate's memory and token file too.

const HELPER = path.join(__dirname, "credential-helper.cjs");

/** What one Git command needs to ask tidegate for credentials. */
export interface CredentialSession {
  /** `-c` settings: drop every configured helper (none may store the token), then ask tidegate. */
  config: string[];
  /** Paths only: the Node binary, the helper script and the socket. */
  env: Record<string, string>;
  /** Git said the remote refused the credentials it was given (it sent `erase`). */
  readonly rejected: boolean;
}

/**
 * Runs `fn` with a credential helper that answers Git's requests for `remoteUrl` (protocol and
 * host must match: a redirect to another host gets nothing) with `credentials`.
 */
export async function withCredentialHelper<T>(
  remoteUrl: string,
  credentials: GitCredentials,
  fn: (session: CredentialSession) => Promise<T>,
): Promise<T> {
  const remote = originOf(remoteUrl);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-git-credential-"));
  fs.chmodSync(dir, 0o700);
  const socketPath = path.join(dir, "socket");
  let rejected = false;

  const server = net.createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => socket.destroy());
    socket.on("end", () => {
      const [operation = "", ...lines] = Buffer.concat(chunks).toString("utf8").split("\n");
      const request = parseRequest(lines);
      const forRemote = request.protocol === remote.protocol && normalHost(request) === remote.host;
      if (operation === "erase" && forRemote) rejected = true;
      const answer =
        operation === "get" && forRemote
          ? `username=${credentials.username}\npassword=${credentials.password}\n`
          : "";
      socket.end(answer);
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
    const session: CredentialSession = {
      config: [
        "credential.helper=",
        'credential.helper=!"$TIDEGATE_GIT_NODE" "$TIDEGATE_GIT_CREDENTIAL_HELPER"',
      ],
      env: {
        TIDEGATE_GIT_NODE: process.execPath,
        TIDEGATE_GIT_CREDENTIAL_HELPER: HELPER,
        TIDEGATE_GIT_CREDENTIAL_SOCKET: socketPath,
      },
      get rejected() {
        return rejected;
      },
    };
    return await fn(session);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

interface Origin {
  protocol: string;
  host: string;
}

/** The protocol and host[:port] of an http(s) URL, as Git's credential requests name them. */
function originOf(url: string): Origin {
  const parsed = new URL(url);
  const protocol = parsed.protocol.replace(/:$/, "").toLowerCase();
  return { protocol, host: normalHost({ protocol, host: parsed.host }) };
}

function parseRequest(lines: string[]): Partial<Origin> {
  const fields: Partial<Origin> = {};
  for (const line of lines) {
    const eq = line.indexOf("=");
    if (eq === -1) continue;
    const key = line.slice(0, eq);
    if (key === "protocol" || key === "host") fields[key] = line.slice(eq + 1);
  }
  return fields;
}

/** Lower case, without the scheme's default port. */
function normalHost({ protocol = "", host = "" }: Partial<Origin>): string {
  const defaultPort =
    protocol.toLowerCase() === "https" ? ":443" : protocol.toLowerCase() === "http" ? ":80" : "";
  const lower = host.toLowerCase();
  return defaultPort !== "" && lower.endsWith(defaultPort) ? lower.slice(0, -defaultPort.length) : lower;
}
