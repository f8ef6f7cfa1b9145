import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import {
  binariesIn,
  describeFoundAll,
  lookupKubernetes,
  parseLookup,
  providerSdkVersion,
  provisionKubernetes,
} from "../../../src/devenv/kubernetes/binaries";
import { chooseControllers, DEFAULT_CONTROLLERS } from "../../../src/devenv/kubernetes/control-plane";

// Runs the real scripts/kubernetes.sh in its never-building modes (--lookup, --check) against temp
// folders of small scripts that print a version, with a PATH holding only the tools the script
// uses: whatever Kubernetes binaries this machine has cannot leak in.

const repoRoot = path.resolve(__dirname, "../../..");
const script = path.join(repoRoot, "scripts", "kubernetes.sh");
const sdkVersion = providerSdkVersion(repoRoot);
const TOOLS =
  "bash awk sed sort head tail sha256sum cut timeout mktemp ln mv rm mkdir dirname wc cat date env chmod cp touch sleep flock";

let root: string;
let env: NodeJS.ProcessEnv;

function folder(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A fake binary: a shell script printing `output` for any arguments. */
function fake(dir: string, name: string, output: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' '${output}'\n`);
  chmodSync(file, 0o755);
  return file;
}

function fakeCluster(dir: string, kubernetes = "v1.33.0", etcd = "3.5.21"): void {
  fake(dir, "kube-apiserver", `Kubernetes ${kubernetes}`);
  fake(dir, "etcd", `etcd Version: ${etcd}`);
}

function installPlugin(version: string): string {
  const dir = folder(`pulumi-home/plugins/resource-kubernetes-v${version}`);
  return fake(dir, "pulumi-resource-kubernetes", "");
}

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync("bash", [script, ...args], { env, encoding: "utf8" });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The folder a build would go to, from --check's message (its key hashes the wrapper modules). */
function pendingBuildDir(): string {
  const { code, stderr } = run("--check");
  expect(code, stderr).toBe(3);
  const dest = /a build would go to (\S+)\)/.exec(stderr)?.[1];
  if (!dest) throw new Error(`no build folder in: ${stderr}`);
  return dest;
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "tidegate-k8s-lookup-"));
  const tools = folder("tools");
  for (const tool of TOOLS.split(" ")) {
    symlinkSync(
      execFileSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(),
      path.join(tools, tool),
    );
  }
  env = {
    PATH: `${folder("path")}${path.delimiter}${tools}`,
    HOME: folder("home"),
    PULUMI_HOME: path.join(root, "pulumi-home"),
    TIDEGATE_CACHE_DIR: folder("cache"),
  };
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("scripts/kubernetes.sh --lookup", () => {
  it("takes kube-apiserver and etcd from KUBEBUILDER_ASSETS, and says what is missing", async () => {
    const assets = folder("assets");
    fakeCluster(assets);
    env.KUBEBUILDER_ASSETS = assets;
    const lookup = await lookupKubernetes({ repoRoot, env });
    expect(lookup["kube-apiserver"]).toEqual({
      source: "KUBEBUILDER_ASSETS",
      path: path.join(assets, "kube-apiserver"),
      version: "1.33.0",
    });
    expect(lookup.etcd).toEqual({
      source: "KUBEBUILDER_ASSETS",
      path: path.join(assets, "etcd"),
      version: "3.5.21",
    });
    expect(lookup["kube-controller-manager"]).toEqual({ source: "missing" });
    expect(lookup["pulumi-resource-kubernetes"]).toEqual({ source: "missing" });
  });

  it("skips a binary that is too old or prints no version, and falls back to PATH", () => {
    const assets = folder("assets");
    fakeCluster(assets, "v1.19.16", "3.4.23");
    env.KUBEBUILDER_ASSETS = assets;
    fake(path.join(root, "path"), "kube-apiserver", "something else");
    fake(path.join(root, "path"), "etcd", "etcd Version: 3.6.0");
    const { code, stdout, stderr } = run("--lookup");
    expect(code, stderr).toBe(0);
    const lookup = parseLookup(stdout);
    expect(lookup["kube-apiserver"]).toEqual({ source: "missing" });
    expect(lookup.etcd).toMatchObject({ source: "PATH", version: "3.6.0" });
    expect(stderr).toContain("version 1.19.16, needs >= 1.20.0");
    expect(stderr).toContain("version 3.4.23, needs >= 3.5.0");
    expect(stderr).toContain("printed no version");
  });

  it("prefers KUBEBUILDER_ASSETS to the built cache, and the built cache to PATH", () => {
    const built = path.join(pendingBuildDir(), "bin");
    mkdirSync(built, { recursive: true });
    fakeCluster(built, "v1.37.2", "3.7.3");
    fake(built, "kube-controller-manager", "Kubernetes v1.37.2");
    fake(built, "pulumi-resource-kubernetes", "");
    writeFileSync(path.join(path.dirname(built), ".complete"), "");
    fakeCluster(path.join(root, "path"));

    let lookup = parseLookup(run("--lookup").stdout);
    expect(lookup["kube-apiserver"]).toMatchObject({ source: "built", version: "1.37.2" });
    expect(lookup["pulumi-resource-kubernetes"]).toMatchObject({ source: "built" });
    // Everything from one built folder: that folder itself is printed, as before.
    expect(run("--check").stdout.trim()).toBe(built);

    const assets = folder("assets");
    fakeCluster(assets, "v1.34.1");
    env.KUBEBUILDER_ASSETS = assets;
    lookup = parseLookup(run("--lookup").stdout);
    expect(lookup["kube-apiserver"]).toMatchObject({ source: "KUBEBUILDER_ASSETS", version: "1.34.1" });
    expect(lookup["kube-controller-manager"]).toMatchObject({ source: "built" });
  });

  it("uses a plugin installed at the SDK's exact version, not a partial or another version", () => {
    installPlugin("4.0.0");
    expect(parseLookup(run("--lookup").stdout)["pulumi-resource-kubernetes"]).toEqual({ source: "missing" });

    const file = installPlugin(sdkVersion);
    writeFileSync(
      path.join(root, "pulumi-home", "plugins", `resource-kubernetes-v${sdkVersion}.partial`),
      "",
    );
    expect(parseLookup(run("--lookup").stdout)["pulumi-resource-kubernetes"]).toEqual({ source: "missing" });

    rmSync(path.join(root, "pulumi-home", "plugins", `resource-kubernetes-v${sdkVersion}.partial`));
    expect(parseLookup(run("--lookup").stdout)["pulumi-resource-kubernetes"]).toEqual({
      source: "plugin",
      path: file,
      version: sdkVersion,
    });
  });
});

