import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { Store } from "../../src/adapters/store/port";
import { loadEngineConfig, openStore, storeSpec } from "../../src/compose";
import { runCli } from "../helpers/cli";
import { DEPENDENCY_CACHE, YEARLY } from "../helpers/engine";
import { createGitRemote, type GitRemoteFixture } from "../helpers/git";

// Two Git repositories in one tidegate.yaml, each with its own backend: one `tidegate run --once`
// checks the environments of both; `test` in one and `test` in the other (same project, same stack
// name) are kept apart by their keys, their mirrors, their workspaces and their backends.

const repoRoot = path.resolve(__dirname, "../..");
const PROJECT = "app";
// A program with no resources: each run is a cheap preview or update. Both repositories share the
// Pulumi project's name, so only their own backends keep their `test` stacks apart.
const PROGRAM = `import * as pulumi from "@pulumi/pulumi";\nexport const project = pulumi.getProject();\n`;
const source = (file: string) => fs.readFileSync(path.join(repoRoot, "stacks", "aws-sdk", file), "utf8");

let dir: string;
let configPath: string;
const remotes: Record<string, GitRemoteFixture> = {};
const heads: Record<string, string> = {};
let store: Store | undefined;

/** A repository whose environments are `envs` (in promotion order), `test` syncing on its own. */
async function seed(name: string, envs: string[]): Promise<GitRemoteFixture> {
  const remote = await createGitRemote();
  const files: Record<string, string> = {
    ".gitignore": "node_modules/\n",
    [`${PROJECT}/Pulumi.yaml`]:
      "name: repos-it\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
    [`${PROJECT}/package.json`]: source("package.json"),
    [`${PROJECT}/package-lock.json`]: source("package-lock.json"),
    [`${PROJECT}/tsconfig.json`]: source("tsconfig.json"),
    [`${PROJECT}/index.ts`]: PROGRAM,
    "README.md": `the ${name} repository\n`,
  };
  envs.forEach((env, i) => {
    files[`${PROJECT}/Pulumi.${env}.yaml`] = "config: {}\n";
    files[`environments/${env}.yaml`] = stringify({
      name: env,
      project: PROJECT,
      order: i + 1,
      sync: { policy: env === "test" ? "auto" : "gated" },
      drift: { policy: "report" },
    });
  });
  heads[name] = await remote.commitFiles(files, `Seed ${name}`);
  await remote.push("main");
  for (const env of envs) {
    await remote.switchBranch(env, "main");
    await remote.push(env);
  }
  await remote.switchBranch("main");
  return remote;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-repos-it-"));
  remotes.alpha = await seed("alpha", ["test", "stage"]);
  remotes.beta = await seed("beta", ["test"]);
  fs.writeFileSync(path.join(dir, "passphrase"), "repos-it-passphrase");
  configPath = path.join(dir, "tidegate.yaml");
  fs.writeFileSync(
    configPath,
    stringify({
      repositories: ["alpha", "beta"].map((name) => ({
        name,
        url: remotes[name]?.url,
        backend: { url: `file://./state-${name}` },
      })),
      dataDir: "data",
      secrets: { passphraseFile: "passphrase" },
      defaults: { schedule: { poll: YEARLY, drift: YEARLY } },
    }),
  );
  const resolved = await loadEngineConfig(configPath);
  // The installed dependencies are a cache: the tests' one spares an npm install.
  fs.mkdirSync(path.join(resolved.dataDir, "cache"), { recursive: true });
  fs.mkdirSync(DEPENDENCY_CACHE, { recursive: true });
  fs.symlinkSync(DEPENDENCY_CACHE, path.join(resolved.dataDir, "cache", "deps"));
  for (const name of ["alpha", "beta"]) fs.mkdirSync(path.join(dir, `state-${name}`));
});

afterAll(async () => {
  await store?.close();
  for (const remote of Object.values(remotes)) remote.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("several repositories in one tidegate.yaml", () => {
  it("checks every environment of both with one run, keeping test and test apart", async () => {
    const run = await runCli(["run", "--once", "--config", configPath], { timeout: 600_000 });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);

    const config = await loadEngineConfig(configPath);
    store = openStore(storeSpec(config));
    const states = new Map((await store.statuses()).map((state) => [state.environment, state]));
    expect([...states.keys()].sort()).toEqual(["alpha.stage", "alpha.test", "beta.test"]);
    // Each test is at its own repository's head, its stack on its own backend.
    const dump = JSON.stringify([...states.values()], null, 2);
    expect(states.get("alpha.test"), dump).toMatchObject({ status: "Synced", headCommit: heads.alpha });
    expect(states.get("beta.test"), dump).toMatchObject({ status: "Synced", headCommit: heads.beta });
    expect(states.get("alpha.stage")?.headCommit, dump).toBe(heads.alpha);
    for (const name of ["alpha", "beta"]) {
      const stackFile = path.join(dir, `state-${name}`, ".pulumi", "stacks", "repos-it", "test.json");
      expect(fs.existsSync(stackFile), stackFile).toBe(true);
    }
    expect(fs.existsSync(path.join(dir, "state-beta", ".pulumi", "stacks", "repos-it", "stage.json"))).toBe(
      false,
    );

    // Each run's report names its environment by key (so its repository) and its stack.
    for (const key of ["alpha.test", "alpha.stage", "beta.test"]) {
      const report = await store.latestReport(key);
      expect(report).toMatchObject({ environment: key, stack: key.split(".")[1] });
      const file = path.join(config.dataDir, "reports", key, "latest.md");
      expect(fs.existsSync(file), file).toBe(true);
    }
    // One mirror per repository.
    expect(fs.readdirSync(path.join(config.dataDir, "git", "repositories")).sort()).toEqual([
      "alpha",
      "beta",
    ]);

    const status = await runCli(["status", "--json", "--config", configPath]);
    expect(status.code, status.stderr).toBe(0);
    const listed = (JSON.parse(status.stdout) as { environments: { environment: string; status: string }[] })
      .environments;
    expect(listed.map((row) => [row.environment, row.status]).sort()).toEqual([
      ["alpha.stage", expect.any(String)],
      ["alpha.test", "Synced"],
      ["beta.test", "Synced"],
    ]);
  });
});
