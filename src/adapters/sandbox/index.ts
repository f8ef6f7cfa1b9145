import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import type { SandboxMode } from "../../config/schema";
import type { PulumiToolchain } from "../pulumi/toolchain";
import { bubblewrapArgs, probeBubblewrap, systemPaths, type ProbeResult } from "./bubblewrap";
import { isolateStackState, referencedStackState, SandboxError } from "./state";
import type { StackReferenceTarget } from "./references";
import { containedScript, wrapperScript, writeWrapper } from "./wrapper";
import { probeContainment } from "./contain";
import { PROXY_VARIABLES } from "../targets/process-env";

export { SandboxError } from "./state";
export { readableStacks, type StackReferenceTarget } from "./references";
export { probeBubblewrap, sandboxDiagnosis } from "./bubblewrap";
export { containmentDiagnosis, probeContainment, type Containment } from "./contain";

export interface SandboxOptions {
  mode: SandboxMode;
  /** Where each environment's wrapper and Pulumi home go (`<dataDir>/sandbox`). */
  dir: string;
  backendUrl: string;
  toolchain: PulumiToolchain;
  /** Installed node_modules trees: read-only inside. */
  dependencyCacheDir: string;
  bwrap?: string;
  /**
   * Folders of Pulumi provider plugins the engine puts on the stacks' PATH (a local build, say):
   * read-only inside, and on the sandbox's PATH after the toolchain.
   */
  providerDirs?: readonly string[];
  /** Told once when `auto` finds no working bubblewrap and runs stacks unsandboxed. */
  onUnavailable?: (detail: string) => void;
}

export interface SandboxRequest {
  environment: string;
  stack: string;
  /** Folder with Pulumi.yaml, inside the environment's worktree. */
  projectDir: string;
  /** Names of the variables the caller gives the stack's engine; only these (and Pulumi's own) get in. */
  envNames: string[];
  /** The environment's own backend, when it has one; default: the engine-wide backend. */
  backendUrl?: string;
  /** Files outside the worktree the stack's processes read (its kubeconfig): bound read-only. */
  files?: string[];
  /**
   * Stacks of the same environment this one reads through stack references (see
   * readableStacks): on a file:// backend their checkpoints are bound read-only.
   */
  references?: readonly StackReferenceTarget[];
}

/** What the stack is opened with instead of the shared toolchain and Pulumi home. */
export interface SandboxedStack {
  toolchain: PulumiToolchain;
  pulumiHome: string;
}

/** The variables PulumiStack and the Automation API set for the CLI. */
const ENGINE_ENV = [
  "PULUMI_BACKEND_URL",
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_SKIP_UPDATE_CHECK",
  "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING",
  "PULUMI_HOME",
  "PULUMI_AUTOMATION_API",
  "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK",
  "PULUMI_EXPERIMENTAL",
  // The Automation API's hidden flags (--event-log) need it.
  "PULUMI_DEBUG_COMMANDS",
  // The run's span, parent of Pulumi's own (--otel-traces): ids only.
  "TRACEPARENT",
  // drift.ignore rules as ignoreChanges, and the Node.js hook that applies them (pulumi/ignore-changes.ts).
  "TIDEGATE_IGNORE_CHANGES",
  "NODE_OPTIONS",
];

