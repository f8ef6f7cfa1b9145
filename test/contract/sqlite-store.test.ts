import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Store } from "../../src/adapters/store/port";
import { openSqliteStore, STORE_FILE } from "../../src/adapters/store/sqlite";
import { STORE_NOW, storeContract } from "./store";

// A real SQLite file in a temp directory per test; every reopen is another connection on it.
storeContract("sqlite", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-contract-"));
  const file = path.join(dir, "data", STORE_FILE);
  const opened: Store[] = [];
  const open = () => {
    const store = openSqliteStore(file, { now: () => new Date(STORE_NOW) });
    opened.push(store);
    return store;
  };
  return {
    store: open(),
    reopen: async () => open(),
    cleanup: async () => {
      for (const store of opened) await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});
