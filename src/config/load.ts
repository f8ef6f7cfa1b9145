import type { Dirent } from "node:fs";
import * as fs from "node:fs/promises";
import * as path from "node:path";

import { repoRoot } from "./repo";
import { ConfigError } from "./errors";
import { type ParsedFile, parseEnvironmentFile, parseTidegateFile } from "./parse";
import {
  buildConfig,
  EMBEDDED_CONFIG,
  environmentsSources,
  type ResolvedConfig,
  type ResolvedRepository,
  resolveRepository,
} from "./resolve";
import { repositoryFile } from "./repositories";
import { type Repository, type RepositoryEntry, TidegateFile } from "./schema";

// The I/O around parse and resolve: read tidegate.yaml, read the environment files from where it
// says (a Git ref, through the injected reader), then hand everything to buildConfig. Writes nothing.

export interface EnvironmentFileText {
  /** The file as reported in issues, e.g. "environments/prod.yaml". */
  file: string;
  text: string;
}

/**
 * Reads the `.yaml` files of `dir` (relative to the repository root) as they are at Git ref `ref`
 * of `repository` (as configured; local paths made absolute, with its token source).
 * A folder that does not exist gives no files.
 */
export type ReadEnvironmentFiles = (
  dir: string,
  ref: string,
  repository: ResolvedRepository,
) => Promise<EnvironmentFileText[]>;

export interface LoadConfigOptions {
  /** tidegate.yaml; without it the embedded default is used. */
  configPath?: string;
  /** Where the embedded default is anchored; default: the tidegate checkout this code runs from. */
  defaultDir?: string;
  readEnvironmentFiles: ReadEnvironmentFiles;
}

/** The resolved configuration, or a ConfigError listing every problem in every file. */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  const { configPath } = options;
  const tidegate =
    configPath === undefined ? undefined : parseTidegateFile(configPath, await readConfigFile(configPath));
  const configFile = configPath === undefined ? undefined : path.resolve(configPath);
  const configDir = configFile === undefined ? (options.defaultDir ?? repoRoot()) : path.dirname(configFile);
  const repositories = repositoriesOf(tidegate, configDir);
  const environments = await Promise.all(
    environmentsSources(tidegate?.data).map(async ({ name, dir, ref }, index) => {
      const texts = await options.readEnvironmentFiles(dir, ref, repositories[index] as ResolvedRepository);
      return texts.map(({ file, text }) => ({
        ...parseEnvironmentFile(repositoryFile(name, file), text),
        ...(name === undefined ? {} : { repository: name }),
      }));
    }),
  );
  return buildConfig({ configDir, configFile, tidegate, environments: environments.flat() });
}

/**
 * The repositories the environment files are read from, in the order environmentsSources lists
 * them. Without a usable repository (or list) nothing can be read, so tidegate.yaml's own issues
 * (all of them) are reported at once.
 */
function repositoriesOf(
  tidegate: ParsedFile<TidegateFile> | undefined,
  configDir: string,
): ResolvedRepository[] {
  if (tidegate === undefined) return [resolveRepository(EMBEDDED_CONFIG.repository, configDir)];
  const blocking = tidegate.issues.some(
    (issue) => issue.path === "" || /^repositor(y|ies)(\.|\[|$)/.test(issue.path),
  );
  const data = asRecord(tidegate.data);
  const single = TidegateFile.shape.repository.safeParse(data.repository).data;
  const several = TidegateFile.shape.repositories.safeParse(data.repositories).data;
  const repositories = several ?? (single ? [single] : undefined);
  if (blocking || repositories === undefined) throw new ConfigError(tidegate.issues);
  return repositories.map((repository) => resolveRepository(repositoryOnly(repository), configDir));
}

/** The Git fields of a repository entry. */
function repositoryOnly(entry: Repository & Partial<RepositoryEntry>): Repository {
  const { name: _name, backend: _backend, environmentsDir: _dir, configRef: _ref, ...repository } = entry;
  return repository;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * The `.yaml` and `.yml` files of a plain folder, in name order, each reported as
 * `<label>/<name>`. A folder that does not exist holds no files.
 */
export async function loadEnvironmentsFromDir(dir: string, label = dir): Promise<EnvironmentFileText[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const yamlNames = entries
    .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    yamlNames.map(async (name) => ({
      file: path.join(label, name),
      text: await fs.readFile(path.join(dir, name), "utf8"),
    })),
  );
}

async function readConfigFile(configPath: string): Promise<string> {
  try {
    return await fs.readFile(configPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    throw new ConfigError(
      [
        {
          file: configPath,
          path: "",
          message: "does not exist",
          expected:
            "a tidegate.yaml (see tidegate.example.yaml), or no config path to use the embedded default",
        },
      ],
      { cause: error },
    );
  }
}
