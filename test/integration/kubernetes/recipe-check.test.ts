import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { parse, stringify } from "yaml";
import type { Engine } from "../../../src/app/engine";
import { composeEngine, loadEngineConfig } from "../../../src/compose";
import { repoRoot } from "../../../src/config/repo";
import type { ControlPlane } from "../../../src/devenv/kubernetes/control-plane";
import { createLogger } from "../../../src/log";
import { KnownSecrets } from "../../../src/log/redact";
import { DEPENDENCY_CACHE } from "../../helpers/engine";
import { writeTidegateConfig } from "../../helpers/example";
import { createGitRemote, type GitRemoteFixture } from "../../helpers/git";
import { KubeApi, startLocalCluster, stopClusterTest } from "../../helpers/kubernetes";

// The recipe is a stack like any other: an environment of a real repository points at
// deploy/kubernetes, and tidegate's own check previews it against the local control plane (its
// dependencies installed by the engine from the committed lockfile, as for any project).

const PROJECT = "deploy/kubernetes";
const NAMESPACE = "tidegate-checked";

describe("tidegate checks deploy/kubernetes like any other stack", () => {
  let plane: ControlPlane | undefined;
  let remote: GitRemoteFixture | undefined;
  let engine: Engine | undefined;

  beforeAll(async () => {
    const cluster = await startLocalCluster();
    plane = cluster.plane;
    remote = await createGitRemote();

    const source = path.join(repoRoot(__dirname), PROJECT);
    const stack = `recipe${randomBytes(3).toString("hex")}`;
    const files: Record<string, string> = { ".gitignore": "node_modules/\n" };
    for (const file of fs.readdirSync(source)) {
      if (fs.statSync(path.join(source, file)).isFile())
        files[`${PROJECT}/${file}`] = fs.readFileSync(path.join(source, file), "utf8");
    }
    files[`${PROJECT}/Pulumi.${stack}.yaml`] = stringify({
      config: {
        "tidegate-deploy:image": "registry.example/tidegate:0.1.0",
        "tidegate-deploy:namespace": NAMESPACE,
        "tidegate-deploy:skipAwait": true,
        "tidegate-deploy:tidegateConfig": {
          repository: { url: "https://git.example/infra.git" },
          backend: { url: "s3://tidegate-state" },
          store: { url: "postgres://tidegate@db:5432/tidegate" },
          server: { listen: "0.0.0.0:7420" },
        },
      },
    });
    files["environments/cluster.yaml"] = stringify({
      name: "cluster",
      branch: "cluster",
      stack,
      project: PROJECT,
      order: 1,
      sync: { policy: "gated" },
      drift: { policy: "report" },
    });
    await remote.commitFiles(files, "tidegate's own deployment as an environment");
    await remote.push("main");
    await remote.switchBranch("cluster", "main");
    await remote.push("cluster");

    const passphrase = randomBytes(16).toString("hex");
    const configPath = writeTidegateConfig(remote.root, remote.url, passphrase);
    // The local provider and the kubeconfig live outside what a sandbox would let the program see.
    const config = parse(fs.readFileSync(configPath, "utf8")) as Record<string, unknown>;
    fs.writeFileSync(configPath, stringify({ ...config, sandbox: "off" }));

    const knownSecrets = new KnownSecrets([passphrase]);
    engine = await composeEngine({
      config: await loadEngineConfig(configPath),
      toolchain: inject("toolchain"),
      log: createLogger({
        mode: "json",
        level: "info",
        stream: new PassThrough().resume(),
        secrets: () => knownSecrets,
      }),
      passphrase,
      knownSecrets,
      stackEnv: {
        PATH: `${cluster.binDir}${path.delimiter}${process.env.PATH ?? ""}`,
        KUBECONFIG: plane.kubeconfigPath,
      },
      dependencyCacheDir: DEPENDENCY_CACHE,
      versions: { tidegate: "test", pulumi: "test", node: process.version },
    });
  }, 3_600_000);

  afterAll(async () => {
    await stopClusterTest({ engine, remote, plane });
  }, 600_000);

  it("previews the six objects as pending creates and applies nothing", async () => {
    const report = await engine!.check("cluster", { kind: "check", trigger: "test", allowSync: false });
    // Gated: the plan waits for an approval, as any gated environment's would.
    expect(report.status, report.reason).toBe("AwaitingApproval");
    const created = (report.pending?.resources ?? []).map((r) => `${r.action} ${r.type}`).sort();
    expect(created).toEqual(
      [
        "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:ConfigMap",
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:Service",
        "kubernetes:core/v1:ServiceAccount",
        "kubernetes:policy/v1:PodDisruptionBudget",
      ].map((type) => `create ${type}`),
    );
    // A preview: the cluster is untouched.
    expect(await new KubeApi(plane!).get(`/api/v1/namespaces/${NAMESPACE}`)).toBeUndefined();
  });
});
