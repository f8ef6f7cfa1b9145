import * as fs from "node:fs";
import * as path from "node:path";
import type { ResolvedConfig } from "../../config/resolve";
import { dataPaths } from "../../config/paths";
import type { Store } from "./port";
import { openSqliteStore } from "./sqlite";

// Which store to open and how, apart from compose.ts: the commands that only read (status, report)
// open the store without loading the engine (the Pulumi SDK alone takes longer than they may).

/** Which store holds runs, statuses, reports and approvals. */
export type StoreSpec = { kind: "sqlite"; file: string } | { kind: "postgres"; url: string };

/** The store the configuration asks for; today always the SQLite file in the data directory. */
export function storeSpec(config: Pick<ResolvedConfig, "dataDir">): StoreSpec {
  return { kind: "sqlite", file: dataPaths(config.dataDir).store };
}

/** Opens (creating when missing) the store a spec names. */
export function openStore(spec: StoreSpec): Store {
  switch (spec.kind) {
    case "sqlite":
      fs.mkdirSync(path.dirname(spec.file), { recursive: true });
      return openSqliteStore(spec.file);
    case "postgres":
      throw new Error("store kind 'postgres' is not available yet; use the SQLite store (the default)");
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
