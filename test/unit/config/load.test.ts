import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { ConfigError } from "../../../src/config/errors";
import { loadConfig, loadEnvironmentsFromDir, type ReadEnvironmentFiles } from "../../../src/config/load";

const repoRoot = path.resolve(__dirname, "../../..");

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-config-"));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(relative: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, relative)), { recursive: true });
  fs.writeFileSync(path.join(dir, relative), text);
}

/** Reads environment files from the temporary folder, recording what it was asked for. */
function folderReader(calls: Array<[string, string]> = []): ReadEnvironmentFiles {
  return (envDir, ref) => {
    calls.push([envDir, ref]);
    return loadEnvironmentsFromDir(path.join(dir, envDir), envDir);
  };
}

function listing(root: string): string[] {
  return fs.readdirSync(root, { recursive: true, encoding: "utf8" }).sort();
}

async function loadError(promise: Promise<unknown>): Promise<ConfigError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return error as ConfigError;
}

describe("loadConfig", () => {
  it("reads tidegate.yaml, then the environments from the folder and ref it names; writes nothing", async () => {
    write(
      "tidegate.yaml",
      ["repository:", "  url: .", "environmentsDir: deploy", "configRef: release/config", ""].join("\n"),
    );
    write("deploy/test.yaml", "name: test\norder: 1\nsync:\n  policy: auto\n");
    write("deploy/prod.yaml", "name: prod\norder: 2\n");
    const before = listing(dir);
    const calls: Array<[string, string]> = [];

    const config = await loadConfig({
      configPath: path.join(dir, "tidegate.yaml"),
      readEnvironmentFiles: folderReader(calls),
    });

    expect(calls).toEqual([["deploy", "release/config"]]);
    expect(config.configFile).toBe(path.join(dir, "tidegate.yaml"));
    expect(config.repository.url).toBe(dir);
    expect(config.dataDir).toBe(path.join(dir, ".tidegate"));
    expect(config.backendUrl).toBe(`file://${path.join(dir, ".tidegate", "state")}`);
    expect(config.environments.map((env) => [env.name, env.file, env.sync.policy])).toEqual([
      ["test", "deploy/test.yaml", "auto"],
      ["prod", "deploy/prod.yaml", "gated"],
    ]);
    expect(listing(dir)).toEqual(before);
  });

  it("uses the embedded default without a config path", async () => {
    write("environments/test.yaml", "name: test\norder: 1\n");
    const calls: Array<[string, string]> = [];
    const config = await loadConfig({ defaultDir: dir, readEnvironmentFiles: folderReader(calls) });
    expect(calls).toEqual([["environments", "main"]]);
    expect(config.configFile).toBeUndefined();
    expect(config.repository.url).toBe(dir);
    expect(config.secrets).toEqual({ kind: "env", name: "PULUMI_CONFIG_PASSPHRASE" });
  });

  it("reports problems in several files at once", async () => {
    write("tidegate.yaml", "repository:\n  url: .\ndefaults:\n  syncPolicy: sometimes\n");
    write("environments/test.yaml", "name: test\norder: 1\nschedule:\n  drift: hourly\n");
    write("environments/prod.yaml", "name: prod\norder: 1\nbranch: prod branch\n");
    const error = await loadError(
      loadConfig({ configPath: path.join(dir, "tidegate.yaml"), readEnvironmentFiles: folderReader() }),
    );
    expect(error.issues.map((issue) => [path.basename(issue.file), issue.path, issue.line])).toEqual([
      ["tidegate.yaml", "defaults.syncPolicy", 4],
      // Files come in name order from the folder: the duplicate order is reported on the second.
      ["prod.yaml", "branch", 3],
      ["test.yaml", "order", 2],
      ["test.yaml", "schedule.drift", 4],
    ]);
  });

  it("says so when there are no environment files", async () => {
    const error = await loadError(loadConfig({ defaultDir: dir, readEnvironmentFiles: folderReader() }));
    expect(error.issues).toMatchObject([{ file: "environments/", message: "holds no environment files" }]);
  });

  it("names a config file that does not exist", async () => {
    const missing = path.join(dir, "nope.yaml");
    const error = await loadError(loadConfig({ configPath: missing, readEnvironmentFiles: folderReader() }));
    expect(error.issues).toMatchObject([{ file: missing, path: "", message: "does not exist" }]);
  });
});

describe("loadEnvironmentsFromDir", () => {
  it("reads the .yaml and .yml files in name order, nothing else", async () => {
    write("envs/stage.yml", "name: stage\n");
    write("envs/prod.yaml", "name: prod\n");
    write("envs/README.md", "# not an environment\n");
    fs.mkdirSync(path.join(dir, "envs", "old.yaml"));
    expect(await loadEnvironmentsFromDir(path.join(dir, "envs"), "envs")).toEqual([
      { file: "envs/prod.yaml", text: "name: prod\n" },
      { file: "envs/stage.yml", text: "name: stage\n" },
    ]);
  });

  it("gives no files for a folder that does not exist", async () => {
    expect(await loadEnvironmentsFromDir(path.join(dir, "missing"))).toEqual([]);
  });
});

describe("the checked-in examples", () => {
  const readRepo: ReadEnvironmentFiles = (envDir) =>
    loadEnvironmentsFromDir(path.join(repoRoot, envDir), envDir);

  it("tidegate.example.yaml and environments/ load as documented", async () => {
    const config = await loadConfig({
      configPath: path.join(repoRoot, "tidegate.example.yaml"),
      readEnvironmentFiles: readRepo,
    });
    expect(
      config.environments.map((env) => [env.name, env.order, env.sync.policy, env.drift.policy]),
    ).toEqual([
      ["test", 1, "auto", "remediate"],
      ["stage", 2, "auto", "report"],
      ["prod", 3, "auto", "report"],
    ]);
    const [test, stage, prod] = config.environments;
    expect(test.gates).toEqual({ windows: [], checks: [], policyPacks: [] });
    expect(stage.gates).toMatchObject({ promotion: { from: "test" }, checks: [{ name: "typecheck" }] });
    expect(prod.gates).toMatchObject({
      promotion: { from: "stage" },
      approval: { required: 1, approvers: [], allowSelfApproval: false },
      windows: [{ kind: "deny", schedule: "0 0 24 12 *" }],
      protect: { operations: ["delete", "replace"] },
    });
    for (const env of config.environments) {
      expect(env.schedule).toEqual({ poll: "*/1 * * * *", drift: "*/15 * * * *" });
      expect(fs.readFileSync(path.join(repoRoot, env.file), "utf8").split("\n")[0]).toBe(
        "# yaml-language-server: $schema=../schema/environment.schema.json",
      );
    }
  });

  it("the example's values are the defaults", async () => {
    const example = await loadConfig({
      configPath: path.join(repoRoot, "tidegate.example.yaml"),
      readEnvironmentFiles: readRepo,
    });
    const embedded = await loadConfig({ defaultDir: repoRoot, readEnvironmentFiles: readRepo });
    expect({ ...example, configFile: undefined }).toEqual({ ...embedded, configFile: undefined });
  });
});
