import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probePostgres, probeStore } from "../../../src/cli/doctor-postgres";
import { findPostgres, startPostgres, type PostgresServer } from "../../../src/devenv/postgres/server";

// doctor on PostgreSQL: the binaries, and whether a configured store connects (never printing its password).

const binaries = findPostgres();
const SKIPPED = binaries
  ? ""
  : " — skipped: PostgreSQL's binaries are not installed (scripts/setup.sh installs them)";

describe("doctor on PostgreSQL", () => {
  let server: PostgresServer | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-doctor-pg-"));
    if (binaries) server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const writeConfig = (store: string[]) =>
    fs.writeFileSync(path.join(dir, "tidegate.yaml"), ["repository:", "  url: .", ...store, ""].join("\n"));

  it.skipIf(!binaries)(`names where the binaries are and their version${SKIPPED}`, async () => {
    expect(await probePostgres({ PG_BIN: "/nonexistent" })).toEqual({
      ok: true,
      detail: `${binaries!.version} in ${binaries!.dir} (found by ${binaries!.source})`,
    });
  });

  it("says the store is SQLite when tidegate.yaml sets no store.url", async () => {
    writeConfig([]);
    expect(await probeStore({}, dir)).toMatchObject({ ok: true, detail: expect.stringContaining("SQLite") });
  });

  it.skipIf(!binaries)(
    `connects to a configured store, and says why not without the password${SKIPPED}`,
    async () => {
      writeConfig(["store:", `  url: ${server!.url}`, "  password: { env: STORE_PASSWORD }"]);
      expect(await probeStore({ STORE_PASSWORD: server!.password }, dir)).toMatchObject({
        ok: true,
        required: true,
        detail: expect.stringMatching(/^PostgreSQL \d+.* on 127\.0\.0\.1:\d+\/tidegate answers$/),
      });
      const wrong = await probeStore({ STORE_PASSWORD: "not-the-password-42" }, dir);
      expect(wrong).toMatchObject({ ok: false, required: true, detail: expect.stringContaining("password") });
      expect(JSON.stringify(wrong)).not.toContain("not-the-password-42");
      expect(await probeStore({}, dir)).toMatchObject({
        ok: false,
        detail: expect.stringContaining("STORE_PASSWORD is not set"),
      });
    },
  );
});
