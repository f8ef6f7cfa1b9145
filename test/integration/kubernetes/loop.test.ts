import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { stringify } from "yaml";
import type { Engine } from "../../../src/app/engine";
import { composeEngine, loadEngineConfig } from "../../../src/compose";
import { dataPaths } from "../../../src/config/paths";
import { repoRoot } from "../../../src/config/repo";
import { startControlPlane, type ControlPlane } from "../../../src/devenv/kubernetes/control-plane";
import type { ResourceChange } from "../../../src/domain/changes";
import type { RunReport } from "../../../src/domain/model";
import { createLogger } from "../../../src/log";
import { KnownSecrets } from "../../../src/log/redact";
import { runCli } from "../../helpers/cli";
import { DEPENDENCY_CACHE, reportTexts } from "../../helpers/engine";
import { writeTidegateConfig } from "../../helpers/example";
import { createGitRemote, type GitRemoteFixture } from "../../helpers/git";
import { cachedKubernetesBinaries, KubeApi, stopClusterTest } from "../../helpers/kubernetes";

// The Kubernetes example under tidegate's own check and sync, on a real repository, the real engine,
// a file:// backend and the local control plane. The cluster's kubeconfig reaches the engine only
// through the environment's definition (credentials.kubeconfig, its contents in a variable), and
// every claim is read back through the Kubernetes API.

const PROJECT = "stacks/kubernetes";
const PROGRAM_FILES = ["Pulumi.yaml", "package.json", "package-lock.json", "tsconfig.json", "index.ts"];
const KUBECONFIG_VARIABLE = "TEST_CLUSTER_KUBECONFIG";

// Only looks for the cached binaries: this file never starts the long build.
const { binaries, skipReason: SKIP_REASON } = cachedKubernetesBinaries();

const ofType = (resources: ResourceChange[] | undefined, kind: string) =>
  resources?.find((r) => r.type === `kubernetes:${kind}`);

