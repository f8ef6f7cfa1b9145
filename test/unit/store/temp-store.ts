import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach } from "vitest";
import { loadSqlite } from "../../../src/adapters/store/load-sqlite";
import type { Store } from "../../../src/adapters/store/port";
import { openSqliteStore, STORE_FILE } from "../../../src/adapters/store/sqlite";
import { STORE_NOW } from "../../contract/store/harness";

// A real SQLite file in a temp directory per test: the store is embedded, so this is the real thing.

export { storeError } from "../../contract/store/harness";

export interface TempStore {
  /** The test's temp directory. */
  readonly dir: string;
  /** The store's file in it. */
  readonly file: string;
  /** Opens a store on the file (another "process" each call); all are closed after the test. */
  open(options?: Parameters<typeof openSqliteStore>[1]): Store;
  /** Raw SQL on the store's file, to look under the port or to damage it on purpose. */
  raw<T>(work: (db: DatabaseSync) => T): T;
}

/** Registers the hooks that create and remove the temp directory around each test. */
export function useTempStore(): TempStore {
  let dir = "";
  const opened: Store[] = [];
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-store-"));
  });
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const temp: TempStore = {
    get dir() {
      return dir;
    },
    get file() {
      return path.join(dir, "data", STORE_FILE);
    },
    open(options = {}) {
      const store = openSqliteStore(temp.file, { now: () => new Date(STORE_NOW), ...options });
      opened.push(store);
      return store;
    },
    raw(work) {
      const db = new (loadSqlite().DatabaseSync)(temp.file);
      try {
        return work(db);
      } finally {
        db.close();
      }
    },
  };
  return temp;
}
