import * as fs from "node:fs";
import * as path from "node:path";
import { describeServer, postgresPool } from "../adapters/store/postgres";
import { readSecret } from "../config/secret";
import { parseTidegateFile } from "../config/parse";
import { resolveSettings } from "../config/resolve";
import { findPostgres } from "../devenv/postgres/server";
import { findConfig } from "./context";
import type { Finding } from "./doctor-report";

// `tidegate doctor` on PostgreSQL: the server binaries (what the store's tests start), and, when
// tidegate.yaml sets store.url, whether the store connects. Nothing is created or migrated.

type FindingResult = Omit<Finding, "name" | "required"> & { required?: boolean };

export const POSTGRES_FIX =
  "bash scripts/setup.sh (installs Debian's postgresql), or set PG_BIN to the folder holding postgres and initdb";

const CONNECT_TIMEOUT_MS = 3_000;

/** Where PostgreSQL's server binaries are and their version, or how to get them. */
export function probePostgres(env: NodeJS.ProcessEnv): Promise<FindingResult> {
  const found = findPostgres(env);
  return Promise.resolve(
    found
      ? { ok: true, detail: `${found.version} in ${found.dir} (found by ${found.source})` }
      : {
          ok: false,
          detail:
            "PostgreSQL's server binaries were not found (PG_BIN, pg_config --bindir, /usr/lib/postgresql/*/bin); only the PostgreSQL store's tests need them",
          fix: POSTGRES_FIX,
        },
  );
}

/**
 * The store tidegate.yaml (./tidegate.yaml, or the embedded default) names: SQLite, or whether
 * PostgreSQL at store.url accepts the password and answers. Required once store.url is set.
 */
export async function probeStore(env: NodeJS.ProcessEnv, cwd = process.cwd()): Promise<FindingResult> {
  const choice = findConfig({ values: {}, positionals: [] }, cwd);
  const parsed = choice ? parseTidegateFile(choice.path, fs.readFileSync(choice.path, "utf8")) : undefined;
  const store = parsed?.value
    ? resolveSettings(parsed.value, path.dirname(choice!.path), choice!.path).store
    : undefined;
  if (store === undefined) {
    return { ok: true, detail: "SQLite in the data directory (tidegate.yaml sets no store.url)" };
  }
  const server = describeServer(store.url);
  const fix = "check that the server is up, and store.url and store.password in tidegate.yaml";
  let pool;
  try {
    const password = readSecret(store.password, "tidegate.yaml store.password", env);
    pool = postgresPool({ url: store.url, password, max: 1, connectTimeoutMs: CONNECT_TIMEOUT_MS });
    const { rows } = await pool.query<{ version: string }>(
      "SELECT current_setting('server_version') AS version",
    );
    return { required: true, ok: true, detail: `PostgreSQL ${rows[0]?.version ?? "?"} on ${server} answers` };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { required: true, ok: false, detail: `the store on ${server}: ${message}`, fix };
  } finally {
    await pool?.end();
  }
}