/** The host's network settings (trusted CAs, proxies, locale): shared by every environment, no secret of one. */
const HOST_ENV = ["LANG", "LC_ALL", "TZ", ...PROXY_VARIABLES];
/** Variables naming a CA file or folder: passed on, and what they name bound read-only. */
const HOST_CA_ENV = ["SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "AWS_CA_BUNDLE"];

/**
 * Runs each environment's Pulumi work (previews, drift previews, updates, policy packs, and the
 * program they start) in bubblewrap, seeing only the toolchain, Node, the dependency cache (all
 * read-only), and, read-write, its worktree, its own Pulumi home and its own stack's state; read-only,
 * the checkpoints of the stacks of its environment it depends on (its stack references).
 */
export class StackSandbox {
  private probed?: Promise<ProbeResult>;

  constructor(private readonly options: SandboxOptions) {}

  /** Whether stacks run sandboxed; `auto` probes bubblewrap once. */
  async enabled(): Promise<boolean> {
    if (this.options.mode === "off") return false;
    if (!this.probed) {
      this.probed = probeBubblewrap(this.bwrap).then((result) => {
        if (!result.ok && this.options.mode === "auto") this.options.onUnavailable?.(result.detail);
        return result;
      });
    }
    const result = await this.probed;
    if (result.ok) return true;
    if (this.options.mode === "bubblewrap") {
      throw new SandboxError(`sandbox: bubblewrap is configured in tidegate.yaml but ${result.detail}`);
    }
    return false;
  }

  /**
   * The toolchain (and Pulumi home) to open the stack with: the CLI always goes through a wrapper
   * that contains it (see contain.ts); sandboxed, the wrapper also isolates it, with its own home.
   */
  async forStack(request: SandboxRequest): Promise<SandboxedStack | Pick<SandboxedStack, "toolchain">> {
    const { toolchain } = this.options;
    const area = path.join(this.options.dir, safeSegment(request.environment));
    if (!(await this.enabled())) {
      const containment = await probeContainment(this.bwrap);
      const script = containedScript({
        bwrap: this.bwrap,
        pulumi: path.join(toolchain.binDir, "pulumi"),
        containment: containment.level,
      });
      const root = path.join(area, "contained");
      return { toolchain: { root, binDir: writeWrapper(root, script) } };
    }
    const project = projectName(request.projectDir);
    const home = path.join(area, "home");
    // Each stack its own: the stacks of an environment of several open while others still run.
    const tmp = privateTmp(path.join(area, "tmp", safeSegment(`${project}.${request.stack}`)));
    const root = path.join(area, "projects", project);
    fs.mkdirSync(home, { recursive: true });
    fs.mkdirSync(this.options.dependencyCacheDir, { recursive: true });
    const backendUrl = request.backendUrl ?? this.options.backendUrl;
    const backendDir = backendUrl.startsWith("file://") ? fileURLToPath(backendUrl) : undefined;
    const worktree = worktreeOf(request.projectDir);
    for (const shared of [backendDir, this.options.dir]) {
      if (shared !== undefined && isInside(shared, worktree)) {
        throw new SandboxError(
          `cannot sandbox ${request.projectDir}: its worktree ${worktree} holds ${shared}, which every environment shares`,
        );
      }
    }
    const state = backendDir
      ? isolateStackState(backendDir, project, request.stack)
      : { readOnly: [], readWrite: [] };
    // A stack of its own project is not offered: its binds would land in its own writable folder.
    const references = backendDir
      ? referencedStackState(
          backendDir,
          (request.references ?? [])
            .map((ref) => ({ project: projectName(ref.projectDir), stack: ref.stack }))
            .filter((ref) => ref.project !== project),
        )
      : [];
    const args = bubblewrapArgs({
      system: systemPaths(),
      readOnly: [
        { from: toolchain.root },
        { from: path.dirname(process.execPath) },
        { from: this.options.dependencyCacheDir },
        ...(this.options.providerDirs ?? []).map((from) => ({ from })),
        ...state.readOnly,
        ...references,
        ...hostCaPaths().map((from) => ({ from })),
        ...(request.files ?? []).map((from) => ({ from })),
      ],
      readWrite: [{ from: worktree }, { from: home }, ...state.readWrite],
      tmp,
    });
    const script = wrapperScript({
      bwrap: this.bwrap,
      args,
      pulumi: path.join(toolchain.binDir, "pulumi"),
      keepEnv: [...ENGINE_ENV, ...HOST_ENV, ...HOST_CA_ENV, ...request.envNames],
      setEnv: {
        PATH: [
          toolchain.binDir,
          ...(this.options.providerDirs ?? []),
          path.dirname(process.execPath),
          "/usr/local/bin",
          "/usr/bin",
          "/bin",
        ].join(":"),
        HOME: home,
        TMPDIR: "/tmp",
      },
      hostTmp: os.tmpdir(),
      containment: (await probeContainment(this.bwrap)).level === "none" ? "none" : "namespace",
    });
    return { toolchain: { root, binDir: writeWrapper(root, script) }, pulumiHome: home };
  }

  private get bwrap(): string {
    return this.options.bwrap ?? "bwrap";
  }
}

/**
 * A stack's own /tmp, made if missing. bwrap leaves an empty folder in it for each bind under the
 * host's /tmp (the Automation API's, a worktree there); those are removed first so they do not pile
 * up over runs. Only one run of an environment opens a stack at a time, and removing such a folder
 * under a running sandbox would cut its way to the worktree: hence one per stack.
 */
function privateTmp(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const prune = (folder: string): boolean => {
    let empty = true;
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const inside = path.join(folder, entry.name);
      if (entry.isDirectory() && prune(inside)) fs.rmdirSync(inside);
      else empty = false;
    }
    return empty;
  };
  prune(dir);
  return dir;
}

/** CA files the host's settings name, outside the system folders bound anyway. */
function hostCaPaths(): string[] {
  const paths = HOST_CA_ENV.map((name) => process.env[name]).filter(
    (p): p is string => p !== undefined && path.isAbsolute(p) && fs.existsSync(p),
  );
  return [...new Set(paths)].filter((p) => !["/usr/", "/etc/ssl/", "/etc/pki/"].some((d) => p.startsWith(d)));
}

function projectName(projectDir: string): string {
  const file = path.join(projectDir, "Pulumi.yaml");
  let name: unknown;
  try {
    name = (parseYaml(fs.readFileSync(file, "utf8")) as { name?: unknown } | null)?.name;
  } catch (err) {
    throw new SandboxError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof name !== "string" || name === "") throw new SandboxError(`${file}: 'name' is missing`);
  return name;
}

function safeSegment(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith(".")) {
    throw new SandboxError(`cannot sandbox environment '${name}': expected a plain name`);
  }
  return name;
}

function isInside(inner: string, outer: string): boolean {
  const rel = path.relative(path.resolve(outer), path.resolve(inner));
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** The Git worktree holding the project (its nearest folder with `.git`), or the project itself. */
function worktreeOf(projectDir: string): string {
  const start = path.resolve(projectDir);
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, ".git"))) return dir;
    if (path.dirname(dir) === dir) return start;
  }
}

/**
 * The folders on a PATH that hold Pulumi provider plugins (`pulumi-resource-*`): those a sandbox
 * must keep in sight for the stacks to find their providers. Missing folders are left out.
 */
export function providerDirsOn(pathValue: string | undefined): string[] {
  const dirs = (pathValue ?? "").split(path.delimiter).filter((dir) => path.isAbsolute(dir));
  return [...new Set(dirs)].filter((dir) => {
    try {
      return fs.readdirSync(dir).some((name) => name.startsWith("pulumi-resource-"));
    } catch {
      return false;
    }
  });
}
