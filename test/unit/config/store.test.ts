import { describe, expect, it } from "vitest";
import { parseTidegateFile } from "../../../src/config/parse";
import { resolveSettings } from "../../../src/config/resolve";
import { storeSpec } from "../../../src/compose";

// store: in tidegate.yaml: a PostgreSQL URL without a password, the password from a variable or a file.

const parse = (...store: string[]) =>
  parseTidegateFile("tidegate.yaml", ["repository:", "  url: .", "store:", ...store].join("\n"));

describe("store in tidegate.yaml", () => {
  it("resolves the URL and the password's source, a file against the config's folder", () => {
    const byEnv = parse(
      "  url: postgres://tidegate@db.internal:5432/tidegate",
      "  password: { env: PGPASS }",
    );
    expect(byEnv.issues).toEqual([]);
    expect(resolveSettings(byEnv.value!, "/etc/tidegate").store).toEqual({
      url: "postgres://tidegate@db.internal:5432/tidegate",
      password: { kind: "env", name: "PGPASS" },
    });
    const byFile = parse("  url: postgresql://tidegate@db/tidegate", "  password: { file: secrets/pg }");
    expect(resolveSettings(byFile.value!, "/etc/tidegate").store?.password).toEqual({
      kind: "file",
      path: "/etc/tidegate/secrets/pg",
    });
  });

  it("is absent by default: the store stays SQLite in the data directory", () => {
    const parsed = parseTidegateFile("tidegate.yaml", "repository:\n  url: .\n");
    const settings = resolveSettings(parsed.value!, "/srv");
    expect(settings.store).toBeUndefined();
    expect(storeSpec(settings)).toEqual({ kind: "sqlite", file: "/srv/.tidegate/tidegate.db" });
  });

  it("refuses a password in the URL, naming the field and the way to give it, without echoing it", () => {
    const issues = parse(
      "  url: postgres://tidegate:hunter2@db/tidegate",
      "  password: { env: PGPASS }",
    ).issues;
    expect(issues).toMatchObject([
      { path: "store.url", message: expect.stringContaining("store.password.env or store.password.file") },
    ]);
    expect(JSON.stringify(issues)).not.toContain("hunter2");
  });

  it("names a bad scheme, a missing password source, two sources and an inline password", () => {
    expect(parse("  url: mysql://db/x", "  password: { env: PGPASS }").issues).toMatchObject([
      { path: "store.url", message: expect.stringContaining("unsupported scheme") },
    ]);
    expect(parse("  url: postgres://t@db/x").issues).toMatchObject([{ path: "store.password" }]);
    expect(parse("  url: postgres://t@db/x", "  password: { env: A, file: /x }").issues).toMatchObject([
      { path: expect.stringMatching(/^store\.password/) },
    ]);
    expect(parse("  url: postgres://t@db/x", "  password: hunter2").issues).toMatchObject([
      { path: "store.password" },
    ]);
  });

  it("reads the password when the store is opened, and names the variable when it is unset", () => {
    const settings = {
      dataDir: "/srv/.tidegate",
      store: { url: "postgres://t@db/x", password: { kind: "env" as const, name: "PGPASS" } },
    };
    expect(storeSpec(settings, { PGPASS: " s3cret\n" })).toEqual({
      kind: "postgres",
      url: "postgres://t@db/x",
      password: "s3cret",
    });
    expect(() => storeSpec(settings, {})).toThrow(/store\.password: the variable PGPASS is not set/);
  });
});
