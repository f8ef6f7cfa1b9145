import { type ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

import {
  describeFound,
  describeFoundAll,
  type KubernetesLookup,
  lookupKubernetes,
} from "../devenv/kubernetes/binaries";
import { BUILD_CLUSTER_COMMAND } from "../devenv/demo/stacks";
import { chooseEmulator, type EmulatorFacts, type EmulatorKind } from "../devenv/emulator";
import { DEFAULT_LOCALSTACK_IMAGE } from "../devenv/emulator/localstack";
import { venvPaths } from "../devenv/emulator/moto";
import { CHROMIUM_FIX, findChromium } from "../devenv/browser/chromium";
import { provisionPulumi, type PulumiToolchain, ToolchainError } from "../devenv/toolchain/pulumi";
import { enginePath } from "../adapters/pulumi/toolchain";
import { containmentDiagnosis, sandboxDiagnosis } from "../adapters/sandbox";
import type { Command, CommandContext } from "./command";
import { probePostgres, probeStore } from "./doctor-postgres";
import {
  type Finding,
  emulatorReason,
  exitCode,
  formatHuman,
  formatJson,
  isAtLeast,
  parsePluginList,
  parseVersion,
  pinnedPulumiVersion,
  type PluginInfo,
  SETUP_FIX,
  summarize,
} from "./doctor-report";

// `tidegate doctor`: looks at everything tidegate needs on this machine without changing anything
// or starting anything long-lived. Each check is one small function; they run concurrently and
// share the few expensive facts (toolchain location, plugin list, emulator choice) as promises.

const TIMEOUT_MS = { tool: 20_000, languageHost: 10_000, connect: 2_000, stop: 3_000 };

/** @pulumi/pulumi >= 3.250 needs Node 22; node:sqlite without a flag needs 22.13. */
const MIN_NODE = "22.13.0";
/** Go toolchain that can build the pinned Pulumi CLI from toolchain/pulumi. */
const MIN_GO = "1.26";
/** What scripts/emulator-venv.sh accepts for moto 5.2.5. */
const MIN_PYTHON = "3.10";

export const command: Command = {
  usage: "doctor [--json]",
  description: [
    "Checks Node, the Pulumi toolchain (CLI, language host, launchers), provider plugins, the AWS",
    "emulator tidegate would use, the build tools, PostgreSQL's binaries and the configured store",
    "(whether store.url connects), and says where kube-apiserver, etcd and the Kubernetes provider",
    "come from (KUBEBUILDER_ASSETS, the built cache, PATH or an installed plugin). Starts nothing",
    "long-lived and changes nothing.",
    "",
    "Options:",
    "  --json   Print { ok, checks: [{ name, ok, required, detail, fix? }] } instead of text",
    "",
    "Exits 1 when a required check fails; the fix is printed under it.",
  ].join("\n"),
  options: { json: { type: "boolean" } },
  async run(args, context) {
    const report = summarize(await runChecks(context));
    context.stdout(args.values.json === true ? formatJson(report) : formatHuman(report));
    return exitCode(report);
  },
};

/** Facts several checks need, each computed once. Promises never reject. */
interface ProbeContext {
  repoRoot: string;
  env: NodeJS.ProcessEnv;
  toolchain: Promise<PulumiToolchain | ToolchainError>;
  plugins: Promise<PluginInfo[]>;
  /** Where scripts/kubernetes.sh finds each Kubernetes binary (never builds), or why it could not say. */
  kubernetes: Promise<KubernetesLookup | Error>;
  emulator: Promise<EmulatorFacts & { kind: EmulatorKind }>;
}

/** What still works without each provider plugin, and where tidegate builds one (if it does). */
const PROVIDERS = {
  kubernetes: {
    without: "@pulumi/kubernetes programs are tested with mocks; deploying them needs the plugin",
    build: "bash scripts/kubernetes.sh (builds it from Go modules: about 21 minutes cold on 2 cores)",
  },
  aws: {
    without: "@pulumi/aws programs are tested with mocks; emulator-backed stacks use dynamic resources",
    build: undefined,
  },
} as const;

type FindingResult = Omit<Finding, "name" | "required"> & { required?: boolean };

interface ProbeSpec {
  name: string;
  /** Default; a check may override it (go is required only while the toolchain is not built). */
  required: boolean;
  run: (probe: ProbeContext) => Promise<FindingResult>;
}

const CHECKS: ProbeSpec[] = [
  { name: "node", required: true, run: probeNode },
  { name: "pulumi", required: true, run: probePulumi },
  { name: "language host", required: true, run: probeLanguageHost },
  {
    name: "dynamic-provider launcher",
    required: true,
    run: (p) => probeLauncher(p, "pulumi-resource-pulumi-nodejs", "dynamic-provider"),
  },
  {
    name: "policy launcher",
    required: false,
    run: (p) => probeLauncher(p, "pulumi-analyzer-policy", "run-policy-pack"),
  },
  { name: "provider kubernetes", required: false, run: (p) => probeProvider(p, "kubernetes") },
  { name: "provider aws", required: false, run: (p) => probeProvider(p, "aws") },
  { name: "kubernetes api server", required: false, run: probeApiServer },
  { name: "emulator", required: true, run: probeEmulator },
  { name: "go", required: false, run: probeGo },
  { name: "python3", required: false, run: probePython },
  { name: "git", required: true, run: probeGit },
  // Only the dashboard's browser tests drive a browser: a warning, never a failure.
  { name: "chromium", required: false, run: (p) => probeChromium(p.env) },
  // Only the PostgreSQL store's tests start a server; a configured store must connect.
  { name: "postgresql", required: false, run: (p) => probePostgres(p.env) },
  { name: "store", required: false, run: (p) => probeStore(p.env) },
  { name: "sandbox", required: false, run: () => sandboxDiagnosis() },
  { name: "containment", required: false, run: () => containmentDiagnosis() },
];

export async function runChecks(context: Pick<CommandContext, "repoRoot" | "env">): Promise<Finding[]> {
  const toolchain = findToolchain(context.repoRoot, context.env);
  const probe: ProbeContext = {
    ...context,
    toolchain,
    plugins: listPlugins(toolchain, context.env),
    kubernetes: findKubernetesBinaries(context.repoRoot, context.env),
    emulator: decideEmulator(context.env),
  };
  return Promise.all(
    CHECKS.map(async (spec) => {
      try {
        const { ok, required = spec.required, detail, fix } = await spec.run(probe);
        return { name: spec.name, ok, required, detail, ...(fix ? { fix } : {}) };
      } catch (error) {
        return {
          name: spec.name,
          ok: false,
          required: spec.required,
          detail: `check failed: ${errorLine(error)}`,
        };
      }
    }),
  );
}

// --- checks ---------------------------------------------------------------------------------------

async function probeNode(): Promise<FindingResult> {
  const version = process.versions.node;
  const ok = isAtLeast(version, MIN_NODE);
  const detail = `v${version} at ${process.execPath}`;
  if (ok) return { ok, detail };
  return {
    ok,
    detail: `${detail}; needs >= ${MIN_NODE} (@pulumi/pulumi >= 3.250 needs Node 22, node:sqlite unflagged needs 22.13)`,
    fix: "run through npx (npm ci installs Node 22 as node_modules/.bin/node) or install Node >= 22.13",
  };
}

async function probePulumi(probe: ProbeContext): Promise<FindingResult> {
  const pinned = await readPinnedVersion(probe.repoRoot);
  const toolchain = await probe.toolchain;
  if (toolchain instanceof ToolchainError) {
    const what = toolchain.missing ? `pinned ${pinned} is not built yet` : errorLine(toolchain);
    return { ok: false, detail: what, fix: SETUP_FIX };
  }
  const cli = path.join(toolchain.binDir, "pulumi");
  const { stdout } = await runTool(cli, ["version"], pulumiEnv(toolchain, probe.env));
  const version = stdout.trim();
  const ok = isAtLeast(version, pinned);
  return {
    ok,
    detail: `${version} (pinned ${pinned}) in ${toolchain.binDir}`,
    ...(ok ? {} : { fix: SETUP_FIX }),
  };
}

async function probeLanguageHost(probe: ProbeContext): Promise<FindingResult> {
  const toolchain = await probe.toolchain;
  if (toolchain instanceof ToolchainError) return notBuilt();
  const host = path.join(toolchain.binDir, "pulumi-language-nodejs");
  if (!(await isExecutable(host)))
    return { ok: false, detail: `no pulumi-language-nodejs in ${toolchain.binDir}`, fix: SETUP_FIX };
  try {
    const port = await startLanguageHost(host, pulumiEnv(toolchain, probe.env));
    return { ok: true, detail: `pulumi-language-nodejs started and accepted a connection on port ${port}` };
  } catch (error) {
    return { ok: false, detail: `pulumi-language-nodejs ${errorLine(error)}`, fix: rebuildFix(toolchain) };
  }
}

async function probeLauncher(probe: ProbeContext, launcher: string, entry: string): Promise<FindingResult> {
  const toolchain = await probe.toolchain;
  if (toolchain instanceof ToolchainError) return notBuilt();
  const file = path.join(toolchain.binDir, launcher);
  if (!(await isExecutable(file)))
    return { ok: false, detail: `no ${launcher} in ${toolchain.binDir}`, fix: SETUP_FIX };
  const target = `@pulumi/pulumi/cmd/${entry}`;
  try {
    require.resolve(target, { paths: [probe.repoRoot] });
  } catch {
    return { ok: false, detail: `${launcher}, but ${target} does not resolve from the repo`, fix: "npm ci" };
  }
  const sdk = readPackageVersion("@pulumi/pulumi", probe.repoRoot) ?? "?";
  return { ok: true, detail: `${launcher} -> @pulumi/pulumi ${sdk} cmd/${entry}` };
}

async function probeProvider(probe: ProbeContext, name: keyof typeof PROVIDERS): Promise<FindingResult> {
  const binary = `pulumi-resource-${name}`;
  const toolchain = await probe.toolchain;
  if (name === "kubernetes") {
    const lookup = await probe.kubernetes;
    const found = lookup instanceof Error ? undefined : lookup["pulumi-resource-kubernetes"];
    if (found && found.source !== "missing")
      return { ok: true, detail: describeFound("pulumi-resource-kubernetes", found) };
  }
  const dirs = [toolchain instanceof ToolchainError ? undefined : toolchain.binDir, ...pathDirs(probe.env)];
  for (const dir of dirs) {
    if (dir && (await isExecutable(path.join(dir, binary)))) {
      return { ok: true, detail: path.join(dir, binary) };
    }
  }
  const installed = (await probe.plugins).filter(
    (plugin) => plugin.kind === "resource" && plugin.name === name,
  );
  if (installed.length > 0) {
    return { ok: true, detail: `plugin ${installed.map((plugin) => plugin.version).join(", ")} installed` };
  }
  const { without, build } = PROVIDERS[name];
  const sdkVersion = readPackageVersion(`@pulumi/${name}`, probe.repoRoot);
  const pulumi = toolchain instanceof ToolchainError ? "pulumi" : path.join(toolchain.binDir, "pulumi");
  const install = sdkVersion ? `${pulumi} plugin install resource ${name} v${sdkVersion}` : undefined;
  // An installed plugin is found before anything is built.
  const fix = [install, build].filter(Boolean).join(", or ");
  return { ok: false, detail: `not installed: ${without}`, ...(fix ? { fix } : {}) };
}

async function probeEmulator(probe: ProbeContext): Promise<FindingResult> {
  const facts = await probe.emulator;
  const why = emulatorReason(facts.kind);
  switch (facts.kind) {
    case "external": {
      const url = new URL(facts.endpointUrl ?? "");
      const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
      if (await canConnect({ host: url.hostname, port })) {
        return { ok: true, detail: `external at ${url.origin} (${why}), reachable` };
      }
      return {
        ok: false,
        detail: `external at ${url.origin} (${why}), not reachable`,
        fix: `start the emulator at ${url.origin}, or unset AWS_ENDPOINT_URL`,
      };
    }
    case "localstack-container": {
      const image = probe.env.TIDEGATE_LOCALSTACK_IMAGE?.trim() || DEFAULT_LOCALSTACK_IMAGE;
      return { ok: true, detail: `LocalStack container ${image} (${why}); pulled on first use` };
    }
    case "localstack-host":
      return { ok: false, detail: "LocalStack host mode is not supported (src/emulator/localstack.ts)" };
    case "moto": {
      const server = path.relative(probe.repoRoot, venvPaths(probe.repoRoot).motoServer);
      if (await isMotoInstalled(probe.repoRoot)) {
        return { ok: true, detail: `moto on the host (${why}), ${server}` };
      }
      return { ok: false, detail: `moto on the host (${why}); ${server} is not installed`, fix: SETUP_FIX };
    }
  }
}

async function probeGo(probe: ProbeContext): Promise<FindingResult> {
  // Go only builds the Pulumi toolchain; once it is built (or a new enough pulumi is on PATH) it is optional.
  const required = (await probe.toolchain) instanceof ToolchainError;
  const fix = `install Go >= ${MIN_GO} (needed to build the Pulumi toolchain), then ${SETUP_FIX}`;
  const result = await versionOf("go", ["version"], probe.env);
  if (!result.ok) return { required, ok: false, detail: result.detail, fix };
  const ok = isAtLeast(result.version, MIN_GO);
  return {
    required,
    ok,
    detail: `${result.detail}${ok ? "" : `; needs >= ${MIN_GO}`}`,
    ...(ok ? {} : { fix }),
  };
}

/** kube-apiserver and etcd for the local cluster that tests and cluster stacks use, and where they come from. */
async function probeApiServer(probe: ProbeContext): Promise<FindingResult> {
  const lookup = await probe.kubernetes;
  const fix = `set KUBEBUILDER_ASSETS to a folder holding kube-apiserver (>= 1.20) and etcd (>= 3.5), as envtest's setup-envtest installs them, or ${BUILD_CLUSTER_COMMAND} (builds them from Go modules: about 18 minutes cold on 2 cores); until then \`tidegate run\` with no configuration runs the example's cloud stack alone`;
  if (lookup instanceof Error) return { ok: false, detail: errorLine(lookup), fix };
  const apiserver = lookup["kube-apiserver"];
  const etcd = lookup.etcd;
  const manager = lookup["kube-controller-manager"];
  if (apiserver.source === "missing" || etcd.source === "missing") {
    const detail = describeFoundAll([
      ["kube-apiserver", apiserver],
      ["etcd", etcd],
    ]);
    return { ok: false, detail: `${detail} (not in KUBEBUILDER_ASSETS, the built cache or PATH)`, fix };
  }
  const found = describeFoundAll([
    ["kube-apiserver", apiserver],
    ["etcd", etcd],
    ...(manager.source === "missing" ? [] : [["kube-controller-manager", manager] as const]),
  ]);
  const withoutManager =
    "; no kube-controller-manager (the control plane starts without one: deletes that wait for the garbage collector do not finish)";
  const example = "; `tidegate run` with no configuration deploys the example's cluster stack on them";
  return { ok: true, detail: `${found}${manager.source === "missing" ? withoutManager : ""}${example}` };
}

async function probePython(probe: ProbeContext): Promise<FindingResult> {
  // python3 only creates the moto venv: required while moto is the emulator and not installed.
  const facts = await probe.emulator;
  const required = facts.kind === "moto" && !(await isMotoInstalled(probe.repoRoot));
  const fix = `install Python >= ${MIN_PYTHON} with venv (Debian: python3-venv), then ${SETUP_FIX}`;
  const result = await versionOf("python3", ["--version"], probe.env);
  if (!result.ok) return { required, ok: false, detail: result.detail, fix };
  const ok = isAtLeast(result.version, MIN_PYTHON);
  return {
    required,
    ok,
    detail: `${result.detail}${ok ? "" : `; the moto venv needs >= ${MIN_PYTHON}`}`,
    ...(ok ? {} : { fix }),
  };
}

async function probeGit(probe: ProbeContext): Promise<FindingResult> {
  const result = await versionOf("git", ["--version"], probe.env);
  return result.ok
    ? { ok: true, detail: result.detail }
    : { ok: false, detail: result.detail, fix: "install git" };
}

/** The browser the dashboard's tests drive: where it is and its version, or how to get one. */
export async function probeChromium(env: NodeJS.ProcessEnv): Promise<FindingResult> {
  const found = findChromium(env);
  if (found.missing) {
    return { ok: false, detail: `${found.missing} (only the dashboard's tests need it)`, fix: CHROMIUM_FIX };
  }
  const result = await versionOf(found.path, ["--version"], env);
  if (!result.ok) return { ok: false, detail: `${found.path}: ${result.detail}`, fix: CHROMIUM_FIX };
  return { ok: true, detail: `Chromium found at ${found.path}: ${result.detail}` };
}

/** A broken build in tidegate's cache is rebuilt by removing it; anything else by setup. */
function rebuildFix(toolchain: PulumiToolchain): string {
  const cached = fs.existsSync(path.join(toolchain.root, ".complete"));
  return cached ? `rm -rf ${toolchain.root} && ${SETUP_FIX}` : SETUP_FIX;
}

function notBuilt(): FindingResult {
  return { ok: false, detail: "the Pulumi toolchain is not built", fix: SETUP_FIX };
}

// --- shared facts ---------------------------------------------------------------------------------

async function findToolchain(
  repoRoot: string,
  env: NodeJS.ProcessEnv,
): Promise<PulumiToolchain | ToolchainError> {
  try {
    return await withTimeout(
      provisionPulumi({ repoRoot, checkOnly: true, env }),
      TIMEOUT_MS.tool,
      "scripts/toolchain.sh --check",
    );
  } catch (error) {
    return error instanceof ToolchainError ? error : new ToolchainError(errorLine(error), false);
  }
}

/** Where scripts/kubernetes.sh --lookup finds each binary (it never builds or writes). */
async function findKubernetesBinaries(
  repoRoot: string,
  env: NodeJS.ProcessEnv,
): Promise<KubernetesLookup | Error> {
  try {
    return await withTimeout(
      lookupKubernetes({ repoRoot, env }),
      TIMEOUT_MS.tool,
      "scripts/kubernetes.sh --lookup",
    );
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Plugins the toolchain's pulumi knows about (its plugin cache); empty when that cannot be read. */
async function listPlugins(
  toolchain: Promise<PulumiToolchain | ToolchainError>,
  env: NodeJS.ProcessEnv,
): Promise<PluginInfo[]> {
  const found = await toolchain;
  if (found instanceof ToolchainError) return [];
  try {
    const cli = path.join(found.binDir, "pulumi");
    const { stdout } = await runTool(cli, ["plugin", "ls", "--json"], pulumiEnv(found, env));
    return parsePluginList(stdout);
  } catch {
    return [];
  }
}

/**
 * Decides the emulator with src/emulator's chooseEmulator from facts only: nothing is started. Docker
 * counts as available when something answers on its socket (startEmulator asks testcontainers, which
 * takes a second and looks in the same places).
 */
async function decideEmulator(env: NodeJS.ProcessEnv): Promise<EmulatorFacts & { kind: EmulatorKind }> {
  const endpointUrl = env.AWS_ENDPOINT_URL?.trim() || undefined;
  const facts: EmulatorFacts = {
    ...(endpointUrl ? { endpointUrl } : {}),
    dockerAvailable: endpointUrl === undefined && (await dockerReachable(env)),
    // As in startEmulator: LocalStack on the host does not run (see src/emulator/localstack.ts).
    localstackHostWorks: false,
  };
  return { ...facts, kind: chooseEmulator(facts) };
}

function isMotoInstalled(repoRoot: string): Promise<boolean> {
  return isExecutable(venvPaths(repoRoot).motoServer);
}

/** DOCKER_HOST when set; otherwise the default socket, then rootless and Docker Desktop ones. */
function dockerTargets(env: NodeJS.ProcessEnv): ({ host: string; port: number } | { path: string })[] {
  const host = env.DOCKER_HOST?.trim();
  if (host?.startsWith("unix://")) return [{ path: host.slice("unix://".length) }];
  if (host?.startsWith("tcp://")) {
    const url = new URL(host.replace(/^tcp:/, "http:"));
    return [{ host: url.hostname, port: Number(url.port || 2375) }];
  }
  if (host) return [];
  const home = os.homedir();
  const sockets = [
    "/var/run/docker.sock",
    env.XDG_RUNTIME_DIR && path.join(env.XDG_RUNTIME_DIR, "docker.sock"),
    path.join(home, ".docker", "run", "docker.sock"),
    path.join(home, ".docker", "desktop", "docker.sock"),
  ];
  return sockets.filter((socket): socket is string => Boolean(socket)).map((socket) => ({ path: socket }));
}

/** Some Docker engine answers (only connects; starts nothing). */
async function dockerReachable(env: NodeJS.ProcessEnv): Promise<boolean> {
  const answers = await Promise.all(dockerTargets(env).map((target) => canConnect(target)));
  return answers.includes(true);
}

// --- processes, files and sockets -----------------------------------------------------------------

/** An external command or process that could not be run or did not behave. */
class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolError";
  }
}

/** Runs a command to completion with a timeout; rejects with a ToolError naming what went wrong. */
function runTool(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = TIMEOUT_MS.tool,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) {
        resolve({ stdout, stderr });
        return;
      }
      const name = path.basename(file);
      const failure = error as NodeJS.ErrnoException & { killed?: boolean };
      if (failure.code === "ENOENT") reject(new ToolError(`${name} not found`));
      else if (failure.killed)
        reject(new ToolError(`${name} ${args.join(" ")} timed out after ${timeoutMs / 1000}s`));
      else reject(new ToolError(`${name} ${args.join(" ")} failed: ${firstLine(stderr) || error.message}`));
    });
  });
}

