import * as fs from "node:fs";
import * as path from "node:path";
import type { ParseArgsOptionsConfig } from "node:util";

import { ConfigError } from "../config/errors";
import { EXIT_CODES } from "../domain/errors";
import { parseTidegateFile } from "../config/parse";
import { type ResolvedConfig, type ResolvedSettings, resolveSettings } from "../config/resolve";
import { fileUrl } from "../config/url";
import type { IsDead, ListedEnvironment, Store } from "../adapters/store/port";
import { type CommandArgs, type CommandContext, UsageError } from "./command";

// What the commands that only read share (status, report, audit, token): which configuration a
// command line means, its settings, and the store. Kept apart from context.ts, whose engine,
// logger and toolchain modules take longer to load than `tidegate status` may take in all.

export const CONFIG_OPTIONS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

export const CONFIG_HELP = [
  "  --config <file>     tidegate.yaml (default: ./tidegate.yaml if it exists, else the embedded",
  "                      default that `tidegate run` wrote in the data directory)",
  "  --data-dir <dir>    The data directory (default: the configuration's dataDir; ./.tidegate for",
  "                      the embedded default)",
];

/** The embedded default's data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = ".tidegate";
const CONFIG_FILE = "tidegate.yaml";

export interface ConfigChoice {
  path: string;
  /** The embedded default that `tidegate run` wrote (its stacks talk to the AWS emulator). */
  embedded: boolean;
}

/** A string option's value; undefined when absent. */
export function stringOption(args: CommandArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}

export function flag(args: CommandArgs, name: string): boolean {
  return args.values[name] === true;
}

/** The data directory the command line names (`--data-dir`), absolute; undefined when absent. */
export function dataDirOption(args: CommandArgs, cwd = process.cwd()): string | undefined {
  const dir = stringOption(args, "data-dir");
  return dir === undefined ? undefined : path.resolve(cwd, dir);
}

/**
 * `--config`, else `./tidegate.yaml`, else the embedded default in the data directory
 * (`--data-dir` or `./.tidegate`); undefined when there is none.
 */
export function findConfig(args: CommandArgs, cwd = process.cwd()): ConfigChoice | undefined {
  const given = stringOption(args, "config");
  if (given !== undefined) return { path: path.resolve(cwd, given), embedded: false };
  const local = path.join(cwd, CONFIG_FILE);
  if (fs.existsSync(local)) return { path: local, embedded: false };
  const embedded = path.join(dataDirOption(args, cwd) ?? path.join(cwd, DEFAULT_DATA_DIR), CONFIG_FILE);
  if (fs.existsSync(embedded)) return { path: embedded, embedded: true };
  return undefined;
}

export function requireConfig(args: CommandArgs, command: string, cwd = process.cwd()): ConfigChoice {
  const found = findConfig(args, cwd);
  if (found) return found;
  const dataDir = dataDirOption(args, cwd) ?? path.join(cwd, DEFAULT_DATA_DIR);
  throw new UsageError(
    `no configuration: no ./${CONFIG_FILE} and no embedded default in ${dataDir}. Run \`tidegate run\` first (it sets up the embedded example), or pass --config <file>`,
    command,
  );
}

/**
 * The data directory, for commands that need nothing else: `--data-dir` alone is enough; otherwise
 * the configuration's (tidegate.yaml only: the environment files in Git are not read).
 */
export function settingsDataDir(args: CommandArgs, command: string): string {
  return dataDirOption(args) ?? storeSettings(args, command).dataDir;
}

/**
 * The data directory and the store (tidegate.yaml only), for commands that open the store and
 * nothing else. `--data-dir` alone is enough when there is no configuration to name a store.
 */
export function storeSettings(
  args: CommandArgs,
  command: string,
): Pick<ResolvedSettings, "dataDir" | "store"> {
  const given = dataDirOption(args);
  const choice = given === undefined ? requireConfig(args, command) : findConfig(args);
  if (choice === undefined) return { dataDir: given as string };
  const parsed = parseTidegateFile(choice.path, fs.readFileSync(choice.path, "utf8"));
  if (!parsed.value) throw new ConfigError(parsed.issues);
  const settings = resolveSettings(parsed.value, path.dirname(choice.path), choice.path);
  return { dataDir: given ?? settings.dataDir, ...(settings.store ? { store: settings.store } : {}) };
}

