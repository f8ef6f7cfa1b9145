import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as https from "node:https";
import * as path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

import { isPortOpen } from "../../../src/devenv/emulator/ports";
import {
  providerSdkVersion,
  provisionKubernetes,
  type KubernetesBinaries,
} from "../../../src/devenv/kubernetes/binaries";
import { kubeRequest } from "../../../src/devenv/kubernetes/client";
import { startControlPlane, type ControlPlane } from "../../../src/devenv/kubernetes/control-plane";
import { repoRoot } from "../../../src/config/repo";

// A real etcd, kube-apiserver and kube-controller-manager, built from Go modules by
// scripts/kubernetes.sh (cached after the first build, which takes about 40 minutes on two cores).

const root = repoRoot(__dirname);
const pinnedKubernetes = /^\s*k8s\.io\/kubernetes (v\S+)/m.exec(
  readFileSync(path.join(root, "toolchain/kubernetes/apiserver/go.mod"), "utf8"),
)?.[1];

/** Polls until GET `apiPath` answers 404, i.e. the object is really gone. */
async function waitUntilGone(plane: ControlPlane, apiPath: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await kubeRequest(plane.server, plane.credentials, { path: apiPath });
    if (response.status === 404) return;
    if (Date.now() > deadline)
      throw new Error(`${apiPath} still exists after ${timeoutMs} ms: ${response.body}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A request without a client certificate: the server must not let it through. */
function anonymousStatus(plane: ControlPlane, apiPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      new URL(apiPath, plane.server),
      { ca: plane.credentials.ca, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.once("error", reject);
  });
}

describe("local Kubernetes control plane", () => {
  let binaries: KubernetesBinaries;
  let plane: ControlPlane | undefined;
  const output: string[] = [];

  beforeAll(async () => {
    binaries = await provisionKubernetes({
      repoRoot: root,
      onProgress: (line) => void process.stderr.write(`${line}\n`),
    });
    plane = await startControlPlane({ binDir: binaries.binDir, log: (line) => void output.push(line) });
  }, 3_600_000);

  afterAll(async () => {
    await plane?.stop();
  });

  it("serves the pinned Kubernetes release over TLS with the admin's client certificate", async () => {
    const cp = plane!;
    expect(cp.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const version = await kubeRequest(cp.server, cp.credentials, { path: "/version" });
    expect(version.status).toBe(200);
    expect((JSON.parse(version.body) as { gitVersion: string }).gitVersion).toBe(pinnedKubernetes);

    const kubeconfig = parse(readFileSync(cp.kubeconfigPath, "utf8")) as {
      "current-context": string;
      clusters: { cluster: { server: string } }[];
    };
    expect(kubeconfig.clusters[0]?.cluster.server).toBe(cp.server);

    // RBAC is on: a client without a certificate is anonymous and may not list namespaces.
    expect([401, 403]).toContain(await anonymousStatus(cp, "/api/v1/namespaces"));
  });

  const namespace = `tidegate-it-${randomBytes(3).toString("hex")}`;

  it("creates a namespace and a ConfigMap and reads them back", async () => {
    const cp = plane!;
    const created = await kubeRequest(cp.server, cp.credentials, {
      method: "POST",
      path: "/api/v1/namespaces",
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    });
    expect(created.status, created.body).toBe(201);

    const configMap = await kubeRequest(cp.server, cp.credentials, {
      method: "POST",
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      body: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "settings", labels: { app: "tidegate" } },
        data: { greeting: "hello", replicas: "3" },
      },
    });
    expect(configMap.status, configMap.body).toBe(201);

    const read = await kubeRequest(cp.server, cp.credentials, {
      path: `/api/v1/namespaces/${namespace}/configmaps/settings`,
    });
    expect(read.status, read.body).toBe(200);
    expect(JSON.parse(read.body)).toMatchObject({
      metadata: { name: "settings", namespace, labels: { app: "tidegate" } },
      data: { greeting: "hello", replicas: "3" },
    });

    const listed = await kubeRequest(cp.server, cp.credentials, { path: "/api/v1/namespaces" });
    const names = (JSON.parse(listed.body) as { items: { metadata: { name: string } }[] }).items.map(
      (item) => item.metadata.name,
    );
    expect(names).toContain(namespace);
  });

  it("completes foreground deletes and namespace deletion, as Pulumi's deletes need", async () => {
    const cp = plane!;
    // Pulumi deletes with propagationPolicy Foreground: the object keeps a foregroundDeletion
    // finalizer until the garbage collector (kube-controller-manager) removes it.
    const configMapPath = `/api/v1/namespaces/${namespace}/configmaps/settings`;
    const deleted = await kubeRequest(cp.server, cp.credentials, {
      method: "DELETE",
      path: configMapPath,
      body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" },
    });
    expect(deleted.status, deleted.body).toBe(200);
    await waitUntilGone(cp, configMapPath);

    // A namespace is gone only once the namespace controller emptied it and dropped its finalizer.
    const namespacePath = `/api/v1/namespaces/${namespace}`;
    const deleting = await kubeRequest(cp.server, cp.credentials, { method: "DELETE", path: namespacePath });
    expect(deleting.status, deleting.body).toBe(200);
    await waitUntilGone(cp, namespacePath);
  });

  it("has a Pulumi Kubernetes provider plugin that starts and announces its gRPC port", async () => {
    // A provider plugin prints the port it serves on as its first line, then waits for the engine.
    const child = spawn(binaries.pulumiProvider, [], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        let stdout = "";
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes("\n")) resolve(stdout.split("\n")[0] ?? "");
        });
        child.once("error", reject);
        child.once("exit", (code) => reject(new Error(`the provider exited (code ${String(code)})`)));
        setTimeout(() => reject(new Error("the provider printed no port within 30 s")), 30_000).unref();
      });
      expect(firstLine.trim()).toMatch(/^\d+$/);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("stop() ends the processes, frees their ports and removes its folder", async () => {
    const cp = plane!;
    const ports = [portOf(cp.server), portOf(cp.etcdServer)];
    for (const port of ports) expect(await isPortOpen("127.0.0.1", port)).toBe(true);

    await cp.stop();
    plane = undefined;

    for (const port of ports) expect(await isPortOpen("127.0.0.1", port)).toBe(false);
    expect(existsSync(path.dirname(cp.kubeconfigPath))).toBe(false);
    // Output was collected from both processes while they ran.
    expect(output.some((line) => line.startsWith("[etcd] "))).toBe(true);
    expect(output.some((line) => line.startsWith("[kube-apiserver] "))).toBe(true);
    expect(output.some((line) => line.startsWith("[kube-controller-manager] "))).toBe(true);
  });
});

describe("a control plane from KUBEBUILDER_ASSETS", () => {
  let plane: ControlPlane | undefined;
  let scratch: string | undefined;

  afterAll(async () => {
    await plane?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("uses kube-apiserver and etcd from an envtest folder and starts without a controller manager", async () => {
    // This machine has no envtest assets: an envtest-shaped folder (kube-apiserver and etcd, no
    // kube-controller-manager) links to the built ones, the provider is "installed" as a Pulumi
    // plugin, and an empty cache hides the build.
    const built = await provisionKubernetes({ repoRoot: root, checkOnly: true });
    scratch = mkdtempSync(path.join(tmpdir(), "tidegate-assets-"));
    const assets = path.join(scratch, "assets");
    const sdk = providerSdkVersion(root);
    const plugin = path.join(scratch, "pulumi-home", "plugins", `resource-kubernetes-v${sdk}`);
    mkdirSync(assets);
    mkdirSync(plugin, { recursive: true });
    symlinkSync(built.kubeApiserver, path.join(assets, "kube-apiserver"));
    symlinkSync(built.etcd, path.join(assets, "etcd"));
    symlinkSync(built.pulumiProvider, path.join(plugin, "pulumi-resource-kubernetes"));
    const progress: string[] = [];
    const found = await provisionKubernetes({
      repoRoot: root,
      checkOnly: true,
      env: {
        ...process.env,
        KUBEBUILDER_ASSETS: assets,
        PULUMI_HOME: path.join(scratch, "pulumi-home"),
        TIDEGATE_CACHE_DIR: path.join(scratch, "cache"),
      },
      onProgress: (line) => void progress.push(line),
    });
    expect(readlinkSync(found.kubeApiserver)).toBe(path.join(assets, "kube-apiserver"));
    expect(existsSync(found.kubeControllerManager)).toBe(false);
    expect(progress.join("\n")).toContain(`from KUBEBUILDER_ASSETS (${path.join(assets, "kube-apiserver")})`);

    const log: string[] = [];
    plane = await startControlPlane({ binDir: found.binDir, log: (line) => void log.push(line) });
    expect(log.join("\n")).toContain("starting without one");
    expect(log.join("\n")).not.toContain("starting kube-controller-manager");
    const version = await kubeRequest(plane.server, plane.credentials, { path: "/version" });
    expect(version.status).toBe(200);
    expect((JSON.parse(version.body) as { gitVersion: string }).gitVersion).toBe(pinnedKubernetes);
  }, 120_000);
});
