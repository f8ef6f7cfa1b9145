import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { installProcessEnv } from "../targets/process-env";
import { DependencyError, npmFailure } from "./npm-errors";
import { killGroup, withParentDeath } from "../sandbox/contain";
import { TidegateError } from "../../domain/errors";

export interface DependencyOptions {
  /** Folder with Pulumi.yaml. */
  projectDir: string;
  /** Shared, content-addressed cache of installed node_modules trees. */
  cacheDir: string;
  /** npm's whole environment (see src/adapters/targets); default: the install allowlist of tidegate's own. */
  env?: Record<string, string>;
  /**
   * Run npm lifecycle scripts (the package's and its dependencies' preinstall, postinstall, ...);
   * default false: code from the branch runs only inside Pulumi, never at install.
   */
  scripts?: boolean;
  onOutput?: (line: string) => void;
  /** The deadline of one npm install; default DEFAULT_INSTALL_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** timeouts.install when tidegate.yaml sets none. */
export const DEFAULT_INSTALL_TIMEOUT_MS = 15 * 60_000;

/** An npm install that outlived its deadline; npm and everything it started were stopped. */
export class InstallTimeoutError extends TidegateError {
  constructor(cwd: string, ms: number) {
    super(
      "timeout",
      `npm install in ${cwd} did not finish within ${Math.round(ms / 1000)}s and was stopped`,
      {
        recovery:
          "check that the npm registry (or the proxy in .npmrc) answers from this machine, or raise timeouts.install in tidegate.yaml",
      },
    );
    this.name = "InstallTimeoutError";
  }
}

export interface DependencyResult {
  /** Folder whose package.json was installed. */
  packageDir: string;
  /** Hash of the lockfile (or package.json) and the Node major: the cache key. */
  key: string;
  /** True only when npm ran; an unchanged lockfile costs no install. */
  installed: boolean;
  /** True when node_modules had to be (re)linked to the cache. */
  linked: boolean;
}

export { DependencyError } from "./npm-errors";

/**
 * The folder of the program: Pulumi.yaml's `main` when set (a folder or a file), else the project.
 * A policy pack has PulumiPolicy.yaml instead, with the same `main`.
 */
export function programDir(projectDir: string): string {
  const policyFile = path.join(projectDir, "PulumiPolicy.yaml");
  const projectFile = path.join(projectDir, "Pulumi.yaml");
  const file = !fs.existsSync(projectFile) && fs.existsSync(policyFile) ? policyFile : projectFile;
  const project = (parseYaml(fs.readFileSync(file, "utf8")) ?? {}) as { main?: unknown };
  if (typeof project.main !== "string" || project.main === "") return projectDir;
  const main = path.resolve(projectDir, project.main);
  return fs.existsSync(main) && fs.statSync(main).isDirectory() ? main : path.dirname(main);
}

/** The folder whose package.json (and node_modules) the program runs with: from its main folder up to the project. */
export function packageDirOf(projectDir: string): string {
  const stop = path.resolve(projectDir);
  for (let dir = programDir(projectDir); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (dir === stop || path.dirname(dir) === dir) {
      throw new DependencyError(
        `no package.json for the Pulumi program in ${projectDir} (looked from its main folder up)`,
      );
    }
  }
}

/**
 * What an installed tree depends on: the lockfile, package.json (its scripts and dependencies),
 * the Node major, and whether scripts ran.
 */
function cacheKey(packageDir: string, scripts: boolean): string {
  const hash = createHash("sha256");
  for (const file of ["package-lock.json", "package.json"]) {
    const at = path.join(packageDir, file);
    hash.update(`${file}:`).update(fs.existsSync(at) ? fs.readFileSync(at) : "(none)");
  }
  const nodeMajor = process.versions.node.split(".")[0];
  return hash
    .update(`node${nodeMajor}`)
    .update(scripts ? "scripts" : "no-scripts")
    .digest("hex")
    .slice(0, 16);
}

/**
 * Makes the program's dependencies available: node_modules in the program's package folder is a
 * link to a cache entry keyed by the lockfile, so a check whose lockfile did not change runs no
 * install at all, and environments on the same lockfile share one tree.
 */
export async function ensureDependencies(options: DependencyOptions): Promise<DependencyResult> {
  const packageDir = packageDirOf(options.projectDir);
  const key = cacheKey(packageDir, options.scripts ?? false);
  const entry = path.join(options.cacheDir, key);
  let installed = false;
  if (!fs.existsSync(path.join(entry, ".complete"))) {
    await install(packageDir, entry, options);
    installed = true;
  }
  const linked = link(path.join(packageDir, "node_modules"), path.join(entry, "node_modules"));
  return { packageDir, key, installed, linked };
}

function link(at: string, target: string): boolean {
  try {
    if (fs.readlinkSync(at) === target) return false;
  } catch {
    // Not a link (absent, or a real folder from an earlier install): replaced below.
  }
  fs.rmSync(at, { recursive: true, force: true });
  fs.symlinkSync(target, at, "dir");
  return true;
}

async function install(packageDir: string, entry: string, options: DependencyOptions): Promise<void> {
  fs.mkdirSync(options.cacheDir, { recursive: true });
  // Installed in a scratch folder and renamed into place, so an interrupted install is never used.
  const scratch = path.join(options.cacheDir, `.install-${randomBytes(6).toString("hex")}`);
  fs.mkdirSync(scratch);
  try {
    const hasLock = fs.existsSync(path.join(packageDir, "package-lock.json"));
    for (const file of ["package.json", "package-lock.json", ".npmrc"]) {
      const from = path.join(packageDir, file);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(scratch, file));
    }
    const args = hasLock ? ["ci"] : ["install"];
    const scripts = options.scripts ? [] : ["--ignore-scripts"];
    // A package in npm's cache is used as it is, never revalidated against the registry: a changed
    // lockfile of cached packages installs without network (npm asks only for what it lacks).
    await runNpm(
      [...args, ...scripts, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"],
      scratch,
      options,
      packageDir,
    );
    fs.writeFileSync(path.join(scratch, ".complete"), new Date().toISOString());
    try {
      fs.renameSync(scratch, entry);
    } catch (err) {
      // Another install of the same lockfile won the race; its tree is as good as ours.
      if (!fs.existsSync(path.join(entry, ".complete"))) throw err;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function runNpm(args: string[], cwd: string, options: DependencyOptions, packageDir: string): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_INSTALL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const [program, ...rest] = withParentDeath(["npm", ...args]);
    // A session of its own (the terminal's Ctrl-C is tidegate's to handle), dying with tidegate.
    const child = spawn(program, rest, {
      cwd,
      env: options.env ?? installProcessEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const onExit = (): void => killGroup(child.pid, "SIGKILL");
    process.on("exit", onExit);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, "SIGKILL");
    }, timeoutMs);
    const tail: string[] = [];
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString().split("\n").filter(Boolean)) {
        tail.push(line);
        // npm names the cause near the top (EUSAGE) or the bottom: keep enough of both.
        if (tail.length > 200) tail.shift();
        options.onOutput?.(line);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const done = (): void => {
      clearTimeout(timer);
      process.removeListener("exit", onExit);
    };
    child.on("error", (err) => {
      done();
      reject(new DependencyError(`cannot run npm: ${err.message}`, { cause: err }));
    });
    child.on("close", (code) => {
      done();
      // What npm left behind (a hung lifecycle script) goes with it.
      killGroup(child.pid, "SIGKILL");
      if (timedOut) reject(new InstallTimeoutError(cwd, timeoutMs));
      else if (code === 0) resolve();
      else reject(npmFailure(args[0] ?? "install", tail, packageDir));
    });
  });
}