describe("scripts/kubernetes.sh --check", () => {
  it("exits 3 naming what would be built and how to avoid it", () => {
    const assets = folder("assets");
    fakeCluster(assets);
    env.KUBEBUILDER_ASSETS = assets;
    const { code, stdout, stderr } = run("--check");
    expect(code).toBe(3);
    expect(stdout).toBe("");
    expect(stderr).toContain("pulumi-resource-kubernetes not found and not built yet");
    expect(stderr).toContain(`pulumi plugin install resource kubernetes ${sdkVersion}`);
  });

  it("prints one folder of symlinks to what was found, the installed plugin included", async () => {
    const assets = folder("assets");
    fakeCluster(assets);
    env.KUBEBUILDER_ASSETS = assets;
    const plugin = installPlugin(sdkVersion);

    const binaries = await provisionKubernetes({ repoRoot, env, checkOnly: true });
    expect(binaries.binDir.startsWith(path.join(root, "cache", "kubernetes", "found-"))).toBe(true);
    expect(readlinkSync(binaries.kubeApiserver)).toBe(path.join(assets, "kube-apiserver"));
    expect(readlinkSync(binaries.etcd)).toBe(path.join(assets, "etcd"));
    // tidegate's engine has its own PULUMI_HOME: the plugin reaches it on PATH, from this folder.
    expect(readlinkSync(binaries.pulumiProvider)).toBe(plugin);
    expect(() => readlinkSync(binaries.kubeControllerManager)).toThrow(/ENOENT/);
    // A second run finds the same folder.
    expect(run("--check").stdout.trim()).toBe(binaries.binDir);
    expect(binariesIn(binaries.binDir)).toEqual(binaries);
  });

  it("refuses an unknown option", () => {
    const { code, stderr } = run("--bogus");
    expect(code).toBe(1);
    expect(stderr).toContain("unknown option '--bogus'");
  });
});

