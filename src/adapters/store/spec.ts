import * as fs from "node:fs";
import type { ResolvedSettings } from "../../config/resolve";
import { dataPaths } from "../../config/paths";
import { readSecret } from "../../config/secret";
import type { Store } from "./port";
import { openSqliteStore } from "./sqlite";

// Which store the configuration names, and opening it only to read (status, report): no engine, and
// the PostgreSQL driver loaded only when it is the store.

/** Which store holds runs, statuses, reports and approvals. */
export type StoreSpec =
  { kind: "sqlite"; file: string } | { kind: "postgres"; url: string; password: string };

/**
 * The store the configuration asks for: PostgreSQL when `store:` is set (its password read here;
 * register it with the redaction), else the SQLite file in the data directory.
 */
export function storeSpec(
  config: Pick<ResolvedSettings, "dataDir" | "store">,
  env: NodeJS.ProcessEnv = process.env,
): StoreSpec {
  if (config.store === undefined) return { kind: "sqlite", file: dataPaths(config.dataDir).store };
  const password = readSecret(config.store.password, "tidegate.yaml store.password", env);
  return { kind: "postgres", url: config.store.url, password };
}

/**
 * For the commands that only read: the store when it exists, undefined when nothing was ever
 * recorded (reading creates nothing). The PostgreSQL driver is loaded only when it is the store.
 */
export async function openExistingStore(spec: StoreSpec): Promise<Store | undefined> {
  switch (spec.kind) {
    case "sqlite":
      return fs.existsSync(spec.file) ? openSqliteStore(spec.file) : undefined;
    case "postgres": {
      const { openPostgresStore: open } = await import("./postgres/index.js");
      // Reading never migrates a shared schema (see PostgresStoreOptions.migrate).
      return open({ url: spec.url, password: spec.password }, { migrate: false });
    }
  }
}
