import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { inject } from "vitest";
import { parse, stringify } from "yaml";
import { awsEnvVars } from "../../src/devenv/emulator";
import type { Engine } from "../../src/app/engine";
import { dataPaths } from "../../src/config/paths";
import { createLogger } from "../../src/log";
import { KnownSecrets } from "../../src/log/redact";
import { PulumiStack } from "../../src/adapters/pulumi/stack";
import { composeEngine, loadEngineConfig } from "../../src/compose";
import { exampleRepositoryFiles, PROJECT, writeTidegateConfig } from "./example";
import { createGitRemote, type GitRemoteFixture } from "./git";

export { PROJECT };

export interface EnvironmentSpec {
  name: string;
  sync: "auto" | "gated";
  drift: "report" | "remediate";
  /** The `gates` block of the environment file, as written in YAML. */
  gates?: Record<string, unknown>;
  /** More keys of the environment file (credentials, config, ...), as written in YAML. */
  definition?: Record<string, unknown>;
}

export interface EngineFixture {
  remote: GitRemoteFixture;
  /** Stack names are `<prefix>-<env>`, unique per fixture so tests never share emulator objects. */
  prefix: string;
  passphrase: string;
  configPath: string;
  engine: Engine;
  /** Every log line the engine wrote, as text. */
  logs: string[];
  stackName(env: string): string;
  /** Repository-relative path of an environment's stack config file. */
  stackConfigFile(env: string): string;
  /** Commits files on an environment's branch in the work clone and pushes them. */
  commitTo(
    branch: string,
    files: Record<string, string>,
    message: string,
    author?: { name: string; email: string },
  ): Promise<string>;
  /** Removes files on an environment's branch in the work clone, commits and pushes. */
  removeFrom(branch: string, files: string[], message: string): Promise<string>;
  /** A file as it is on the remote's branch now. */
  readAt(branch: string, file: string): Promise<string>;
  /** Sets the engines' clock (windows, soak, times recorded): a time, a function, or undefined for the real one. */
  setNow(now: Date | (() => Date) | undefined): void;
  /** Another engine on the same repository and backend, with its own data directory (and passphrase). */
  secondEngine(options?: { passphrase?: string }): Promise<Engine>;
  cleanup(): Promise<void>;
}

/** node_modules trees installed by the engine tests, kept between runs. */
export const DEPENDENCY_CACHE = path.join(os.tmpdir(), "tidegate-it-deps");

/**
 * A real repository (bare remote + work clone) seeded with the example stack and one branch per
 * environment, a tidegate.yaml for it, and an Engine on a file:// backend in a temporary folder,
 * with the stacks talking to the emulator the global setup started.
 */
export async function createEngineFixture(
  environments: EnvironmentSpec[],
  options: {
    /** The repository's files instead of the example's, given the fixture's stack names. */
    files?: (stackName: (env: string) => string) => Record<string, string>;
  } = {},
): Promise<EngineFixture> {
  const remote = await createGitRemote();
  const prefix = `t${randomBytes(3).toString("hex")}`;
  const stackName = (env: string) => `${prefix}-${env}`;
  const stackConfigFile = (env: string) => `${PROJECT}/Pulumi.${stackName(env)}.yaml`;

  const files =
    options.files?.(stackName) ??
    exampleRepositoryFiles(environments.map((env) => ({ ...env, stack: stackName(env.name) })));
  await remote.commitFiles(files, "Seed the platform stack and its environments");
  await remote.push("main");
  for (const env of environments) {
    await remote.switchBranch(env.name, "main");
    await remote.push(env.name);
  }
  await remote.switchBranch("main");

  const passphrase = randomBytes(16).toString("hex");
  const configPath = writeTidegateConfig(remote.root, remote.url, passphrase);

  const logs: string[] = [];
  let clock: Date | (() => Date) | undefined;
  const open = async (dataDir?: string, enginePassphrase = passphrase): Promise<Engine> => {
    const loaded = await loadEngineConfig(configPath);
    const config = dataDir ? { ...loaded, dataDir } : loaded;
    const stream = new PassThrough();
    stream.on("data", (chunk: Buffer) => logs.push(...chunk.toString().split("\n").filter(Boolean)));
    const knownSecrets = new KnownSecrets([enginePassphrase]);
    return composeEngine({
      config,
      toolchain: inject("toolchain"),
      log: createLogger({ mode: "json", level: "debug", stream, secrets: () => knownSecrets }),
      passphrase: enginePassphrase,
      knownSecrets,
      stackEnv: awsEnvVars(inject("aws")),
      dependencyCacheDir: DEPENDENCY_CACHE,
      versions: { tidegate: "test", pulumi: "test", node: process.version },
      now: () => (typeof clock === "function" ? clock() : (clock ?? new Date())),
    });
  };
  const engines: Engine[] = [];
  const engine = await open();
  engines.push(engine);

  return {
    remote,
    prefix,
    passphrase,
    configPath,
    engine,
    logs,
    stackName,
    stackConfigFile,
    async commitTo(branch, changed, message, author) {
      await remote.switchBranch(branch);
      await remote.git("pull", "--quiet", "--ff-only", "origin", branch);
      const sha = await remote.commitFiles(changed, message, author);
      await remote.push(branch);
      await remote.switchBranch("main");
      return sha;
    },
    async removeFrom(branch, files, message) {
      await remote.switchBranch(branch);
      await remote.git("pull", "--quiet", "--ff-only", "origin", branch);
      const sha = await remote.removeFiles(files, message);
      await remote.push(branch);
      await remote.switchBranch("main");
      return sha;
    },
    async readAt(branch, file) {
      await remote.git("fetch", "--quiet", "origin", branch);
      return `${await remote.git("show", `FETCH_HEAD:${file}`)}\n`;
    },
    setNow(now) {
      clock = now;
    },
    async secondEngine(options = {}) {
      const second = await open(path.join(remote.root, `data-${engines.length + 1}`), options.passphrase);
      engines.push(second);
      return second;
    },
    async cleanup() {
      for (const e of engines) await e.close();
      remote.cleanup();
    },
  };
}

