import pg from "pg";
import { StoreError } from "../errors";

// The connection pool under the PostgreSQL store (and, at merge, the audit log): settings, the
// server's name for messages, transactions, and the driver's errors as StoreErrors.

export interface PostgresSettings {
  /** postgres://user@host:port/database — never with a password in it. */
  url: string;
  /** Read from store.password (an environment variable or a file); never logged. */
  password: string;
  /** At most this many connections per process (default 5). */
  max?: number;
  /** How long to wait for a connection (default 10 s). */
  connectTimeoutMs?: number;
  /** How long one statement may run, lock waits included (default 30 s). */
  statementTimeoutMs?: number;
}

const INT8_OID = 20;

/**
 * A pool for the settings. BIGINT columns come back as numbers (epoch milliseconds and sequences
 * stay far below 2^53), so rows look the same as SQLite's.
 */
export function postgresPool(settings: PostgresSettings): pg.Pool {
  const pool = new pg.Pool({
    ...clientConfig(settings),
    max: settings.max ?? 5,
    statement_timeout: settings.statementTimeoutMs ?? 30_000,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8_OID && format !== "binary"
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its server is reported by the next query; without a listener it would crash us.
  pool.on("error", () => undefined);
  return pool;
}

/** Where and how one connection connects: the pool's, and the request listener's own. */
export function clientConfig(settings: PostgresSettings): pg.ClientConfig {
  return {
    ...connectionOf(settings.url),
    password: settings.password,
    connectionTimeoutMillis: settings.connectTimeoutMs ?? 10_000,
    application_name: "tidegate",
  };
}

/**
 * The URL's parts, read here rather than by the driver (whose connectionString would override the
 * password given apart with the URL's none). `sslmode` other than disable turns TLS on; verify-ca and
 * verify-full check the server's certificate.
 */
function connectionOf(url: string): pg.ClientConfig {
  const u = refuseInlinePassword(url);
  const sslmode = u.searchParams.get("sslmode");
  return {
    host: u.hostname,
    port: u.port === "" ? 5432 : Number(u.port),
    database: decodeURIComponent(u.pathname.replace(/^\//, "")) || undefined,
    user: decodeURIComponent(u.username) || undefined,
    ...(sslmode && sslmode !== "disable"
      ? { ssl: { rejectUnauthorized: sslmode === "verify-ca" || sslmode === "verify-full" } }
      : {}),
  };
}

/** host:port/database of a URL, for messages: never the user's password. */
export function describeServer(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "(an unparsable store.url)";
  }
}

/** A URL carrying a password would be committed with tidegate.yaml: refused. */
export function refuseInlinePassword(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreError("invalid-input", "store.url is not a URL like postgres://user@host:5432/database");
  }
  if (parsed.password !== "") {
    throw new StoreError(
      "invalid-input",
      "store.url holds a password: remove it from the URL and set store.password.env or store.password.file",
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new StoreError("invalid-input", `store.url must start with postgres://, not ${parsed.protocol}//`);
  }
  return parsed;
}

/** Runs `work` in one transaction on one pooled client; rolled back when it throws. */
export async function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    try {
      await client.query("ROLLBACK");
    } catch {
      broken = true; // the connection is gone: do not hand it out again
    }
    throw error;
  } finally {
    client.release(broken);
  }
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "ECONNRESET",
  "EHOSTUNREACH",
]);
// Authentication, missing database or role, server shutting down or refusing connections.
const UNAVAILABLE_SQLSTATES = new Set([
  "28P01",
  "28000",
  "3D000",
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "08006",
  "08001",
  "08004",
]);
const DISK_FULL = "53100";
const CANCELED = "57014";
const LOCK_NOT_AVAILABLE = "55P03";

/** The driver's error as a StoreError callers can name; others pass through. */
export function storeErrorOf(error: unknown, url: string, statementTimeoutMs: number): unknown {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const server = describeServer(url);
  if (code === DISK_FULL) {
    return new StoreError(
      "full",
      `the store on ${server} could not be written: the server's disk is full; nothing of this write was kept — free space on the database server and run again`,
      { cause: error },
    );
  }
  if (code === CANCELED || code === LOCK_NOT_AVAILABLE) {
    return new StoreError(
      "busy",
      `the store on ${server} did not answer within ${statementTimeoutMs} ms (a lock held by another process?); try again`,
      { cause: error },
    );
  }
  if (
    (typeof code === "string" && (CONNECTION_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code))) ||
    /timeout exceeded when trying to connect|Connection terminated|connect ECONN/i.test(message)
  ) {
    return new StoreError("unavailable", `cannot reach the store on ${server}: ${message}`, { cause: error });
  }
  return error;
}
