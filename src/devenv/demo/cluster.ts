import * as fs from "node:fs";
import * as path from "node:path";

import {
  describeFoundAll,
  KubernetesBinariesError,
  lookupKubernetes,
  provisionKubernetes,
  type KubernetesLookup,
} from "../kubernetes/binaries";
import { startControlPlane } from "../kubernetes/control-plane";
import { exampleSeeded, seededCluster } from "./seed";
import { BUILD_CLUSTER_COMMAND, type ExampleCluster } from "./stacks";

// The embedded default's cluster: when the Kubernetes binaries are on this machine (the envtest
// convention, an installed plugin, the built cache or PATH), `tidegate run` starts the local control
// plane beside the AWS emulator and the example's environments deploy a cluster stack after the
// cloud stack. Without them it says how to get them and runs the cloud stack alone.

/** What scripts/kubernetes.sh found, without building anything. */
export type ClusterBinaries =
  { found: true; binDir: string; from: string } | { found: false; reason: string };

/** Where the example's environments read the cluster's kubeconfig: rewritten at each start. */
export function exampleKubeconfigFile(dataDir: string): string {
  return path.resolve(dataDir, "cluster", "kubeconfig");
}

/** Looks for the binaries (scripts/kubernetes.sh --check and --lookup: never builds, well under a second). */
export async function findClusterBinaries(
  repoRoot: string,
  env?: NodeJS.ProcessEnv,
): Promise<ClusterBinaries> {
  const options = { repoRoot, ...(env ? { env } : {}) };
  try {
    const [binaries, lookup] = await Promise.all([
      provisionKubernetes({ ...options, checkOnly: true }),
      lookupKubernetes(options),
    ]);
    return { found: true, binDir: binaries.binDir, from: describeLookup(lookup) };
  } catch (err) {
    if (err instanceof KubernetesBinariesError && err.missing) return { found: false, reason: "not built" };
    return { found: false, reason: (err as Error).message.split("\n")[0] ?? String(err) };
  }
}

function describeLookup(lookup: KubernetesLookup): string {
  return describeFoundAll([
    ["kube-apiserver", lookup["kube-apiserver"]],
    ["etcd", lookup.etcd],
    ["pulumi-resource-kubernetes", lookup["pulumi-resource-kubernetes"]],
  ]);
}

export interface ExampleStacksDecision {
  /** Seed the environments with the cluster stack (only when seeding now). */
  seedCluster: boolean;
  /** Start the local control plane for this run. */
  startCluster: boolean;
  /** The run's start-up line saying which was found, or the command that builds the binaries. */
  line: string;
}

/**
 * Whether the example gets, and runs, its cluster stack. Seeding happens once, so an example seeded
 * one way stays that way: the line says how to seed it again.
 */
export function decideExampleStacks(
  binaries: ClusterBinaries,
  seeded: { cluster: boolean } | undefined,
  exampleDir: string,
): ExampleStacksDecision {
  const build = `build them with: ${BUILD_CLUSTER_COMMAND}`;
  if (seeded && !seeded.cluster) {
    const again = `remove ${exampleDir} to seed it again with the cluster stack`;
    return {
      seedCluster: false,
      startCluster: false,
      line: binaries.found
        ? `Cluster stack: not in this example (seeded without it); ${again}.`
        : `Cluster stack: skipped, the Kubernetes binaries are ${binaries.reason}; ${build} (then ${again}).`,
    };
  }
  if (!binaries.found) {
    return {
      seedCluster: false,
      startCluster: false,
      line: seeded
        ? `Cluster stack: cannot run, the Kubernetes binaries are ${binaries.reason}; ${build}.`
        : `Cluster stack: skipped, the Kubernetes binaries are ${binaries.reason}; the cloud stack runs alone. To add it, ${build}, then remove ${exampleDir}.`,
    };
  }
  return {
    seedCluster: !seeded,
    startCluster: true,
    line: `Cluster stack: on a local Kubernetes control plane (${binaries.from}).`,
  };
}

export interface RunningExampleCluster {
  /** For every stack: the provider on PATH, and old clusters' objects dropped from the state. */
  stackEnv: Record<string, string>;
  /** Stops the control plane and removes the kubeconfig it wrote. */
  stop(): Promise<void>;
}

/** For every stack: the provider on PATH, and old clusters' objects dropped from the state. */
export function exampleClusterEnv(binDir: string): Record<string, string> {
  return {
    PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ""}`,
    PULUMI_K8S_DELETE_UNREACHABLE: "true",
  };
}

/**
 * For a command on the example other than `run` (check, sync, drift): the binaries' folder when the
 * example has its cluster stack and they are found. It uses the control plane of the `tidegate run`
 * on this data directory, through the kubeconfig file that run writes; without one running, the
 * cluster stack's kubeconfig is missing and its error names the file.
 */
export async function exampleClusterInUse(
  repoRoot: string,
  dataDir: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ binDir: string } | undefined> {
  if (!seededCluster(path.resolve(dataDir, "example"))) return undefined;
  const binaries = await findClusterBinaries(repoRoot, env);
  return binaries.found ? { binDir: binaries.binDir } : undefined;
}

/**
 * Starts the local control plane and writes its kubeconfig where the example's environments read
 * it (a private file). Each start is a new, empty cluster: PULUMI_K8S_DELETE_UNREACHABLE lets a
 * refresh drop what the state remembers of the last one, which no longer answers.
 */
export async function startExampleCluster(options: {
  binDir: string;
  dataDir: string;
  log: (line: string) => void;
}): Promise<RunningExampleCluster> {
  const file = exampleKubeconfigFile(options.dataDir);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const plane = await startControlPlane({
    binDir: options.binDir,
    dataDir: path.dirname(file),
    log: options.log,
  });
  try {
    fs.rmSync(file, { force: true });
    fs.copyFileSync(plane.kubeconfigPath, file);
    fs.chmodSync(file, 0o600);
  } catch (err) {
    await plane.stop();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    stackEnv: exampleClusterEnv(options.binDir),
    stop: () =>
      (stopped ??= (async () => {
        fs.rmSync(file, { force: true });
        await plane.stop();
      })()),
  };
}

/**
 * For `tidegate run` with no configuration: what to seed (the cluster's kubeconfig file when the
 * cluster stack is seeded now), whether to start the control plane, and the line that says so.
 */
export async function exampleClusterPlan(
  repoRoot: string,
  dataDir: string,
  env?: NodeJS.ProcessEnv,
): Promise<{ seed: { cluster?: ExampleCluster }; start?: { binDir: string }; line: string }> {
  const exampleDir = path.resolve(dataDir, "example");
  const binaries = await findClusterBinaries(repoRoot, env);
  const seeded = exampleSeeded(exampleDir) ? { cluster: seededCluster(exampleDir) } : undefined;
  const decision = decideExampleStacks(binaries, seeded, exampleDir);
  return {
    seed: decision.seedCluster ? { cluster: { kubeconfigFile: exampleKubeconfigFile(dataDir) } } : {},
    ...(decision.startCluster && binaries.found ? { start: { binDir: binaries.binDir } } : {}),
    line: decision.line,
  };
}
