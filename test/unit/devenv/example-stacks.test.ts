import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";

import { parseEnvironmentFile } from "../../../src/config/parse";
import { repoRoot } from "../../../src/config/repo";
import {
  checkEnvironmentSet,
  environmentIdentity,
  resolveEnvironment,
  resolveSettings,
} from "../../../src/config/resolve";
import { decideExampleStacks, type ClusterBinaries } from "../../../src/devenv/demo/cluster";
import { clusterEnvironmentFile, clusterStackConfig } from "../../../src/devenv/demo/stacks";

// The embedded default's two stacks: when it seeds the cluster stack, and the environment files and
// stack configs it writes, read by the real config parser and resolver.

const root = repoRoot(__dirname);
const EXAMPLE_DIR = "/data/example";
const KUBECONFIG = "/data/cluster/kubeconfig";
const found: ClusterBinaries = {
  found: true,
  binDir: "/cache/bin",
  from: "kube-apiserver 1.37.2, etcd 3.7.3 from the built cache (/cache/bin)",
};
const missing: ClusterBinaries = { found: false, reason: "not built" };

describe("decideExampleStacks", () => {
  it("seeds and runs the cluster stack when the binaries are found, saying where from", () => {
    expect(decideExampleStacks(found, undefined, EXAMPLE_DIR)).toEqual({
      seedCluster: true,
      startCluster: true,
      line: `Cluster stack: on a local Kubernetes control plane (${found.from}).`,
    });
    // Seeded with it before: started again, not seeded again.
    expect(decideExampleStacks(found, { cluster: true }, EXAMPLE_DIR)).toMatchObject({
      seedCluster: false,
      startCluster: true,
    });
  });

  it("without the binaries seeds the cloud stack alone and gives the command that builds them", () => {
    const decision = decideExampleStacks(missing, undefined, EXAMPLE_DIR);
    expect(decision).toMatchObject({ seedCluster: false, startCluster: false });
    expect(decision.line).toBe(
      "Cluster stack: skipped, the Kubernetes binaries are not built; the cloud stack runs alone. To add it, build them with: bash scripts/kubernetes.sh, then remove /data/example.",
    );
    expect(decision.line).not.toContain("\n");
  });

  it("an example seeded with the cluster stack but no binaries now: starts nothing and says how to build them", () => {
    expect(decideExampleStacks(missing, { cluster: true }, EXAMPLE_DIR)).toEqual({
      seedCluster: false,
      startCluster: false,
      line: "Cluster stack: cannot run, the Kubernetes binaries are not built; build them with: bash scripts/kubernetes.sh.",
    });
  });

  it("an example seeded without the cluster stack stays so, and says how to seed it again", () => {
    const withBinaries = decideExampleStacks(found, { cluster: false }, EXAMPLE_DIR);
    expect(withBinaries).toMatchObject({ seedCluster: false, startCluster: false });
    expect(withBinaries.line).toBe(
      "Cluster stack: not in this example (seeded without it); remove /data/example to seed it again with the cluster stack.",
    );
    expect(decideExampleStacks(missing, { cluster: false }, EXAMPLE_DIR).line).toContain(
      "build them with: bash scripts/kubernetes.sh",
    );
  });
});

describe("the example's environment files with the cluster stack", () => {
  const defaults = resolveSettings({ repository: { url: "." } }, "/repo").defaults;
  const names = ["test", "stage", "prod"];
  const rewritten = names.map((name) => {
    const file = `environments/${name}.yaml`;
    const text = fs.readFileSync(path.join(root, file), "utf8");
    return { name, file, text: clusterEnvironmentFile(file, text, { kubeconfigFile: KUBECONFIG }) };
  });

  it.each(rewritten)(
    "$file is valid and resolves to cloud, then cluster reading the kubeconfig file",
    (env) => {
      const parsed = parseEnvironmentFile(env.file, env.text);
      expect(parsed.issues).toEqual([]);
      const resolved = resolveEnvironment(env.file, parsed.value!, defaults);
      expect(resolved.stacks).toEqual([
        { name: "cloud", project: "stacks/aws-sdk", stack: env.name, dependsOn: [] },
        { name: "cluster", project: "stacks/kubernetes", stack: env.name, dependsOn: ["cloud"] },
      ]);
      expect(resolved.credentials.kubeconfig).toEqual({ kind: "file", path: KUBECONFIG });
      // Everything else of the file stays: gates, policies, schedules.
      const before = parse(fs.readFileSync(path.join(root, env.file), "utf8")) as Record<string, unknown>;
      const after = parse(env.text) as Record<string, unknown>;
      const { project: _p, stack: _s, gates: _g, ...kept } = before;
      const { gates: _a, ...rest } = after;
      expect(rest).toEqual({
        ...kept,
        stacks: after.stacks,
        credentials: { kubeconfig: { file: KUBECONFIG } },
      });
      // The gates stay but for the typecheck, which runs in the checkout's root with several stacks.
      const checks = (before.gates as { checks?: { run: string }[] } | undefined)?.checks ?? [];
      expect(((after.gates ?? {}) as Record<string, unknown>).checks ?? []).toEqual(
        checks.map((check) =>
          check.run === "npx tsc --noEmit -p ."
            ? {
                ...check,
                run: "(cd stacks/aws-sdk && npx tsc --noEmit -p .) && (cd stacks/kubernetes && npx tsc --noEmit -p .)",
              }
            : check,
        ),
      );
    },
  );

  it("keeps the file's comments, and the three environments deploy distinct Pulumi stacks", () => {
    expect(rewritten[0]!.text).toContain("# promotion order: test (1) → stage (2) → prod (3)");
    const identities = rewritten.map((env) => environmentIdentity(env.file, parse(env.text)));
    expect(checkEnvironmentSet(identities, "environments")).toEqual([]);
  });

  it("refuses a file not in the cloud project's one-stack form, naming it", () => {
    expect(() =>
      clusterEnvironmentFile("environments/x.yaml", "name: x\nproject: stacks/other\n", {
        kubeconfigFile: KUBECONFIG,
      }),
    ).toThrow("environments/x.yaml: project is stacks/other, expected stacks/aws-sdk");
  });
});

describe("clusterStackConfig", () => {
  it("names the cloud stack of the same environment as a file or s3 backend's stack reference", () => {
    const file = "stacks/kubernetes/Pulumi.stage.yaml";
    const text = fs.readFileSync(path.join(root, file), "utf8");
    const out = parse(
      clusterStackConfig(file, text, {
        clusterProject: "platform-k8s",
        cloudProject: "platform-sdk",
        stack: "stage",
      }),
    ) as { config: Record<string, unknown> };
    expect(out.config).toEqual({
      ...(parse(text) as { config: Record<string, unknown> }).config,
      "platform-k8s:cloudStack": "organization/platform-sdk/stage",
    });
  });
});
