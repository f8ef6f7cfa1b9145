import { describe, expect, it } from "vitest";
import { StoreError } from "../../../src/adapters/store/errors";
import { describeServer, storeErrorOf } from "../../../src/adapters/store/postgres/pool";

// PostgreSQL's failures as the StoreErrors callers name; the server named by host and port only.

const URL = "postgres://tidegate@db.internal:6543/tidegate";
const pgError = (code: string, message = "boom") => Object.assign(new Error(message), { code });

describe("storeErrorOf", () => {
  it("maps a full disk (53100) to full, naming the server", () => {
    const error = storeErrorOf(pgError("53100", "could not extend file"), URL, 30_000) as StoreError;
    expect(error).toBeInstanceOf(StoreError);
    expect(error.problem).toBe("full");
    expect(error.message).toContain("db.internal:6543/tidegate");
  });

  it("maps refused connections, bad passwords and missing databases to unavailable", () => {
    for (const code of ["ECONNREFUSED", "ENOTFOUND", "28P01", "3D000", "57P01"]) {
      expect((storeErrorOf(pgError(code), URL, 30_000) as StoreError).problem).toBe("unavailable");
    }
    const timeout = new Error("timeout exceeded when trying to connect");
    expect((storeErrorOf(timeout, URL, 30_000) as StoreError).problem).toBe("unavailable");
  });

  it("maps a statement cut by the timeout to busy, and passes other errors through", () => {
    expect((storeErrorOf(pgError("57014"), URL, 5_000) as StoreError).message).toContain("5000 ms");
    const other = pgError("42P01");
    expect(storeErrorOf(other, URL, 30_000)).toBe(other);
  });

  it("describes a server by host, port and database, never by its user's password", () => {
    expect(describeServer("postgres://u:secret@h/db")).toBe("h:5432/db");
  });
});
