import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteStore, STORE_FILE } from "../../../src/adapters/store/sqlite";
import { recordEnvironmentList } from "../../../src/app/environment-list";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import type { CommandArgs } from "../../../src/cli/command";
import { openForReading } from "../../../src/cli/read-context";
import { command as status } from "../../../src/cli/status";
import { ConfigError } from "../../../src/config/errors";

// What `tidegate status` reads: the store's environment list, with Git only when the store has none.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A tidegate.yaml whose repository does not exist: reading it from Git can only fail. */
function configWithoutGit(): { dir: string; configPath: string; storeFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-read-"));
  dirs.push(dir);
  const configPath = path.join(dir, "tidegate.yaml");
  fs.writeFileSync(configPath, `repository:\n  url: ${path.join(dir, "missing.git")}\ndataDir: data\n`);
  return { dir, configPath, storeFile: path.join(dir, "data", STORE_FILE) };
}

const args = (configPath: string, json = false): CommandArgs => ({
  values: { config: configPath, ...(json ? { json: true } : {}) },
  positionals: [],
});

async function runStatus(configPath: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const context = {
    repoRoot: process.cwd(),
    env: {},
    stdout: (text: string) => void (stdout += text),
    stderr: (text: string) => void (stderr += text),
  };
  const code = await status.run(args(configPath, true), context);
  return { code, stdout, stderr };
}

describe("status's reading", () => {
  it("lists the environments the engine wrote to the store, in that order, without Git", async () => {
    const { configPath, storeFile } = configWithoutGit();
    const store = openSqliteStore(storeFile);
    await store.setEnvironmentList([
      { name: "test", branch: "main", stack: "test" },
      { name: "prod", branch: "release", stack: "production" },
    ]);
    await store.setStatus({
      environment: "prod",
      branch: "old",
      stack: "production",
      status: "Synced",
      pendingCount: 0,
      driftCount: 0,
      updatedAt: "2026-01-01T00:00:00.000Z",
    });
    await store.close();

    const result = await runStatus(configPath);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const { environments } = JSON.parse(result.stdout) as {
      environments: { environment: string; branch: string; status: string }[];
    };
    expect(environments.map((e) => [e.environment, e.branch, e.status])).toEqual([
      ["test", "main", "Unknown"],
      ["prod", "release", "Synced"],
    ]);
  });

  it("falls back to the environment files when the store has no list, and warns when Git cannot be read", async () => {
    const { configPath, storeFile } = configWithoutGit();
    await openSqliteStore(storeFile).close();
    const warnings: string[] = [];
    const read = await openForReading(args(configPath), "status", (message) => warnings.push(message));
    await read.close();
    expect(read.environments).toBeUndefined();
    expect(warnings).toEqual([expect.stringContaining("cannot read the environment definitions")]);
  });

  it("still refuses a tidegate.yaml that is invalid, naming the field", async () => {
    const { configPath } = configWithoutGit();
    fs.appendFileSync(configPath, "defaults:\n  syncPolicy: sometimes\n");
    const error = await openForReading(args(configPath), "status", () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain("defaults.syncPolicy");
  });
});

describe("recordEnvironmentList", () => {
  it("writes the name, branch and stack of each environment, in order", async () => {
    const store = openMemoryStore();
    const configured = [
      { name: "b", branch: "main", stack: "b", order: 1 },
      { name: "a", branch: "main", stack: "a", order: 2 },
    ];
    await recordEnvironmentList(store, configured, { warn: () => {} });
    expect(await store.environmentList()).toEqual([
      { name: "b", branch: "main", stack: "b" },
      { name: "a", branch: "main", stack: "a" },
    ]);
  });

  it("only warns when the store cannot take it", async () => {
    const warnings: string[] = [];
    const failing = {
      setEnvironmentList: async () => {
        throw new Error("the store is down");
      },
    };
    await recordEnvironmentList(failing, [{ name: "a", branch: "main", stack: "a" }], {
      warn: (fields, message) => warnings.push(`${message} ${JSON.stringify(fields)}`),
    });
    expect(warnings).toEqual([expect.stringContaining("the store is down")]);
  });
});
