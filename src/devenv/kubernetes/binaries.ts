import { readFileSync } from "node:fs";
import * as path from "node:path";
import { runProvisionScript, runScript, scriptFailure } from "../toolchain/script";

/** The folder scripts/kubernetes.sh prints, and what it holds. */
export interface KubernetesBinaries {
  binDir: string;
  kubeApiserver: string;
  /** May be absent when kube-apiserver and etcd came from KUBEBUILDER_ASSETS or PATH. */
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
 * Kubernetes provider through scripts/kubernetes.sh, the one place that knows how: it takes them
 * from KUBEBUILDER_ASSETS, an installed Pulumi plugin, its cache or PATH before building what is
 * missing (a cold build of all four takes about 40 minutes on two cores; a warm run is instant).
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

export const KUBERNETES_BINARIES = [
  "kube-apiserver",
  "kube-controller-manager",
  "etcd",
  "pulumi-resource-kubernetes",
] as const;
export type KubernetesBinary = (typeof KUBERNETES_BINARIES)[number];

/** Where scripts/kubernetes.sh found one binary: `plugin` is an installed Pulumi plugin. */
export type BinarySource = "KUBEBUILDER_ASSETS" | "built" | "PATH" | "plugin";
export type FoundBinary = { source: BinarySource; path: string; version: string } | { source: "missing" };
export type KubernetesLookup = Record<KubernetesBinary, FoundBinary>;

const SOURCES: readonly string[] = ["KUBEBUILDER_ASSETS", "built", "PATH", "plugin"];

/** Parses `scripts/kubernetes.sh --lookup`: one "<binary>\t<source>\t<path>\t<version>" line each. */
export function parseLookup(stdout: string): KubernetesLookup {
  const entries = new Map<string, FoundBinary>();
  for (const line of stdout.split("\n")) {
    if (!line.trim()) continue;
    const [name = "", source = "", file = "", version = ""] = line.split("\t");
    if (source === "missing") entries.set(name, { source: "missing" });
    else if (SOURCES.includes(source) && file)
      entries.set(name, { source: source as BinarySource, path: file, version });
    else throw new Error(`scripts/kubernetes.sh --lookup printed an unexpected line: '${line}'`);
  }
  const lookup = {} as KubernetesLookup;
  for (const name of KUBERNETES_BINARIES) {
    const entry = entries.get(name);
    if (!entry) throw new Error(`scripts/kubernetes.sh --lookup said nothing about ${name}`);
    lookup[name] = entry;
  }
  return lookup;
}

/**
 * Where each binary would come from, without building or writing anything (scripts/kubernetes.sh
 * --lookup): what `tidegate doctor` reports.
 */
export async function lookupKubernetes(
  options: Omit<KubernetesBinariesOptions, "checkOnly">,
): Promise<KubernetesLookup> {
  const script = path.join(options.repoRoot, "scripts", "kubernetes.sh");
  const fail = (f: { message: string; missing: boolean }) =>
    new KubernetesBinariesError(f.message, f.missing);
  const { code, stdout, stderr } = await runScript(script, ["--lookup"], options, fail);
  if (code !== 0) throw fail(scriptFailure(script, code, stderr));
  return parseLookup(stdout);
}

/** "kube-apiserver 1.33.0 from KUBEBUILDER_ASSETS (/path)" or "kube-apiserver: not found". */
export function describeFound(name: KubernetesBinary, found: FoundBinary): string {
  return describeFoundAll([[name, found]]);
}

/**
 * Binaries found in the same folder from the same source share one "from <source> (<folder>)":
 * "kube-apiserver 1.37.2, etcd 3.7.3 from the built cache (/cache/bin)"; missing ones say so.
 */
export function describeFoundAll(entries: readonly (readonly [KubernetesBinary, FoundBinary])[]): string {
  const groups = new Map<string, string[]>();
  const missing: string[] = [];
  for (const [name, found] of entries) {
    if (found.source === "missing") {
      missing.push(`${name}: not found`);
      continue;
    }
    const where = found.source === "built" ? "the built cache" : found.source;
    const key = `${where} (${path.dirname(found.path)})`;
    groups.set(key, [...(groups.get(key) ?? []), found.version ? `${name} ${found.version}` : name]);
  }
  return [...[...groups].map(([where, names]) => `${names.join(", ")} from ${where}`), ...missing].join("; ");
}

/**
 * The provider version @pulumi/kubernetes asks the engine for: an installed plugin is used only at
 * exactly this version (`resource-kubernetes-v<version>` in the plugin folder).
 */
export function providerSdkVersion(repoRoot: string): string {
  const manifest = require.resolve("@pulumi/kubernetes/package.json", { paths: [repoRoot] });
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
}
