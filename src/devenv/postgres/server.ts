import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

// A throwaway PostgreSQL server for tests, benches and the local default: the machine's binaries,
// a temporary data directory, a free port on 127.0.0.1, password authentication (so the password
// really travels the way tidegate reads it: from an environment variable or a file).

/** Where the server binaries were found, and how. */
export interface PostgresBinaries {
  dir: string;
  /** "PG_BIN", "pg_config" or "debian" (the newest /usr/lib/postgresql/<n>/bin). */
  source: "PG_BIN" | "pg_config" | "debian";
  version: string;
}

/** Finds initdb and postgres: PG_BIN, then `pg_config --bindir`, then Debian's folders. Undefined when none. */
export function findPostgres(env: NodeJS.ProcessEnv = process.env): PostgresBinaries | undefined {
  const candidates: Array<[string | undefined, PostgresBinaries["source"]]> = [
    [env.PG_BIN, "PG_BIN"],
    [pgConfigBindir(), "pg_config"],
    [debianBindir(), "debian"],
  ];
  for (const [dir, source] of candidates) {
    if (dir === undefined || dir === "") continue;
    const postgres = path.join(dir, "postgres");
    if (!fs.existsSync(postgres) || !fs.existsSync(path.join(dir, "initdb"))) continue;
    try {
      const version = execFileSync(postgres, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim();
      return { dir, source, version };
    } catch {
      continue;
    }
  }
  return undefined;
}

function pgConfigBindir(): string | undefined {
  try {
    return execFileSync("pg_config", ["--bindir"], { encoding: "utf8", timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}

function debianBindir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return undefined;
  const versions = fs
    .readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(root, versions[0]!, "bin") : undefined;
}

export interface PostgresServer {
  /** postgres://tidegate@127.0.0.1:<port>/tidegate — without the password. */
  url: string;
  user: string;
  password: string;
  host: string;
  port: number;
  database: string;
  /** The URL with the password in it (for tests' own clients; tidegate reads the password apart). */
  urlWithPassword: string;
  /** Creates another empty database on the server and returns its URL (without the password). */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and removes its data directory; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Where the data directory goes; a new temporary folder by default. */
  dir?: string;
  log?: (message: string) => void;
}

const USER = "tidegate";
const DATABASE = "tidegate";

/**
 * Starts a new server. PostgreSQL refuses to run as root, so as root the server runs as the
 * `postgres` user (or `nobody`) through setpriv, on a data directory it owns.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const binaries = findPostgres();
  if (binaries === undefined) {
    throw new Error(
      "PostgreSQL's server binaries were not found (PG_BIN, `pg_config --bindir`, /usr/lib/postgresql/*/bin): run scripts/setup.sh, or install postgresql and set PG_BIN",
    );
  }
  const root = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-pg-"));
  const dataDir = path.join(root, "data");
  const password = randomBytes(18).toString("base64url");
  const pwfile = path.join(root, "pwfile");
  fs.writeFileSync(pwfile, password + "\n", { mode: 0o600 });
  const runAs = unprivilegedUser();
  if (runAs !== undefined) {
    fs.chmodSync(root, 0o700);
    fs.chownSync(root, runAs.uid, runAs.gid);
    fs.chownSync(pwfile, runAs.uid, runAs.gid);
  }
  const command = (bin: string, args: string[]): [string, string[]] =>
    runAs === undefined
      ? [path.join(binaries.dir, bin), args]
      : [
          "setpriv",
          [
            `--reuid=${runAs.uid}`,
            `--regid=${runAs.gid}`,
            "--clear-groups",
            path.join(binaries.dir, bin),
            ...args,
          ],
        ];
  const [initdb, initArgs] = command("initdb", [
    "-D",
    dataDir,
    "-U",
    USER,
    "--auth=scram-sha-256",
    `--pwfile=${pwfile}`,
    "--encoding=UTF8",
    "--no-sync",
  ]);
  try {
    execFileSync(initdb, initArgs, { stdio: "pipe", timeout: 120_000, cwd: root });
  } catch (error) {
    fs.rmSync(root, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`initdb failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
  fs.rmSync(pwfile, { force: true });
  const port = await freePort();
  const [postgres, args] = command("postgres", [
    "-D",
    dataDir,
    "-p",
    String(port),
    "-k",
    root,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=200",
  ]);
  const logFile = path.join(root, "postgres.log");
  const out = fs.openSync(logFile, "a");
  const child: ChildProcess = spawn(postgres, args, { stdio: ["ignore", out, out], cwd: root });
  fs.closeSync(out);
  let exited = false;
  child.on("exit", () => (exited = true));
  const base = { user: USER, password, host: "127.0.0.1", port };
  try {
    await waitReady(base, () => exited, logFile);
  } catch (error) {
    child.kill("SIGKILL");
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  options.log?.(`PostgreSQL (${binaries.version}) on 127.0.0.1:${port}`);
  const urlOf = (database: string, withPassword: boolean) =>
    `postgres://${USER}${withPassword ? ":" + encodeURIComponent(password) : ""}@127.0.0.1:${port}/${database}`;
  let stopped: Promise<void> | undefined;
  return {
    ...base,
    database: DATABASE,
    url: urlOf(DATABASE, false),
    urlWithPassword: urlOf(DATABASE, true),
    createDatabase: async (name) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      await query(base, "postgres", `CREATE DATABASE ${name}`);
      return urlOf(name, false);
    },
    stop: () =>
      (stopped ??= (async () => {
        if (!exited) {
          const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
          child.kill("SIGINT"); // fast shutdown: rolls back open transactions, closes connections
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await gone;
          clearTimeout(timer);
        }
        fs.rmSync(root, { recursive: true, force: true });
      })()),
  };
}

type Connection = { user: string; password: string; host: string; port: number };

async function query(connection: Connection, database: string, sql: string): Promise<void> {
  const { Client } = await import("pg");
  const client = new Client({ ...connection, database, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function waitReady(connection: Connection, exited: () => boolean, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let created = false;
  for (;;) {
    if (exited()) throw new Error(`postgres exited at start:\n${tail(logFile)}`);
    try {
      if (!created) await query(connection, "postgres", `CREATE DATABASE ${DATABASE}`);
      created = true;
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`postgres did not accept connections within 60 s:\n${tail(logFile)}`, {
          cause: error,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "(no log)";
  }
}

function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    try {
      const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid };
    } catch {
      continue;
    }
  }
  throw new Error("PostgreSQL will not run as root, and neither a postgres nor a nobody user exists");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}
