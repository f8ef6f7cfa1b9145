import * as path from "node:path";

import { ConfigError, type ConfigIssue } from "./errors";
import type { ParsedFile } from "./parse";
import { normalizeRepoPath } from "./rules";
import { DEFAULTS, type DriftPolicy, EnvironmentFile, type SyncPolicy, TidegateFile } from "./schema";
import { fileUrl, resolveBackendUrl, resolveRepositoryUrl } from "./url";

// Raw files → resolved configuration: defaults filled in, paths made absolute, and the checks that
// need more than one file. Pure: paths are resolved as strings, nothing is read.

/** tidegate.yaml when there is none: watch the folder it is anchored to (the tidegate checkout). */
export const EMBEDDED_CONFIG: TidegateFile = { repository: { url: "." } };

/** Where the passphrase for the stacks' secrets comes from. */
export type SecretsSource = { kind: "env"; name: string } | { kind: "file"; path: string };

export interface Schedule {
  /** Cron expression (five fields): how often to look for new commits. */
  poll: string;
  /** Cron expression (five fields): how often to check for drift. */
  drift: string;
}

export interface ResolvedDefaults {
  schedule: Schedule;
  syncPolicy: SyncPolicy;
  driftPolicy: DriftPolicy;
}

/** tidegate.yaml with its defaults applied. */
export interface ResolvedSettings {
  /** Absolute path of tidegate.yaml; undefined when the embedded default is in use. */
  configFile?: string;
  /** A URL as written (may hold credentials: print it through redactUrl), or an absolute path. */
  repository: { url: string };
  /** Absolute. */
  dataDir: string;
  backendUrl: string;
  secrets: SecretsSource;
  /** Relative to the repository root, normalized ("environments"). */
  environmentsDir: string;
  configRef: string;
  defaults: ResolvedDefaults;
}

export interface ResolvedEnvironment {
  name: string;
  /** The file that defines it, as reported in issues, e.g. "environments/prod.yaml". */
  file: string;
  branch: string;
  stack: string;
  /** The Pulumi project folder, relative to the repository root and normalized ("." or "stacks/aws"). */
  project: string;
  order: number;
  schedule: Schedule;
  sync: { policy: SyncPolicy };
  drift: { policy: DriftPolicy };
  /** Extra non-secret environment variables for the engine. */
  config: Record<string, string>;
}

export interface ResolvedConfig extends Omit<ResolvedSettings, "defaults"> {
  /** Sorted by promotion order. */
  environments: ResolvedEnvironment[];
}

export interface ConfigFiles {
  /** The folder relative paths in tidegate.yaml are taken from (or the embedded default is anchored to). */
  configDir: string;
  /** Absolute path of tidegate.yaml; undefined with the embedded default. */
  configFile?: string;
  /** tidegate.yaml parsed; undefined with the embedded default. */
  tidegate?: ParsedFile<TidegateFile>;
  environments: ParsedFile<EnvironmentFile>[];
}

/**
 * The parsed files → the resolved configuration, or a ConfigError holding every issue of every
 * file, those found across files included.
 */
export function buildConfig(files: ConfigFiles): ResolvedConfig {
  const { dir } = environmentsSource(files.tidegate?.data);
  const crossFile = checkEnvironmentSet(
    files.environments.map((parsed) => environmentIdentity(parsed.file, parsed.data)),
    dir,
  );
  const issues = [
    ...inLineOrder(files.tidegate?.issues ?? []),
    ...files.environments.flatMap((parsed) =>
      inLineOrder([
        ...parsed.issues,
        ...crossFile
          .filter((issue) => issue.file === parsed.file)
          .map((issue) => ({ ...issue, ...parsed.positionOf([issue.path]) })),
      ]),
    ),
    ...crossFile.filter((issue) => !files.environments.some((parsed) => parsed.file === issue.file)),
  ];
  if (issues.length > 0) throw new ConfigError(issues);

  const settings = resolveSettings(
    files.tidegate?.value ?? EMBEDDED_CONFIG,
    files.configDir,
    files.configFile,
  );
  const environments = files.environments.flatMap((parsed) =>
    parsed.value ? [resolveEnvironment(parsed.file, parsed.value, settings.defaults)] : [],
  );
  return resolveConfig(settings, environments);
}

/**
 * Where tidegate.yaml says the environment files are: its environmentsDir and configRef when they
 * are valid (even if other keys are not, so the environments are still checked), else the defaults.
 */
export function environmentsSource(tidegateData: unknown): { dir: string; ref: string } {
  const data = asRecord(tidegateData);
  const dir = TidegateFile.shape.environmentsDir.safeParse(data.environmentsDir).data;
  const ref = TidegateFile.shape.configRef.safeParse(data.configRef).data;
  return { dir: normalizeRepoPath(dir ?? DEFAULTS.environmentsDir), ref: ref ?? DEFAULTS.configRef };
}

