import * as fs from "node:fs";
import * as path from "node:path";
import type { Store } from "./port";
import type { StoreSpec } from "./spec";
import { openPostgresStore } from "./postgres";
import { openSqliteStore } from "./sqlite";

// Which store to open and how, apart from compose.ts. What the commands that only read need is in
// ./spec.ts, which loads neither the PostgreSQL driver nor anything else they do not use.

export { openExistingStore, storeSpec, type StoreSpec } from "./spec";

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