describe("scripts/kubernetes.sh building what is missing", () => {
  // A stand-in for `go` that "builds" small scripts printing the version the real build stamps, so
  // the build path (what is built, the smoke checks, the cache folder) runs in a second.
  const FAKE_GO = `#!/bin/bash
set -e
case "$1" in
  build)
    shift
    while [ $# -gt 0 ]; do
      case $1 in
        -o) out=$2; shift ;;
        -ldflags) flags=$2; shift ;;
      esac
      last=$1
      shift
    done
    echo "go build $last" >>"$FAKE_GO_LOG"
    case $last in
      *kube-apiserver | *kube-controller-manager)
        version=$(printf '%s' "$flags" | sed -n 's/.*version.gitVersion=\\(v[^ ]*\\).*/\\1/p')
        printf '#!/bin/sh\\necho "Kubernetes %s"\\n' "$version" >"$out" ;;
      go.etcd.io/*) printf '#!/bin/sh\\necho "etcd Version: %s"\\n' "$FAKE_ETCD" >"$out" ;;
      *) printf '#!/bin/sh\\n' >"$out" ;;
    esac
    chmod +x "$out" ;;
  mod) printf '{\\n\\t"Dir": "%s",\\n}\\n' "$FAKE_UPSTREAM" ;;
  run) echo '{}' >schema-embed.json ;;
esac
`;

  it("builds only the provider when KUBEBUILDER_ASSETS holds the cluster binaries", () => {
    const assets = folder("assets");
    fakeCluster(assets);
    env.KUBEBUILDER_ASSETS = assets;
    const go = path.join(folder("path"), "go");
    writeFileSync(go, FAKE_GO);
    chmodSync(go, 0o755);
    const upstream = folder("upstream/cmd/pulumi-resource-kubernetes");
    writeFileSync(path.join(upstream, "generate.go"), "package main\n");
    const etcdPin = /go\.etcd\.io\/etcd\/server\/v3 v(\S+)/.exec(
      readFileSync(path.join(repoRoot, "toolchain/kubernetes/etcd/go.mod"), "utf8"),
    )?.[1];
    Object.assign(env, {
      FAKE_GO_LOG: path.join(root, "go.log"),
      FAKE_UPSTREAM: path.dirname(path.dirname(upstream)),
      FAKE_ETCD: etcdPin,
    });

    const first = run();
    expect(first.code, first.stderr).toBe(0);
    expect(readFileSync(path.join(root, "go.log"), "utf8")).toBe(
      "go build ./cmd/pulumi-resource-kubernetes\n",
    );
    const binDir = first.stdout.trim();
    expect(readlinkSync(path.join(binDir, "kube-apiserver"))).toBe(path.join(assets, "kube-apiserver"));
    expect(readlinkSync(path.join(binDir, "pulumi-resource-kubernetes"))).toMatch(
      new RegExp(`^${root}/cache/kubernetes/provider-[0-9a-f]+-[0-9a-f]{12}/bin/pulumi-resource-kubernetes$`),
    );

    // Built once: the next run finds it and builds nothing.
    const second = run();
    expect(second.stdout.trim()).toBe(binDir);
    expect(second.stderr).not.toContain("building");
  });

  it("builds the cluster part alone when the provider is an installed plugin, and smoke-checks it", () => {
    installPlugin(sdkVersion);
    const go = path.join(folder("path"), "go");
    writeFileSync(go, FAKE_GO);
    chmodSync(go, 0o755);
    Object.assign(env, { FAKE_GO_LOG: path.join(root, "go.log"), FAKE_ETCD: "9.9.9" });

    const { code, stderr } = run();
    expect(code).toBe(1);
    // The fake etcd reports the wrong version: the build is refused and nothing is cached.
    expect(stderr).toMatch(/the built etcd reports version '9\.9\.9', expected v\S+; nothing was cached/);
    expect(readFileSync(path.join(root, "go.log"), "utf8")).not.toContain("pulumi-resource-kubernetes");
    expect(parseLookup(run("--lookup").stdout)["kube-apiserver"]).toEqual({ source: "missing" });
  });
});

describe("parseLookup and describeFoundAll", () => {
  const lines = [
    "kube-apiserver\tKUBEBUILDER_ASSETS\t/a/kube-apiserver\t1.33.0",
    "kube-controller-manager\tmissing\t\t",
    "etcd\tKUBEBUILDER_ASSETS\t/a/etcd\t3.5.21",
    "pulumi-resource-kubernetes\tplugin\t/p/resource-kubernetes-v4.34.2/pulumi-resource-kubernetes\t4.34.2",
  ];

  it("groups binaries from the same folder and source, and names the missing ones", () => {
    const lookup = parseLookup(lines.join("\n"));
    expect(
      describeFoundAll([
        ["kube-apiserver", lookup["kube-apiserver"]],
        ["etcd", lookup.etcd],
        ["kube-controller-manager", lookup["kube-controller-manager"]],
        ["pulumi-resource-kubernetes", lookup["pulumi-resource-kubernetes"]],
      ]),
    ).toBe(
      "kube-apiserver 1.33.0, etcd 3.5.21 from KUBEBUILDER_ASSETS (/a); pulumi-resource-kubernetes 4.34.2 from plugin (/p/resource-kubernetes-v4.34.2); kube-controller-manager: not found",
    );
  });

  it("rejects an unknown source and a binary it says nothing about", () => {
    expect(() => parseLookup(lines.join("\n").replace("plugin", "elsewhere"))).toThrow(/unexpected line/);
    expect(() => parseLookup(lines.slice(1).join("\n"))).toThrow(/said nothing about kube-apiserver/);
  });
});

describe("chooseControllers", () => {
  it("runs the default controllers only when kube-controller-manager is there, and says so when not", async () => {
    const logged: string[] = [];
    const log = (line: string) => void logged.push(line);
    const manager = path.join(folder("bin"), "kube-controller-manager");
    expect(await chooseControllers(undefined, manager, log)).toEqual([]);
    expect(logged.join("\n")).toContain("starting without one");

    fake(path.dirname(manager), "kube-controller-manager", "Kubernetes v1.33.0");
    expect(await chooseControllers(undefined, manager, log)).toEqual(DEFAULT_CONTROLLERS);
    expect(await chooseControllers(["garbage-collector-controller"], manager, log)).toEqual([
      "garbage-collector-controller",
    ]);
  });
});
