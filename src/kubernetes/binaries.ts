import { spawn } from "node:child_process";
import * as path from "node:path";

/** The folder scripts/kubernetes.sh prints: kube-apiserver, etcd and pulumi-resource-kubernetes. */
export interface KubernetesBinaries {
  binDir: string;
  kubeApiserver: string;
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
    etcd: path.join(binDir, "etcd"),
    pulumiProvider: path.join(binDir, "pulumi-resource-kubernetes"),
  };
}

/**
 * Finds, or builds and caches, kube-apiserver, etcd and the Pulumi Kubernetes provider through
 * scripts/kubernetes.sh, the one place that knows how (a cold build takes a quarter of an hour or
 * more; a warm run is instant).
 */
export function provisionKubernetes(options: KubernetesBinariesOptions): Promise<KubernetesBinaries> {
  const script = path.join(options.repoRoot, "scripts", "kubernetes.sh");
  const args = options.checkOnly ? [script, "--check"] : [script];
  return new Promise((resolve, reject) => {
    const child = spawn("bash", args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    const stderr: string[] = [];
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    let partial = "";
    child.stderr.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        stderr.push(line);
        options.onProgress?.(line);
      }
    });
    child.on("error", (err) =>
      reject(new KubernetesBinariesError(`cannot run ${script}: ${err.message}`, false)),
    );
    child.on("close", (code) => {
      if (partial) stderr.push(partial);
      const binDir = stdout.trim().split("\n").pop() ?? "";
      if (code === 0 && binDir) {
        resolve(binariesIn(binDir));
        return;
      }
      const detail = stderr.filter((l) => l.includes("error") || l.includes("not built")).join("\n");
      reject(
        new KubernetesBinariesError(
          detail || `${script} exited with code ${String(code)}:\n${stderr.slice(-20).join("\n")}`,
          code === 3,
        ),
      );
    });
  });
}
