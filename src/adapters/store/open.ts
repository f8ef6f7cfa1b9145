import * as fs from "node:fs";
import * as path from "node:path";
import type { ResolvedSettings } from "../../config/resolve";
import { dataPaths } from "../../config/paths";
import { readSecret } from "../../config/secret";
import type { Store } from "./port";
import { openPostgresStore } from "./postgres";
import { openSqliteStore } from "./sqlite";

// Which store to open and how, apart from compose.ts: the commands that only read (status, report)
// open the store without loading the engine (the Pulumi SDK alone takes longer than they may).

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

/** Opens (creating when missing) the store a spec names. */
export function openStore(spec: StoreSpec): Store {
  switch (spec.kind) {
    case "sqlite":
      fs.mkdirSync(path.dirname(spec.file), { recursive: true });
      return openSqliteStore(spec.file);
    case "postgres":
      return openPostgresStore({ url: spec.url, password: spec.password });
  }
}

/**
 * For the commands that only read: the store when it exists, undefined when nothing was ever
 * recorded (reading creates nothing).
 */
export function openExistingStore(spec: StoreSpec): Store | undefined {
  switch (spec.kind) {
    case "sqlite":
      return fs.existsSync(spec.file) ? openSqliteStore(spec.file) : undefined;
    case "postgres":
      return openStore(spec);
  }
}
