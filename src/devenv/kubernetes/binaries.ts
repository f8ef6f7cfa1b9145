import * as path from "node:path";
import { runProvisionScript } from "../toolchain/script";

/** The folder scripts/kubernetes.sh prints, and what it holds. */
export interface KubernetesBinaries {
  binDir: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  etcd: string;
  /** On PATH, the Pulumi engine uses it as an ambient plugin instead of downloading one. */
  pulumiProvider: string;
}

export interface KubernetesBinariesOptions {
  repoRoot: string;
  /** Only look; never start a build (exit 3 from the script becomes `missing: true`). */
  checkOnly?: boolean;
  /** Receives the script's progress lines. */
  onProgress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export class KubernetesBinariesError extends Error {
  constructor(
    message: string,
    readonly missing: boolean,
  ) {
    super(message);
    this.name = "KubernetesBinariesError";
  }
}

export function binariesIn(binDir: string): KubernetesBinaries {
  return {
    binDir,
    kubeApiserver: path.join(binDir, "kube-apiserver"),
    kubeControllerManager: path.join(binDir, "kube-controller-manager"),
    etcd: path.join(binDir, "etcd"),
    pulumiProvider: path.join(binDir, "pulumi-resource-kubernetes"),
  };
}

/**
 * Finds, or builds and caches, kube-apiserver, kube-controller-manager, etcd and the Pulumi
 * Kubernetes provider through scripts/kubernetes.sh, the one place that knows how (a cold build
 * takes about 40 minutes on two cores; a warm run is instant).
 */
export async function provisionKubernetes(options: KubernetesBinariesOptions): Promise<KubernetesBinaries> {
  const script = path.join(options.repoRoot, "scripts", "kubernetes.sh");
  const binDir = await runProvisionScript(
    script,
    options,
    (f) => new KubernetesBinariesError(f.message, f.missing),
  );
  return binariesIn(binDir);
}