type VersionResult = { ok: true; version: string; detail: string } | { ok: false; detail: string };

async function versionOf(tool: string, args: string[], env: NodeJS.ProcessEnv): Promise<VersionResult> {
  try {
    const { stdout, stderr } = await runTool(tool, args, env);
    const line = firstLine(stdout) || firstLine(stderr);
    const version = parseVersion(line);
    if (!version) return { ok: false, detail: `cannot read a version from '${line}'` };
    return { ok: true, version: version.join("."), detail: line };
  } catch (error) {
    return { ok: false, detail: errorLine(error) };
  }
}

/**
 * Starts the language host with a dummy engine address, reads the port it prints first, connects to
 * prove it serves, and stops it again.
 */
async function startLanguageHost(file: string, env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(file, ["127.0.0.1:1"], { env, stdio: ["ignore", "pipe", "pipe"] });
  try {
    const line = await firstStdoutLine(child, TIMEOUT_MS.languageHost);
    const port = Number(line.trim());
    if (!Number.isInteger(port) || port <= 0) throw new ToolError(`printed '${line}' instead of a port`);
    if (!(await canConnect({ host: "127.0.0.1", port }))) {
      throw new ToolError(`printed port ${port} but does not accept connections`);
    }
    return port;
  } finally {
    await stop(child);
  }
}

function firstStdoutLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(
      () => finish(new ToolError(`printed no port within ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
    const finish = (result: string | Error) => {
      clearTimeout(timer);
      child.stdout?.removeAllListeners("data");
      child.removeAllListeners("exit");
      child.removeAllListeners("error");
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf("\n");
      if (newline >= 0) finish(stdout.slice(0, newline));
    });
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", (error) => finish(new ToolError(error.message)));
    child.on("exit", (code) =>
      finish(new ToolError(`exited with code ${code} before printing a port: ${firstLine(stderr)}`)),
    );
  });
}

/**
 * SIGTERM, then SIGKILL if the process ignores it. Its pipes are closed too: a grandchild that
 * inherited them would otherwise keep doctor from exiting.
 */
async function stop(child: ChildProcess): Promise<void> {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS.stop);
    await exited;
    clearTimeout(timer);
  }
  child.stdout?.destroy();
  child.stderr?.destroy();
}

function canConnect(target: { host: string; port: number } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(target);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(TIMEOUT_MS.connect, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await fs.promises.access(file, fs.constants.X_OK);
    return (await fs.promises.stat(file)).isFile();
  } catch {
    return false;
  }
}

function pathDirs(env: NodeJS.ProcessEnv): string[] {
  return (env.PATH ?? "").split(path.delimiter).filter(Boolean);
}

async function readPinnedVersion(repoRoot: string): Promise<string> {
  const goMod = path.join(repoRoot, "toolchain", "pulumi", "go.mod");
  const pinned = pinnedPulumiVersion(await fs.promises.readFile(goMod, "utf8"));
  if (!pinned) throw new Error(`cannot read the pinned pulumi release from ${goMod}`);
  return pinned;
}

function readPackageVersion(name: string, repoRoot: string): string | undefined {
  try {
    const manifest = require.resolve(`${name}/package.json`, { paths: [repoRoot] });
    return (JSON.parse(fs.readFileSync(manifest, "utf8")) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The engine's environment: toolchain first on PATH, no update checks. */
function pulumiEnv(toolchain: PulumiToolchain, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, PATH: enginePath(toolchain, env.PATH ?? ""), PULUMI_SKIP_UPDATE_CHECK: "true" };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs / 1000}s`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.trim() ?? "";
}

function errorLine(error: unknown): string {
  return firstLine(error instanceof Error ? error.message : String(error));
}
