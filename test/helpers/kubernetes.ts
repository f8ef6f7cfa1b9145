import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { repoRoot } from "../../src/config/repo";
import {
  binariesIn,
  provisionKubernetes,
  type KubernetesBinaries,
} from "../../src/devenv/kubernetes/binaries";
import { kubeRequest } from "../../src/devenv/kubernetes/client";
import { startControlPlane, type ControlPlane } from "../../src/devenv/kubernetes/control-plane";
import type { Engine } from "../../src/app/engine";
import type { GitRemoteFixture } from "./git";
import { openTestStack, type TestStack } from "./stacks";

/**
 * The cached Kubernetes binaries, only looked for (scripts/kubernetes.sh --check, never the long
 * build): absent when not built, with the suffix a skipped suite's title carries. Any other failure
 * of the script throws, failing the file.
 */
export function cachedKubernetesBinaries(): { binaries?: KubernetesBinaries; skipReason: string } {
  const script = path.join(repoRoot(__dirname), "scripts", "kubernetes.sh");
  const check = spawnSync("bash", [script, "--check"], { encoding: "utf8" });
  if (check.status !== 0 && check.status !== 3)
    throw new Error(`scripts/kubernetes.sh --check: ${check.stderr}`);
  return check.status === 0
    ? { binaries: binariesIn(check.stdout.trim()), skipReason: "" }
    : { skipReason: " (skipped: the Kubernetes binaries are not built; run scripts/kubernetes.sh)" };
}

export interface LocalCluster {
  /** kube-apiserver, etcd and pulumi-resource-kubernetes, as built by scripts/kubernetes.sh. */
  binDir: string;
  plane: ControlPlane;
  api: KubeApi;
}

/** The cached Kubernetes binaries (built on first use) and a control plane on them; stop `plane` after. */
export async function startLocalCluster(): Promise<LocalCluster> {
  const binaries = await provisionKubernetes({
    repoRoot: repoRoot(__dirname),
    onProgress: (line) => void process.stderr.write(`${line}\n`),
  });
  const plane = await startControlPlane({ binDir: binaries.binDir });
  return { binDir: binaries.binDir, plane, api: new KubeApi(plane) };
}

/** Closes an engine test's engine and repository, then stops its control plane whatever failed. */
export async function stopClusterTest(parts: {
  engine?: Engine | undefined;
  remote?: GitRemoteFixture | undefined;
  plane?: ControlPlane | undefined;
}): Promise<void> {
  try {
    await parts.engine?.close();
    parts.remote?.cleanup();
  } finally {
    await parts.plane?.stop();
  }
}

export interface KubernetesStackOptions {
  /** Folder with kube-apiserver, etcd and pulumi-resource-kubernetes (`provisionKubernetes`). */
  k8sBinDir: string;
  kubeconfigPath: string;
  config?: Record<string, string>;
}

/**
 * Like `openTestStack`, for a project that talks to a Kubernetes cluster: a copy of the project on
 * a temporary `file://` backend, with the cluster's kubeconfig in KUBECONFIG and the locally built
 * provider on PATH (the engine then uses it as an ambient plugin and downloads nothing).
 */
export function openKubernetesStack(project: string, options: KubernetesStackOptions): Promise<TestStack> {
  // `enginePath` puts the Pulumi toolchain and Node in front of this PATH.
  return openTestStack(project, options.config ?? {}, {
    PATH: `${options.k8sBinDir}${path.delimiter}${process.env.PATH ?? ""}`,
    KUBECONFIG: options.kubeconfigPath,
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KubeObject = Record<string, any>;

/** A thin admin client over `kubeRequest` for checking and changing objects behind Pulumi's back. */
export class KubeApi {
  constructor(private readonly plane: ControlPlane) {}

  /** The object at `apiPath`, or undefined when the server answers 404. */
  async get(apiPath: string): Promise<KubeObject | undefined> {
    const response = await kubeRequest(this.plane.server, this.plane.credentials, { path: apiPath });
    if (response.status === 404) return undefined;
    return this.parse("GET", apiPath, response.status, response.body);
  }

  async require(apiPath: string): Promise<KubeObject> {
    const found = await this.get(apiPath);
    if (found === undefined) throw new Error(`GET ${apiPath}: not found`);
    return found;
  }

  /**
   * Read, change and write back, as `kubectl edit` does (a PUT, so no patch content type is needed);
   * `fieldManager` names the writer (kubectl's own is `kubectl-edit`).
   */
  async edit(
    apiPath: string,
    change: (object: KubeObject) => void,
    fieldManager?: string,
  ): Promise<KubeObject> {
    const object = await this.require(apiPath);
    change(object);
    const query = fieldManager ? `?fieldManager=${encodeURIComponent(fieldManager)}` : "";
    const response = await kubeRequest(this.plane.server, this.plane.credentials, {
      method: "PUT",
      path: `${apiPath}${query}`,
      body: object,
    });
    return this.parse("PUT", apiPath, response.status, response.body);
  }

  async delete(apiPath: string): Promise<void> {
    const response = await kubeRequest(this.plane.server, this.plane.credentials, {
      method: "DELETE",
      path: apiPath,
    });
    this.parse("DELETE", apiPath, response.status, response.body);
  }

  private parse(method: string, apiPath: string, status: number, body: string): KubeObject {
    if (status < 200 || status >= 300) throw new Error(`${method} ${apiPath}: HTTP ${status}: ${body}`);
    return JSON.parse(body) as KubeObject;
  }
}
