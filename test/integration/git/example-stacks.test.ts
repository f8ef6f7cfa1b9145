import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { loadEngineConfig, prepareExample } from "../../../src/compose";
import { repoRoot } from "../../../src/config/repo";
import { exampleKubeconfigFile } from "../../../src/devenv/demo/cluster";

// The embedded default as `tidegate run` seeds it, on real Git: with the cluster binaries found,
// every environment lists the cloud stack and, after it, the cluster stack reading the cloud stack
// through a stack reference; without them, today's one-stack form. Read back through the real config
// loader, which reads the environment files from the seeded repository.

describe("the embedded default's stacks", () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-example-stacks-"));
  });
  afterEach(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** A file of one branch of the seeded repository, as committed. */
  const show = (bare: string, branch: string, file: string): string =>
    execFileSync("git", ["show", `${branch}:${file}`], { cwd: bare, encoding: "utf8" });

  it("with the cluster: cloud then cluster on every environment, the kubeconfig from the file the run writes", async () => {
    const kubeconfigFile = exampleKubeconfigFile(dataDir);
    const example = await prepareExample(repoRoot(__dirname), dataDir, { cluster: { kubeconfigFile } });
    expect(example.repository.cluster).toBe(true);

    const config = await loadEngineConfig(example.configPath);
    // The sandbox stays on: it keeps the local provider build the stacks get on PATH in sight.
    expect(config.sandbox).toBe("auto");
    expect(config.environments.map((env) => env.name)).toEqual(["test", "stage", "prod"]);
    for (const env of config.environments) {
      expect(env.stacks, env.name).toEqual([
        { name: "cloud", project: "stacks/aws-sdk", stack: env.name, dependsOn: [] },
        { name: "cluster", project: "stacks/kubernetes", stack: env.name, dependsOn: ["cloud"] },
      ]);
      expect(env.credentials.kubeconfig).toEqual({ kind: "file", path: kubeconfigFile });
    }

    const bare = example.repository.url.replace(/^file:\/\//, "");
    for (const branch of ["test", "stage", "prod"]) {
      const cluster = parse(show(bare, branch, `stacks/kubernetes/Pulumi.${branch}.yaml`)) as {
        config: Record<string, unknown>;
        encryptionsalt?: string;
      };
      expect(cluster.config["platform-k8s:cloudStack"]).toBe(`organization/platform-sdk/${branch}`);
      expect(cluster.encryptionsalt, branch).toMatch(/^v1:/);
      // The cloud stack's config is seeded as before.
      expect(show(bare, branch, `stacks/aws-sdk/Pulumi.${branch}.yaml`)).toContain("platform-sdk:team");
      expect(show(bare, branch, "stacks/kubernetes/index.ts")).toContain("new pulumi.StackReference");
    }
    // Later runs keep what was seeded, and know it had the cluster stack.
    const again = await prepareExample(repoRoot(__dirname), dataDir);
    expect(again.repository).toMatchObject({ created: false, cluster: true });
  });

  it("without the cluster: the one-stack form of today, the sandbox on its default", async () => {
    const example = await prepareExample(repoRoot(__dirname), dataDir);
    expect(example.repository.cluster).toBe(false);
    const config = await loadEngineConfig(example.configPath);
    expect(config.sandbox).toBe("auto");
    for (const env of config.environments) {
      expect(env.stacks, env.name).toEqual([
        { name: env.name, project: "stacks/aws-sdk", stack: env.name, dependsOn: [] },
      ]);
      expect(env.credentials.kubeconfig).toBeUndefined();
    }
    const bare = example.repository.url.replace(/^file:\/\//, "");
    const files = execFileSync("git", ["ls-tree", "-r", "--name-only", "test"], {
      cwd: bare,
      encoding: "utf8",
    });
    expect(files).toContain("stacks/aws-sdk/index.ts");
    expect(files).not.toContain("stacks/kubernetes");
  });
});