/** tidegate.yaml with defaults applied; relative paths are taken from `configDir`. */
export function resolveSettings(raw: TidegateFile, configDir: string, configFile?: string): ResolvedSettings {
  const dataDir = path.resolve(configDir, raw.dataDir ?? DEFAULTS.dataDir);
  const backendUrl = raw.backend
    ? resolveBackendUrl(raw.backend.url, configDir)
    : fileUrl(path.join(dataDir, "state"));
  const secrets: SecretsSource =
    raw.secrets?.passphraseFile !== undefined
      ? { kind: "file", path: path.resolve(configDir, raw.secrets.passphraseFile) }
      : { kind: "env", name: raw.secrets?.passphraseEnv ?? DEFAULTS.passphraseEnv };
  return {
    ...(configFile === undefined ? {} : { configFile }),
    repository: { url: resolveRepositoryUrl(raw.repository.url, configDir) },
    dataDir,
    backendUrl,
    secrets,
    environmentsDir: normalizeRepoPath(raw.environmentsDir ?? DEFAULTS.environmentsDir),
    configRef: raw.configRef ?? DEFAULTS.configRef,
    defaults: {
      schedule: {
        poll: raw.defaults?.schedule?.poll ?? DEFAULTS.schedule.poll,
        drift: raw.defaults?.schedule?.drift ?? DEFAULTS.schedule.drift,
      },
      syncPolicy: raw.defaults?.syncPolicy ?? DEFAULTS.syncPolicy,
      driftPolicy: raw.defaults?.driftPolicy ?? DEFAULTS.driftPolicy,
    },
  };
}

/** One environment file with the defaults of tidegate.yaml applied. */
export function resolveEnvironment(
  file: string,
  raw: EnvironmentFile,
  defaults: ResolvedDefaults,
): ResolvedEnvironment {
  return {
    name: raw.name,
    file,
    branch: raw.branch ?? raw.name,
    stack: raw.stack ?? raw.name,
    project: normalizeRepoPath(raw.project ?? DEFAULTS.project),
    order: raw.order,
    schedule: {
      poll: raw.schedule?.poll ?? defaults.schedule.poll,
      drift: raw.schedule?.drift ?? defaults.schedule.drift,
    },
    sync: { policy: raw.sync?.policy ?? defaults.syncPolicy },
    drift: { policy: raw.drift?.policy ?? defaults.driftPolicy },
    config: { ...raw.config },
  };
}

/** The settings and the environments together, environments in promotion order. */
export function resolveConfig(
  settings: ResolvedSettings,
  environments: ResolvedEnvironment[],
): ResolvedConfig {
  const { defaults: _defaults, ...rest } = settings;
  return { ...rest, environments: [...environments].sort((a, b) => a.order - b.order) };
}

/**
 * What the cross-file checks need of one environment file. Each field is set only when it is
 * valid on its own, so a file with other problems still takes part in the checks.
 */
export interface EnvironmentIdentity {
  file: string;
  name?: string;
  order?: number;
  /** The branch as written, or the name when none is written. */
  branch?: string;
  /** The stack as written, or the name when none is written. */
  stack?: string;
}

/**
 * The checks across environment files: at least one environment, each named after its file,
 * and no two sharing a name, an order, a branch or a stack.
 */
export function checkEnvironmentSet(
  identities: readonly EnvironmentIdentity[],
  environmentsDir: string,
): ConfigIssue[] {
  if (identities.length === 0) {
    return [
      {
        file: `${environmentsDir}/`,
        path: "",
        message: "holds no environment files",
        expected: "one <name>.yaml per environment, e.g. test.yaml, stage.yaml and prod.yaml",
      },
    ];
  }
  const issues: ConfigIssue[] = [];
  for (const identity of identities) {
    const base = fileBaseName(identity.file);
    if (identity.name !== undefined && identity.name !== base) {
      issues.push({
        file: identity.file,
        path: "name",
        value: identity.name,
        message: `"${identity.name}" is not the file's name`,
        expected: `"${base}", the file name without its extension (or rename the file)`,
      });
    }
  }
  for (const key of ["name", "order", "branch", "stack"] as const) {
    const firstFile = new Map<unknown, string>();
    for (const identity of identities) {
      const value = identity[key];
      if (value === undefined) continue;
      const first = firstFile.get(value);
      if (first === undefined) {
        firstFile.set(value, identity.file);
        continue;
      }
      issues.push({
        file: identity.file,
        path: key,
        value,
        message: `${JSON.stringify(value)} is also the ${key} of ${first}`,
        expected: `${key === "order" ? "an" : "a"} ${key} no other environment has`,
      });
    }
  }
  return issues;
}

/** The fields of an environment file that the cross-file checks use, each kept only when valid. */
export function environmentIdentity(file: string, data: unknown): EnvironmentIdentity {
  const record = asRecord(data);
  const valid = <K extends "name" | "order" | "branch" | "stack">(key: K) =>
    EnvironmentFile.shape[key].safeParse(record[key]).data as EnvironmentFile[K] | undefined;
  const name = valid("name");
  // An invalid branch or stack is reported by the schema; it must not fall back to the name.
  const branch = record.branch === undefined ? name : valid("branch");
  const stack = record.stack === undefined ? name : valid("stack");
  return { file, name, order: valid("order"), branch, stack };
}

/** One file's issues top to bottom; those about the file as a whole first. */
function inLineOrder(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

function asRecord(data: unknown): Record<string, unknown> {
  return data !== null && typeof data === "object" && !Array.isArray(data)
    ? (data as Record<string, unknown>)
    : {};
}

/** "environments/prod.yaml" → "prod". */
export function fileBaseName(file: string): string {
  return (file.split(/[\\/]/).at(-1) ?? file).replace(/\.ya?ml$/i, "");
}
