import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { runCli } from "../helpers/cli";
import { EXIT_CODES } from "../../src/domain/errors";
import { openSqliteStore, STORE_FILE } from "../../src/adapters/store/sqlite";
import { secretHash, TokenService } from "../../src/app/tokens";
import { openAuditLog } from "../../src/compose";

// `tidegate token` as a user runs it: a child process on a real data directory (SQLite store and
// audit log), then the secret it printed checked through the same store.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("tidegate token", () => {
  it("creates (secret printed once), lists and revokes a token on a real data directory", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-token-cli-"));
    dirs.push(dir);
    // tidegate.yaml names the data directory: the token commands need nothing else of it.
    fs.writeFileSync(path.join(dir, "tidegate.yaml"), "repository:\n  url: .\ndataDir: ./data\n");
    const tidegate = (...args: string[]) =>
      runCli(["token", ...args], { cwd: dir, env: { TIDEGATE_ACTOR: "lead@example.com" } });

    const created = await tidegate(
      "create",
      "--name",
      "ci-bot",
      "--owner",
      "ada@example.com",
      "--scope",
      "read",
      "--scope",
      "approve:prod",
      "--expires",
      "30d",
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    const lines = created.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      /^Created token ci-bot for ada@example\.com \(read, approve:prod\), expires 20\d\d-/,
    );
    expect(lines[2]).toBe("Copy the secret now: it will not be shown again.");
    const secret = lines[1] as string;
    expect(secret).toMatch(/^tg_[A-Za-z0-9_-]{43}$/);

    const listed = await tidegate("list");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^NAME +OWNER +SCOPES +CREATED +EXPIRES +LAST USED +STATE\n/);
    expect(listed.stdout).toMatch(
      /\nci-bot +ada@example\.com +read,approve:prod +\S+ +\S+ +never +active\n$/,
    );
    const json = await tidegate("list", "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({
      tokens: [{ name: "ci-bot", owner: "ada@example.com", createdBy: "lead@example.com", state: "active" }],
    });

    // The printed secret is the one the store knows, by its hash only.
    const dataDir = path.join(dir, "data");
    const store = openSqliteStore(path.join(dataDir, STORE_FILE));
    try {
      const tokens = new TokenService({ store, audit: openAuditLog(dataDir) });
      expect(await tokens.authenticate(secret)).toMatchObject({ name: "ci-bot", owner: "ada@example.com" });

      const revoked = await tidegate("revoke", "ci-bot");
      expect(revoked).toMatchObject({ code: 0, stderr: "" });
      expect(revoked.stdout).toMatch(/^Token ci-bot is revoked/);
      expect(await tokens.authenticate(secret)).toBeUndefined();
      expect(await store.tokenByHash(secretHash(secret))).toMatchObject({ revokedBy: "lead@example.com" });
    } finally {
      await store.close();
    }
    expect((await tidegate("list")).stdout).toMatch(/\nci-bot .* revoked \S+ by lead@example\.com\n$/);

    // The secret reached stdout once, and no other sink: not the list, the audit log or the store file.
    const audit = await runCli(["audit", "--action", "token", "--json", "--data-dir", dataDir]);
    expect(JSON.parse(audit.stdout).entries.map((e: { verdict: string }) => e.verdict)).toEqual([
      "created",
      "revoked",
    ]);
    const sinks = [
      (await tidegate("list", "--json")).stdout,
      audit.stdout,
      ...fs.readdirSync(dataDir).map((file) => fs.readFileSync(path.join(dataDir, file)).toString("latin1")),
    ];
    for (const sink of sinks) expect(sink).not.toContain(secret.slice(3));
  });

  it("refuses a bad command line with the problem named, creating nothing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-token-cli-"));
    dirs.push(dir);
    const bad = await runCli(["token", "create", "--name", "x", "--scope", "approve:*", "--data-dir", dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid scope 'approve:*'");
    expect(fs.readdirSync(dir)).toEqual([]);
    const gone = await runCli(["token", "revoke", "nobody", "--data-dir", dir]);
    expect(gone.code).toBe(EXIT_CODES["not-found"]);
    expect(gone.stderr).toContain("no token named 'nobody'");
  });
});