/** The report files a check wrote, as text (JSON and Markdown). */
export function reportTexts(dataDir: string): string[] {
  const dir = dataPaths(dataDir).reports;
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else out.push(fs.readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return out;
}

/**
 * Sets stack config values as a developer would (`pulumi config set [--secret]` in a clone of the
 * environment's branch), commits the stack config file and pushes it; returns the file as committed.
 * The deployed salt is pinned first: without it Pulumi would encrypt with a new salt, and tidegate
 * refuses a committed salt that would replace the deployed stack's.
 */
export async function setStackConfig(
  f: EngineFixture,
  env: string,
  options: { passphrase: string; values: Record<string, string>; secret: boolean; message: string },
): Promise<string> {
  const clone = path.join(f.remote.workDir, PROJECT);
  await f.remote.switchBranch(env);
  await f.remote.git("pull", "--quiet", "--ff-only", "origin", env);
  const modules = path.join(clone, "node_modules");
  fs.symlinkSync(path.join(__dirname, "..", "..", "node_modules"), modules);
  try {
    const stack = await PulumiStack.open({
      workDir: clone,
      stackName: f.stackName(env),
      backendUrl: `file://${path.join(path.dirname(f.configPath), "state")}`,
      passphrase: options.passphrase,
      toolchain: inject("toolchain"),
    });
    await stack.verifySecrets();
    for (const [key, value] of Object.entries(options.values))
      await stack.setConfig(key, value, options.secret);
  } finally {
    fs.unlinkSync(modules);
  }
  const file = fs.readFileSync(path.join(f.remote.workDir, f.stackConfigFile(env)), "utf8");
  await f.remote.commitFiles({ [f.stackConfigFile(env)]: file }, options.message);
  await f.remote.push(env);
  await f.remote.switchBranch("main");
  return file;
}

/** Never fires while a test runs: only the startup checks and the requests explain a run. */
export const YEARLY = "0 0 1 1 *";

/**
 * Rewrites a fixture's tidegate.yaml for a `tidegate run` a test drives: no scheduled looks, the
 * server on a free loopback port (its URL is read from what `run` prints), and `extra` top-level
 * keys (a `server` in `extra` is merged into that one).
 */
export function configureServed(configPath: string, extra: Record<string, unknown> = {}): void {
  const config = parse(fs.readFileSync(configPath, "utf8")) as Record<string, unknown>;
  const { server, ...rest } = extra;
  fs.writeFileSync(
    configPath,
    stringify({
      ...config,
      defaults: { schedule: { poll: YEARLY, drift: YEARLY } },
      server: { listen: "127.0.0.1:0", ...(server as Record<string, unknown> | undefined) },
      ...rest,
    }),
  );
}