/**
 * Runs a command; a ConfigError prints every issue, one per line, and gives the exit code of kind
 * `invalid`. Nothing has
 * been written by then: the configuration is loaded before anything is created.
 */
export async function withConfigErrors(
  context: Pick<CommandContext, "stderr">,
  run: () => Promise<number>,
): Promise<number> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const count = error.issues.length;
    context.stderr(
      `tidegate: the configuration has ${count} ${count === 1 ? "problem" : "problems"}:\n${error.message}\n`,
    );
    return EXIT_CODES[error.kind];
  }
}

/** The configuration with another data directory; a default file:// backend moves with it. */
export function withDataDir(config: ResolvedConfig, dataDir: string): ResolvedConfig {
  const dir = path.resolve(dataDir);
  if (dir === config.dataDir) return config;
  const defaultBackend = fileUrl(path.join(config.dataDir, "state"));
  const backendUrl =
    config.backendUrl === defaultBackend ? fileUrl(path.join(dir, "state")) : config.backendUrl;
  return { ...config, dataDir: dir, backendUrl };
}

export interface ReadContext {
  dataDir: string;
  /** The configured environments in promotion order; undefined when Git could not be read. */
  environments?: { name: string; branch: string; stack: string }[];
  /** The store, when the data directory holds one; never created here. */
  store?: Store;
  /** Whether a run's owner is gone (its run shows as Interrupted). */
  isOwnerDead: IsDead;
  close(): Promise<void>;
}

/**
 * For the commands that only read (status, report): the store, nothing started, nothing created.
 * The environments are the list the engine last wrote to the store (no Git, no environment files);
 * a store without one (never written by this version) falls back to the environment files as last
 * fetched, and when those cannot be read (the remote is down) the store alone is shown, with a warning.
 */
export async function openForReading(
  args: CommandArgs,
  command: string,
  warn: (message: string) => void,
): Promise<ReadContext> {
  const choice = requireConfig(args, command);
  const override = dataDirOption(args);
  const settings = tidegateSettings(choice.path, override);
  const [{ openExistingStore, storeSpec }, { ownerDeadness }] = await Promise.all([
    import("../adapters/store/spec.js"),
    import("../adapters/owner.js"),
  ]);
  const store = await openExistingStore(storeSpec(settings));
  const close = async () => await store?.close();
  try {
    const environments = (await store?.environmentList()) ?? (await environmentsFromGit(choice.path, warn));
    return { dataDir: settings.dataDir, environments, store, isOwnerDead: ownerDeadness(), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** tidegate.yaml alone (the environment files in Git are not read); `dataDir` overrides its data directory. */
function tidegateSettings(file: string, dataDir?: string): Pick<ResolvedSettings, "dataDir" | "store"> {
  const parsed = parseTidegateFile(file, fs.readFileSync(file, "utf8"));
  if (!parsed.value) throw new ConfigError(parsed.issues);
  const settings = resolveSettings(parsed.value, path.dirname(file), file);
  return { dataDir: dataDir ?? settings.dataDir, ...(settings.store ? { store: settings.store } : {}) };
}

/** The environments from their files at the config ref as last fetched; undefined when Git cannot be read. */
async function environmentsFromGit(
  configPath: string,
  warn: (message: string) => void,
): Promise<ListedEnvironment[] | undefined> {
  // Not through compose.ts, whose engine (the Pulumi SDK) takes longer to load than status may.
  const [{ loadConfig }, { environmentFilesReader }] = await Promise.all([
    import("../config/load.js"),
    import("../adapters/git/config-files.js"),
  ]);
  try {
    const config = await loadConfig({
      configPath,
      readEnvironmentFiles: environmentFilesReader({ fetch: false }),
    });
    return config.environments.map(({ name, branch, stack, stacks }) => ({
      name,
      branch,
      stack,
      ...(stacks.length > 1 ? { stacks: stacks.map((s) => ({ name: s.name })) } : {}),
    }));
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    warn(`cannot read the environment definitions (${firstLine(error)}); showing what the store holds`);
    return undefined;
  }
}

export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim().split("\n")[0] ?? "";
}
