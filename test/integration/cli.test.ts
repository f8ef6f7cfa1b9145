import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";

import { runCli } from "../helpers/cli";
import { EXIT_CODES } from "../../src/domain/errors";
import { createGitRemote, type GitRemoteFixture } from "../helpers/git";
import { createEngineFixture } from "../helpers/engine";

// The CLI as a user runs it: a child process, the repository's Node 22 first on PATH, in a folder of
// the test's own, against a real Git repository holding the environment files.

const tidegate = (cwd: string, args: string[], timeout?: number) =>
  runCli(args, { cwd, ...(timeout ? { timeout } : {}) });

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-cli-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function remoteWith(files: Record<string, string>): Promise<GitRemoteFixture> {
  const remote = await createGitRemote();
  cleanups.push(() => remote.cleanup());
  await remote.commitFiles(files, "Environments");
  await remote.push("main");
  return remote;
}

function environment(name: string, order: number): string {
  return stringify({ name, branch: name, stack: name, project: "stacks/aws-sdk", order });
}

describe("tidegate CLI", () => {
  it("prints every configuration error of every file, exits with the code of kind invalid, and writes nothing", async () => {
    const remote = await remoteWith({
      "environments/test.yaml": [
        "name: test",
        "order: first",
        "schedule:",
        '  poll: "every 5 min"',
        "sync:",
        "  policy: whenever",
        "",
      ].join("\n"),
      "environments/stage.yaml": environment("stage", 2),
    });
    const dir = tempDir();
    const configPath = path.join(dir, "tidegate.yaml");
    fs.writeFileSync(
      configPath,
      [
        `repository:`,
        `  url: ${JSON.stringify(remote.url)}`,
        `defaults:`,
        `  syncPolicy: sometimes`,
        `  schedule:`,
        `    drift: "* *"`,
        `secrets:`,
        `  passphrase: hunter2-never-printed`,
        "",
      ].join("\n"),
    );

    const result = await tidegate(dir, ["check", "test", "--config", configPath]);
    const output = `${result.stdout}\n${result.stderr}`; // shown when an assertion fails

    expect(result.code, output).toBe(EXIT_CODES.invalid);
    expect(result.stdout, output).toBe("");
    const lines = result.stderr.split("\n");
    const line = (file: string, field: string) =>
      lines.find((l) => l.includes(file) && l.includes(`: ${field}: `));
    for (const field of ["defaults.syncPolicy", "defaults.schedule.drift", "secrets.passphrase"]) {
      expect(line(configPath, field), `${field}\n${output}`).toBeDefined();
    }
    for (const field of ["order", "schedule.poll", "sync.policy"]) {
      expect(line("environments/test.yaml", field), `${field}\n${output}`).toBeDefined();
    }
    expect(result.stderr).toContain("the configuration has 6 problems");
    expect(output).not.toContain("hunter2");

    // Nothing written: neither the data directory (default ./.tidegate beside the file) nor anything else.
    expect(fs.existsSync(path.join(dir, ".tidegate")), output).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(["tidegate.yaml"]);
  });

  it("status --json on a data directory with no runs shows every environment Unknown", async () => {
    const remote = await remoteWith({
      "environments/test.yaml": environment("test", 1),
      "environments/stage.yaml": environment("stage", 2),
      "environments/prod.yaml": environment("prod", 3),
    });
    const dir = tempDir();
    const configPath = path.join(dir, "tidegate.yaml");
    fs.writeFileSync(
      configPath,
      stringify({
        repository: { url: remote.url },
        dataDir: "data",
        secrets: { passphraseEnv: "UNSET_PASSPHRASE" },
      }),
    );

    const json = await tidegate(dir, ["status", "--json", "--config", configPath]);
    const output = `${json.stdout}\n${json.stderr}`;
    expect(json.code, output).toBe(0);
    const { environments } = JSON.parse(json.stdout) as {
      environments: { environment: string; branch: string; status: string }[];
    };
    expect(environments.map((e) => [e.environment, e.branch, e.status])).toEqual([
      ["test", "test", "Unknown"],
      ["stage", "stage", "Unknown"],
      ["prod", "prod", "Unknown"],
    ]);

    const table = await tidegate(dir, ["status", "--config", configPath]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(
      /^ENVIRONMENT +BRANCH +STATUS +HEAD +DEPLOYED +PENDING +DRIFTED +LAST RUN$/m,
    );
    expect(table.stdout).toMatch(/^prod +prod +Unknown +- +- +- +- +never$/m);

    // Reading creates no data directory (and needs no passphrase).
    expect(fs.existsSync(path.join(dir, "data"))).toBe(false);
  });

  it("status lists the environments the engine last loaded from the store alone, with the repository gone", async () => {
    const fixture = await createEngineFixture([
      { name: "test", sync: "auto", drift: "report" },
      { name: "stage", sync: "gated", drift: "report" },
    ]);
    try {
      fs.rmSync(fixture.remote.url, { recursive: true, force: true });
      const cache = tempDir(); // no mirror either: reading Git could only fail
      const result = await runCli(["status", "--json", "--config", fixture.configPath], {
        env: { TIDEGATE_CACHE_DIR: cache },
      });
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const { environments } = JSON.parse(result.stdout) as {
        environments: { environment: string; stack: string; status: string }[];
      };
      expect(environments.map((e) => [e.environment, e.stack, e.status])).toEqual([
        ["test", fixture.stackName("test"), "Unknown"],
        ["stage", fixture.stackName("stage"), "Unknown"],
      ]);
    } finally {
      await fixture.cleanup();
    }
  });

  it("without any configuration, tells the user to run `tidegate run` first or pass --config", async () => {
    const dir = tempDir();
    const result = await tidegate(dir, ["status"]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain("Run `tidegate run` first");
    expect(result.stderr).toContain("--config");
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe("tidegate run with no configuration (the README's main command)", () => {
  it("seeds the example, syncs test then stage through their gates, holds prod at its gates, and says where the reports are", async () => {
    const cwd = tempDir();
    const result = await tidegate(cwd, ["run", "--once"], 600_000);
    expect(result.code, result.stderr).toBe(0);
    // Whether the example got its cluster stack (the Kubernetes binaries were found), or how to build them.
    expect(result.stdout).toMatch(
      /^Cluster stack: (on a local Kubernetes control plane \(.* from |skipped, .*build them with: bash scripts\/kubernetes\.sh)/m,
    );
    const lines = result.stdout.split("\n");
    expect(lines.find((l) => l.startsWith("test "))).toMatch(/\bSynced\b/);
    if (/^Cluster stack: on a local Kubernetes control plane/m.test(result.stdout)) {
      // Both sides: under each environment, its cloud stack and the cluster stack after it.
      for (const env of ["test", "stage", "prod"]) {
        const at = lines.findIndex((l) => l.startsWith(`${env} `));
        const below = lines.slice(at + 1, at + 5).join("\n");
        expect(below, env).toMatch(/^\s+stack cloud\s+\S+/m);
        expect(below, env).toMatch(/^\s+stack cluster\s+\S+/m);
      }
      const test = fs.readFileSync(path.join(cwd, ".tidegate", "reports", "test", "latest.md"), "utf8");
      expect(test).toMatch(/\| cluster \| stacks\/kubernetes/);
    }
    // stage: the same program succeeded in test, and its typecheck passed.
    expect(lines.find((l) => l.startsWith("stage "))).toMatch(/\bSynced\b/);
    // prod: promoted from stage only after a soak time, and it needs an approval.
    expect(lines.find((l) => l.startsWith("prod "))).toMatch(/\bBlocked\b/);
    const dataDir = path.join(cwd, ".tidegate");
    const stage = fs.readFileSync(path.join(dataDir, "reports", "stage", "latest.md"), "utf8");
    expect(stage).toMatch(/typecheck/);
    const prod = fs.readFileSync(path.join(dataDir, "reports", "prod", "latest.md"), "utf8");
    expect(prod).toMatch(/soak/i);
    expect(prod).toMatch(/approval/i);
    expect(result.stdout).toContain(path.join(dataDir, "reports", "test", "latest.md"));
    expect(result.stdout).toContain("tidegate run --config");
    const report = fs.readFileSync(path.join(dataDir, "reports", "test", "latest.md"), "utf8");
    expect(report).toMatch(/Synced/);
    expect(fs.existsSync(path.join(dataDir, "tidegate.yaml"))).toBe(true);
  });
});