describe.skipIf(!binaries)(`a Kubernetes environment through tidegate's check and sync${SKIP_REASON}`, () => {
  let plane: ControlPlane | undefined;
  let api: KubeApi;
  let remote: GitRemoteFixture | undefined;
  let engine: Engine | undefined;
  let dataDir: string;
  let stateDir: string;
  let stack: string;
  const logs: string[] = [];
  let paths: { deployment: string; service: string };
  let configFile: string;
  /** Distinctive parts of the kubeconfig: its client key, as written and as the PEM's body. */
  let credentialParts: string[];

  beforeAll(async () => {
    plane = await startControlPlane({ binDir: binaries!.binDir });
    api = new KubeApi(plane);
    const kubeconfig = fs.readFileSync(plane.kubeconfigPath, "utf8");
    const keyData = /client-key-data: (\S+)/.exec(kubeconfig)?.[1];
    const keyBody = plane.credentials.key.split("\n")[1];
    expect(keyData).toBeDefined();
    credentialParts = [keyData!, keyBody!];
    // The contents in a variable of tidegate's own environment, as a secret manager would inject them.
    vi.stubEnv(KUBECONFIG_VARIABLE, kubeconfig);

    remote = await createGitRemote();
    stack = `k${randomBytes(3).toString("hex")}-test`;
    configFile = `${PROJECT}/Pulumi.${stack}.yaml`;
    const source = path.join(repoRoot(__dirname), PROJECT);
    const files: Record<string, string> = { ".gitignore": "node_modules/\n" };
    for (const file of PROGRAM_FILES)
      files[`${PROJECT}/${file}`] = fs.readFileSync(path.join(source, file), "utf8");
    files[configFile] = fs.readFileSync(path.join(source, "Pulumi.test.yaml"), "utf8");
    const environment = (name: string, order: number, kubeconfigSource: Record<string, string>) => ({
      [`environments/${name}.yaml`]: stringify({
        name,
        branch: name,
        stack: name === "test" ? stack : `k-${name}`,
        project: PROJECT,
        order,
        sync: { policy: "auto" },
        drift: { policy: "remediate" },
        credentials: { kubeconfig: kubeconfigSource },
      }),
    });
    Object.assign(
      files,
      environment("test", 1, { env: KUBECONFIG_VARIABLE }),
      environment("unset", 2, { env: "TIDEGATE_TEST_UNSET_KUBECONFIG" }),
      environment("missing", 3, { file: path.join(remote.root, "no-such-kubeconfig") }),
    );
    await remote.commitFiles(files, "The web service on Kubernetes, and its environments");
    await remote.push("main");
    for (const branch of ["test", "unset", "missing"]) {
      await remote.switchBranch(branch, "main");
      await remote.push(branch);
    }
    await remote.switchBranch("main");

    const passphrase = randomBytes(16).toString("hex");
    const configPath = writeTidegateConfig(remote.root, remote.url, passphrase);
    dataDir = path.join(remote.root, "data");
    stateDir = path.join(remote.root, "state");
    // The locally built provider is on PATH only outside the sandbox (it resets PATH).
    fs.appendFileSync(configPath, "sandbox: off\n");
    const stream = new PassThrough();
    stream.on("data", (chunk: Buffer) => logs.push(...chunk.toString().split("\n").filter(Boolean)));
    const knownSecrets = new KnownSecrets([passphrase]);
    engine = await composeEngine({
      config: await loadEngineConfig(configPath),
      toolchain: inject("toolchain"),
      log: createLogger({ mode: "json", level: "debug", stream, secrets: () => knownSecrets }),
      passphrase,
      knownSecrets,
      // Engine-wide: the provider binary. The cluster comes from the environment's definition alone.
      stackEnv: { PATH: `${binaries!.binDir}${path.delimiter}${process.env.PATH ?? ""}` },
      dependencyCacheDir: DEPENDENCY_CACHE,
      versions: { tidegate: "test", pulumi: "test", node: process.version },
    });
    const namespace = `platform-${stack}`;
    paths = {
      deployment: `/apis/apps/v1/namespaces/${namespace}/deployments/web`,
      service: `/api/v1/namespaces/${namespace}/services/web`,
    };
  }, 3_600_000);

  afterAll(async () => {
    vi.unstubAllEnvs();
    await stopClusterTest({ engine, remote, plane });
  }, 600_000);

  const run = (allowSync: boolean, kind: "sync" | "check" | "drift" = "check"): Promise<RunReport> =>
    engine!.check("test", { kind, trigger: "test", allowSync });

  it("deploys the example on its first check, with the kubeconfig from the environment's definition", async () => {
    const first = await run(true, "sync");
    expect(first.status, first.reason).toBe("Synced");
    expect(first.sync?.applied).toBe(true);
    expect((await api.require(paths.deployment)).spec.replicas).toBe(1);
    expect(await api.get(paths.service)).toBeDefined();
  });

  it("a commit raising replicas is OutOfSync on spec.replicas 1 → 3, and auto-sync makes it Synced", async () => {
    await remote!.switchBranch("test");
    await remote!.git("pull", "--quiet", "--ff-only", "origin", "test");
    const config = fs.readFileSync(path.join(remote!.workDir, configFile), "utf8");
    const sha = await remote!.commitFiles(
      { [configFile]: config.replace("platform-k8s:replicas: 1", "platform-k8s:replicas: 3") },
      "Three replicas of web on test",
    );
    await remote!.push("test");
    await remote!.switchBranch("main");

    const seen = await run(false);
    expect(seen.status, seen.reason).toBe("OutOfSync");
    expect(seen.desired?.sha).toBe(sha);
    expect(ofType(seen.pending?.resources, "apps/v1:Deployment")).toMatchObject({
      name: "web",
      action: "update",
      properties: [{ path: "spec.replicas", kind: "update", old: 1, new: 3, replaces: false }],
    });
    expect(seen.drift?.resources).toEqual([]);
    expect((await api.require(paths.deployment)).spec.replicas).toBe(1);

    const synced = await run(true, "sync");
    expect(synced.status, synced.reason).toBe("Synced");
    expect(synced.deployed?.commit).toBe(sha);
    expect((await api.require(paths.deployment)).spec.replicas).toBe(3);
  });

  it("a label added and a Service deleted out of band are Drifted on those objects and fields", async () => {
    // As `kubectl edit` writes it: the label is kubectl-edit's field, which Pulumi's apply leaves.
    await api.edit(
      paths.deployment,
      (d) => {
        d.metadata.labels["hotfix"] = "by-hand";
      },
      "kubectl-edit",
    );
    await api.delete(paths.service);

    const drifted = await run(false, "drift");
    expect(drifted.status, drifted.reason).toBe("Drifted");
    expect(drifted.pending?.resources ?? []).toEqual([]);
    expect(ofType(drifted.drift?.resources, "apps/v1:Deployment")).toMatchObject({
      name: "web",
      action: "drifted",
      properties: [
        {
          path: "metadata.labels.hotfix",
          kind: "add",
          new: "by-hand",
          replaces: false,
          notRestorable: expect.stringContaining('set by field manager "kubectl-edit"') as string,
        },
      ],
    });
    expect(ofType(drifted.drift?.resources, "core/v1:Service")).toMatchObject({
      name: "web",
      action: "missing",
    });
    expect(drifted.drift?.resources).toHaveLength(2);
    // Reported by a check that may not sync: nothing restored yet.
    expect(await api.get(paths.service)).toBeUndefined();
    expect((await api.require(paths.deployment)).metadata.labels).toHaveProperty("hotfix", "by-hand");
  });

  // Remediation is `pulumi up --refresh`, and the provider applies server-side: a field kubectl's
  // field manager owns is not Pulumi's to remove, and an object whose inputs did not change is not
  // applied at all. tidegate first takes the field over for Pulumi's field manager (as Flux's
  // --override-manager does) and removes it, as Pulumi's apply would.
  it("remediation removes the label another field manager added, and recreates the deleted Service", async () => {
    const remediated = await run(true, "drift");
    expect(remediated.sync?.applied, remediated.reason).toBe(true);
    expect(remediated.sync?.summary).toMatchObject({ create: 1 });
    expect((await api.require(paths.service)).spec.ports[0]).toMatchObject({ port: 80, targetPort: "http" });
    const deployment = await api.require(paths.deployment);
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.metadata.labels).not.toHaveProperty("hotfix");
    // kubectl-edit held nothing else, so its entry is gone; Pulumi's own apply owns the object.
    const managers = (deployment.metadata.managedFields as { manager: string }[]).map((e) => e.manager);
    expect(managers).not.toContain("kubectl-edit");
    expect(remediated.status, remediated.reason).toBe("Synced");
    expect(logs.join("\n")).toContain("removed fields kubectl set that the program does not declare");
  });

  it("the next checks are Synced and do not update again", async () => {
    for (const kind of ["drift", "check"] as const) {
      const again = await run(true, kind);
      expect(again.status, again.reason).toBe("Synced");
      expect(again.sync?.applied ?? false).toBe(false);
      expect(again.drift?.resources ?? []).toEqual([]);
    }
    const status = await runCli(["status", "--json", "--config", path.join(remote!.root, "tidegate.yaml")]);
    expect(status.stdout).toContain('"Synced"');
  });

  it("a replica count and a label `kubectl label` changed are both taken back by remediation", async () => {
    await api.edit(
      paths.deployment,
      (d) => {
        d.spec.replicas = 5;
      },
      "kubectl-edit",
    );
    await api.edit(
      paths.deployment,
      (d) => {
        d.metadata.labels["hotfix"] = "again";
      },
      "kubectl-label",
    );
    const remediated = await run(true, "drift");
    expect(ofType(remediated.drift?.resources, "apps/v1:Deployment")?.properties).toMatchObject([
      { path: "metadata.labels.hotfix", notRestorable: expect.stringContaining("kubectl-label") as string },
      { path: "spec.replicas", old: 3, new: 5 },
    ]);
    expect(remediated.sync?.applied, remediated.reason).toBe(true);
    const deployment = await api.require(paths.deployment);
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.metadata.labels).not.toHaveProperty("hotfix");
    expect(remediated.status, remediated.reason).toBe("Synced");
  });

  it("a label `kubectl label` added, and nothing else, is enough for a remediation to remove it", async () => {
    await api.edit(
      paths.deployment,
      (d) => {
        d.metadata.labels["owner"] = "someone";
      },
      "kubectl-label",
    );
    const remediated = await run(true, "drift");
    expect(ofType(remediated.drift?.resources, "apps/v1:Deployment")?.properties).toMatchObject([
      { path: "metadata.labels.owner", fieldManager: "kubectl-label" },
    ]);
    expect(remediated.sync?.applied, remediated.reason).toBe(true);
    expect((await api.require(paths.deployment)).metadata.labels).not.toHaveProperty("owner");
    expect(remediated.status, remediated.reason).toBe("Synced");
  });

  it("a field a manager other than kubectl's set is left to it, read back after remediation, and stays Drifted", async () => {
    await api.edit(
      paths.deployment,
      (d) => {
        d.spec.minReadySeconds = 7;
      },
      "ops-script",
    );
    await api.delete(paths.service);
    const remediated = await run(true, "drift");
    expect(remediated.sync?.applied, remediated.reason).toBe(true);
    expect(await api.get(paths.service)).toBeDefined();
    expect((await api.require(paths.deployment)).spec.minReadySeconds).toBe(7);
    expect(remediated.status).toBe("Drifted");
    expect(remediated.reason).toContain(
      "not restored: spec.minReadySeconds on kubernetes:apps/v1:Deployment web",
    );
    // Left to its manager, and the log says so, naming the object.
    expect(logs.join("\n")).toContain(
      `Deployment platform-${stack}/web: not taken over: spec.minReadySeconds (held by \\"ops-script\\")`,
    );
    // The refresh took the value into the state; the next check still names it, with who set it.
    const again = await run(false, "drift");
    expect(again.status).toBe("Drifted");
    expect(ofType(again.drift?.resources, "apps/v1:Deployment")?.properties).toMatchObject([
      {
        path: "spec.minReadySeconds",
        kind: "add",
        new: 7,
        notRestorable: expect.stringContaining('set by field manager "ops-script"') as string,
      },
    ]);
  });

  it("never lets the kubeconfig reach a report, the store, the audit log, the logs or the CLI's output", async () => {
    const configPath = path.join(remote!.root, "tidegate.yaml");
    const cli: string[] = [];
    for (const args of [
      ["report", "test", "--json"],
      ["status", "--json"],
    ]) {
      const out = await runCli([...args, "--config", configPath]);
      expect(out.code, out.stderr).toBe(0);
      cli.push(out.stdout, out.stderr);
    }
    const paths = dataPaths(dataDir);
    const files = fs
      .readdirSync(dataDir)
      .filter((name) => name.startsWith("tidegate.db") || name.startsWith("audit"))
      .map((name) => fs.readFileSync(path.join(dataDir, name)).toString("latin1"));
    expect(files.some((text) => text.includes("spec.replicas"))).toBe(true);
    expect(fs.existsSync(paths.audit)).toBe(true);
    const reports = reportTexts(dataDir);
    expect(reports.length).toBeGreaterThan(3);
    const sinks = {
      logs: logs.join("\n"),
      reports: reports.join("\n"),
      files: files.join("\n"),
      cli: cli.join("\n"),
    };
    expect(sinks.logs.length).toBeGreaterThan(1000);
    // The program gives the provider the contents as a secret: the state holds them encrypted.
    const state = path.join(stateDir, ".pulumi", "stacks", "platform-k8s", `${stack}.json`);
    expect(fs.existsSync(state)).toBe(true);
    for (const [sink, text] of [...Object.entries(sinks), ["state", fs.readFileSync(state, "utf8")]]) {
      for (const part of credentialParts)
        expect(text.includes(part), `${sink} holds the client key`).toBe(false);
    }
  });

  it("an unset kubeconfig variable or a missing kubeconfig file fails naming the file and the field", async () => {
    const unset = await engine!.check("unset", { kind: "check", trigger: "test", allowSync: false });
    expect(unset.status).toBe("Failed");
    expect(unset.reason).toContain(
      "environments/unset.yaml): credentials.kubeconfig: environment variable TIDEGATE_TEST_UNSET_KUBECONFIG is not set",
    );
    const missing = await engine!.check("missing", { kind: "check", trigger: "test", allowSync: false });
    expect(missing.status).toBe("Failed");
    expect(missing.reason).toMatch(
      /environments\/missing\.yaml\): credentials\.kubeconfig: file \S+no-such-kubeconfig cannot be read \(ENOENT\)/,
    );
  });
});
