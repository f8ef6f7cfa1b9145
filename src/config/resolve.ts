import * as os from "node:os";
import * as path from "node:path";

import { parseDuration } from "../gates/duration";
import type { Gates } from "../domain/gates";
import { programPolicyPacks } from "../domain/program";
import { stackLayers } from "../domain/stacks";
import { ConfigError, type ConfigIssue } from "./errors";
import { type ParsedFile, parseEnvironmentFile } from "./parse";
import { environmentKey, qualifyGates, repositoryFile } from "./repositories";
import { canonicalTimeZone, normalizeRepoPath, parseListen } from "./rules";
import {
  type DaemonConfig,
  DEFAULTS,
  type DriftPolicy,
  type DriftIgnoreRule,
  EnvironmentFile,
  StackConfig,
  type EnvironmentSecrets,
  GatesConfig,
  type GitTimeoutsConfig,
  type TimeoutsConfig,
  PromotionConfig,
  type Repository,
  RepositoryEntry,
  type SandboxMode,
  type ServerConfig,
  type NotificationsConfig,
  type SyncPolicy,
  TidegateFile,
  type ValueSource,
  WEBHOOK_PROVIDERS,
  type WebhooksConfig,
} from "./schema";

export type WebhookProviderName = (typeof WEBHOOK_PROVIDERS)[number];
const DEFAULT_WEBHOOK_BODY_BYTES = 1024 * 1024;
import { fileUrl, resolveBackendUrl, resolveRepositoryUrl } from "./url";

// Raw files → resolved configuration: defaults filled in, paths made absolute, and the checks that
// need more than one file. Pure: paths are resolved as strings, nothing is read.

/** tidegate.yaml when there is none: watch the folder it is anchored to (the tidegate checkout). */
export const EMBEDDED_CONFIG = { repository: { url: "." } } satisfies TidegateFile;

/** Where the repository's token comes from (read when Git needs it, never stored). */
export type TokenSource = { kind: "env"; name: string } | { kind: "file"; path: string };

/** The credentials of an https repository when they are not in its URL. */
export interface RepositoryToken {
  username: string;
  source: TokenSource;
}

export interface ResolvedRepository {
  /** A URL as written (may hold credentials: print it through redactUrl), or an absolute path. */
  url: string;
  token?: RepositoryToken;
  timeouts: GitTimeouts;
}

/** One entry of tidegate.yaml's `repositories`, resolved. */
export interface RepositorySource {
  /** Its environments are known as "<name>.<environment>" (see src/config/repositories.ts). */
  name: string;
  repository: ResolvedRepository;
  /** Its own Pulumi backend; undefined: the engine-wide one. */
  backendUrl?: string;
  /** Relative to the repository root, normalized. */
  environmentsDir: string;
  configRef: string;
}

/** repository.timeouts with its defaults, in milliseconds. */
export interface GitTimeouts {
  /** Connecting to the remote (ssh ConnectTimeout). */
  connectMs: number;
  /** A transfer below 1000 bytes/s for this long is stopped. */
  lowSpeedMs: number;
  /** Deadline of one `git ls-remote`. */
  lsRemoteMs: number;
  /** Deadline of one `git fetch` or `git push`. */
  operationMs: number;
}

/** tidegate.yaml's timeouts (Pulumi CLI and npm) with their defaults, in milliseconds. */
export interface Timeouts {
  previewMs: number;
  updateMs: number;
  refreshMs: number;
  stackMs: number;
  installMs: number;
}

/** Where the passphrase for the stacks' secrets comes from. */
export type SecretsSource = { kind: "env"; name: string } | { kind: "file"; path: string };

/** Where a secret value of an environment comes from; read when a run starts. */
export type ValueSourceSpec =
  { kind: "env"; name: string } | { kind: "file"; path: string } | { kind: "command"; argv: string[] };

/** Variable name → source. */
export type CredentialSources = Record<string, ValueSourceSpec>;

/** An environment's own secrets provider; absent: the engine-wide passphrase. */
export type EnvironmentSecretsSpec =
  { kind: "passphrase"; source: ValueSourceSpec } | { kind: "provider"; url: string };

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
  /** The repository; with `repositories:`, the first one (each environment names its own). */
  repository: ResolvedRepository;
  /** Set only when tidegate.yaml lists `repositories:` (even just one). */
  repositories?: RepositorySource[];
  /** Absolute. */
  dataDir: string;
  backendUrl: string;
  sandbox: SandboxMode;
  timeouts: Timeouts;
  secrets: SecretsSource;
  /** Relative to the repository root, normalized ("environments"); with `repositories:`, the first one's. */
  environmentsDir: string;
  configRef: string;
  defaults: ResolvedDefaults;
  daemon: DaemonSettings;
  server: ServerSettings;
  telemetry: TelemetrySettings;
  webhooks: WebhookSettings;
  /** As written: the secrets are read when the daemon starts (src/app/notify). */
  notifications?: NotificationsConfig;
  /** The store on PostgreSQL; absent: SQLite in the data directory. The password is read when it opens. */
  store?: StoreSettings;
}

/** store: in tidegate.yaml, its password file made absolute. */
export interface StoreSettings {
  url: string;
  password: SecretsSource;
}

/** /metrics and traces (see TelemetryConfig). */
export interface TelemetrySettings {
  metrics: { requireToken: boolean };
  traces: { endpoint?: string };
}

/** A webhook secret's source: a variable, or an absolute file path. */
export type WebhookSecretSource = { kind: "env"; name: string } | { kind: "file"; path: string };

/** webhooks in tidegate.yaml: only the providers with a secret; the others are refused. */
export type WebhookSettings = Partial<
  Record<
    WebhookProviderName,
    { secret?: WebhookSecretSource; signingSecret?: WebhookSecretSource; maxBodyBytes: number }
  >
>;

/** The HTTP API's settings (see ServerConfig). */
export interface ServerSettings {
  host: string;
  port: number;
  /** Absolute paths of the certificate chain and key: HTTPS when set. */
  tls?: { cert: string; key: string };
  anonymousRead: boolean;
  /** Where notifications link to, ending in "/"; default: the address the API listens on. */
  publicUrl?: string;
}

/** How the daemon retries a failing environment (see DaemonConfig). */
export interface DaemonSettings {
  retryInitialMs: number;
  retryMaxMs: number;
  stallAfter: number;
  /** Environments run at once (daemon.concurrency, 'auto' resolved against this machine). */
  concurrency: number;
  /** Stacks of one environment previewed or updated at once (daemon.stackConcurrency). */
  stackConcurrency: number;
  /** What `tidegate run` does first with each environment (daemon.startup). */
  startup: "check" | "poll";
  /** How long a replica's ownership of an environment lasts without a heartbeat. */
  ownershipTtlMs: number;
  /** How often a replica renews, counts the others and rebalances. */
  heartbeatMs: number;
  /** daemon.requestPoll; absent: the request feed's default (it depends on the store). */
  requestPollMs?: number;
}

export interface ResolvedEnvironment {
  /** Its key across tidegate: the file's name, or "<repository>.<name>" with `repositories:`. */
  name: string;
  /** The name of its repository when tidegate.yaml lists `repositories:`. */
  repository?: string;
  /** The file that defines it, as reported in issues, e.g. "environments/prod.yaml" ("payments:environments/prod.yaml"). */
  file: string;
  branch: string;
  /**
   * The Pulumi stack and project folder (relative to the repository root, normalized: "." or
   * "stacks/aws") of the one-stack form; with several stacks, those of the first in `stacks`.
   * Code that knows one stack only reads these; the run of several stacks reads `stacks`.
   */
  stack: string;
  project: string;
  /**
   * Every stack of the environment in dependency order (a stack after those it depends on), so
   * downstream code has one shape: the one-stack form is a list of one, named after the environment.
   */
  stacks: ResolvedStack[];
  order: number;
  schedule: Schedule;
  sync: { policy: SyncPolicy };
  /** ignore: expected drift, from the definition at the config ref (see src/domain/ignore.ts). */
  drift: { policy: DriftPolicy; ignore: DriftIgnoreRule[] };
  /** Extra non-secret environment variables for the engine. */
  config: Record<string, string>;
  /** The environment's credentials: `update` is `read` when the file names none. */
  credentials: { read: CredentialSources; update: CredentialSources; kubeconfig?: ValueSourceSpec };
  /** Its own secrets provider; undefined: the engine-wide passphrase. */
  secrets?: EnvironmentSecretsSpec;
  /** Its own Pulumi backend; undefined: the engine-wide one. */
  backendUrl?: string;
  /** Whether npm runs lifecycle scripts when installing the program's dependencies. */
  install: { scripts: boolean };
  /**
   * The gates of this definition. `sync.policy: gated` without `gates.approval` needs one approval
   * from anyone but the change's authors.
   */
  gates: Gates;
  /**
   * The policy pack folders every environment's gates name (see programPolicyPacks): with the
   * project folder, what the promotion gate's tree digest covers. Filled in by resolveConfig.
   */
  programPolicyPacks: string[];
}

/** One Pulumi stack of an environment. */
export interface ResolvedStack {
  /** Its name in the environment (the environment's name in the one-stack form). */
  name: string;
  /** The Pulumi project folder, normalized. */
  project: string;
  /** The Pulumi stack. */
  stack: string;
  /** Stacks of the same environment applied first. */
  dependsOn: string[];
  /** Drift this stack expects besides the environment's drift.ignore rules; absent: none. */
  ignore?: DriftIgnoreRule[];
}

/** An environment's place in the promotion order: what defaulting `promotion.from` needs. */
export interface EnvironmentOrder {
  name: string;
  order: number;
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
  /** With `repositories:`, each file names the repository it was read from. */
  environments: (ParsedFile<EnvironmentFile> & { repository?: string })[];
}

/**
 * The parsed files → the resolved configuration, or a ConfigError holding every issue of every
 * file, those found across files included.
 */
export function buildConfig(files: ConfigFiles): ResolvedConfig {
  // Each repository's environments are a set of their own: names, orders and promotions within it.
  const groups = environmentsSources(files.tidegate?.data).map((source) => ({
    ...source,
    environments: files.environments.filter((parsed) => parsed.repository === source.name),
  }));
  const crossFile = groups.flatMap((group) =>
    checkEnvironmentSet(
      group.environments.map((parsed) => environmentIdentity(parsed.file, parsed.data)),
      repositoryFile(group.name, group.dir),
    ),
  );
  const issues = [
    ...inLineOrder(files.tidegate?.issues ?? []),
    ...files.environments.flatMap((parsed) =>
      inLineOrder([
        ...parsed.issues,
        // Cross-file issues name plain keys ("order", "gates.promotion.from"), never list items.
        ...crossFile
          .filter((issue) => issue.file === parsed.file)
          .map((issue) => ({ ...issue, ...parsed.positionOf(issue.path.split(".")) })),
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
  const environments = groups.flatMap((group) => {
    const orders = group.environments.flatMap((parsed) =>
      parsed.value ? [{ name: parsed.value.name, order: parsed.value.order }] : [],
    );
    const source = settings.repositories?.find((entry) => entry.name === group.name);
    return group.environments.flatMap((parsed) => {
      if (!parsed.value) return [];
      const env = resolveEnvironment(parsed.file, parsed.value, settings.defaults, orders);
      return [source ? inRepository(env, source) : env];
    });
  });
  return resolveConfig(settings, environments);
}

/** An environment of one of several repositories: named by its key, on its repository's backend. */
function inRepository(env: ResolvedEnvironment, source: RepositorySource): ResolvedEnvironment {
  const backendUrl = env.backendUrl ?? source.backendUrl;
  return {
    ...env,
    name: environmentKey(source.name, env.name),
    repository: source.name,
    ...(backendUrl === undefined ? {} : { backendUrl }),
    gates: qualifyGates(env.gates, source.name),
  };
}

/**
 * Where tidegate.yaml says each repository's environment files are: one unnamed source for
 * `repository:`, one per valid-named entry of `repositories:` (see environmentsSource).
 */
export function environmentsSources(tidegateData: unknown): { name?: string; dir: string; ref: string }[] {
  const entries = asRecord(tidegateData).repositories;
  if (!Array.isArray(entries)) return [environmentsSource(tidegateData)];
  return entries.flatMap((entry: unknown) => {
    const name = RepositoryEntry.shape.name.safeParse(asRecord(entry).name).data;
    return name === undefined ? [] : [{ name, ...environmentsSource(entry) }];
  });
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
  const repositories = raw.repositories?.map((entry) => resolveRepositoryEntry(entry, configDir));
  const first = repositories?.[0];
  return {
    ...(configFile === undefined ? {} : { configFile }),
    repository:
      first?.repository ??
      resolveRepository(required(raw.repository, "tidegate.yaml", "repository"), configDir),
    ...(repositories ? { repositories } : {}),
    dataDir,
    backendUrl,
    sandbox: raw.sandbox ?? DEFAULTS.sandbox,
    timeouts: resolveTimeouts(raw.timeouts),
    secrets,
    environmentsDir:
      first?.environmentsDir ?? normalizeRepoPath(raw.environmentsDir ?? DEFAULTS.environmentsDir),
    configRef: first?.configRef ?? raw.configRef ?? DEFAULTS.configRef,
    defaults: {
      schedule: {
        poll: raw.defaults?.schedule?.poll ?? DEFAULTS.schedule.poll,
        drift: raw.defaults?.schedule?.drift ?? DEFAULTS.schedule.drift,
      },
      syncPolicy: raw.defaults?.syncPolicy ?? DEFAULTS.syncPolicy,
      driftPolicy: raw.defaults?.driftPolicy ?? DEFAULTS.driftPolicy,
    },
    daemon: resolveDaemon(raw.daemon),
    server: resolveServer(raw.server, configDir),
    telemetry: {
      metrics: { requireToken: raw.telemetry?.metrics?.requireToken ?? false },
      traces: raw.telemetry?.traces?.endpoint ? { endpoint: raw.telemetry.traces.endpoint } : {},
    },
    webhooks: resolveWebhooks(raw.webhooks, configDir),
    ...(raw.notifications ? { notifications: raw.notifications } : {}),
    ...(raw.store
      ? {
          store: {
            url: raw.store.url,
            password:
              raw.store.password.env !== undefined
                ? { kind: "env", name: raw.store.password.env }
                : { kind: "file", path: path.resolve(configDir, raw.store.password.file ?? "") },
          },
        }
      : {}),
  };
}

/** server with the defaults filled in and the TLS files made absolute against `configDir`. */
export function resolveServer(raw: ServerConfig = {}, configDir: string): ServerSettings {
  // The schema checked the form; the default always parses.
  const listen = parseListen(raw.listen ?? DEFAULTS.server.listen) ?? { host: "127.0.0.1", port: 7420 };
  return {
    ...listen,
    ...(raw.tls
      ? { tls: { cert: path.resolve(configDir, raw.tls.cert), key: path.resolve(configDir, raw.tls.key) } }
      : {}),
    anonymousRead: raw.anonymousRead ?? DEFAULTS.server.anonymousRead,
    ...(raw.publicUrl ? { publicUrl: withSlash(raw.publicUrl) } : {}),
  };
}

/** webhooks with the default body cap, files made absolute; providers without a secret are left out. */
export function resolveWebhooks(raw: WebhooksConfig = {}, configDir: string): WebhookSettings {
  const source = (value: { env?: string; file?: string } | undefined): WebhookSecretSource | undefined => {
    if (value?.env !== undefined) return { kind: "env", name: value.env };
    if (value?.file !== undefined) return { kind: "file", path: path.resolve(configDir, value.file) };
    return undefined;
  };
  const settings: WebhookSettings = {};
  for (const name of WEBHOOK_PROVIDERS) {
    const provider = raw[name];
    const secret = source(provider?.secret);
    const signingSecret = source(provider?.signingSecret);
    if (!secret && !signingSecret) continue;
    settings[name] = {
      ...(secret ? { secret } : {}),
      ...(signingSecret ? { signingSecret } : {}),
      maxBodyBytes: provider?.maxBodyBytes ?? DEFAULT_WEBHOOK_BODY_BYTES,
    };
  }
  return settings;
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

/** daemon with the defaults filled in. */
export function resolveDaemon(raw: DaemonConfig = {}): DaemonSettings {
  const { retryInitial, retryMax, stallAfter, concurrency, ownershipTtl, heartbeat } = DEFAULTS.daemon;
  const workers = raw.concurrency ?? concurrency;
  return {
    retryInitialMs: duration(raw.retry?.initial ?? retryInitial, "tidegate.yaml", "daemon.retry.initial"),
    retryMaxMs: duration(raw.retry?.max ?? retryMax, "tidegate.yaml", "daemon.retry.max"),
    stallAfter: raw.stallAfter ?? stallAfter,
    concurrency: workers === "auto" ? autoConcurrency(os.availableParallelism(), os.totalmem()) : workers,
    stackConcurrency: raw.stackConcurrency ?? DEFAULTS.daemon.stackConcurrency,
    startup: raw.startup ?? DEFAULTS.daemon.startup,
    ownershipTtlMs: duration(
      raw.replicas?.ownershipTtl ?? ownershipTtl,
      "tidegate.yaml",
      "daemon.replicas.ownershipTtl",
    ),
    heartbeatMs: duration(raw.replicas?.heartbeat ?? heartbeat, "tidegate.yaml", "daemon.replicas.heartbeat"),
    ...(raw.requestPoll === undefined
      ? {}
      : { requestPollMs: duration(raw.requestPoll, "tidegate.yaml", "daemon.requestPoll") }),
  };
}

const GIB = 1024 ** 3;

/**
 * One run per core, and at most one per GiB of memory: a check runs two engine previews at once,
 * each with its language host and provider plugins, about half a GiB together.
 */
export function autoConcurrency(cores: number, memoryBytes: number): number {
  return Math.max(1, Math.min(cores, Math.floor(memoryBytes / GIB)));
}

/** The repository with a local path and a token file made absolute against `configDir`. */
export function resolveRepository(raw: Repository, configDir: string): ResolvedRepository {
  const url = resolveRepositoryUrl(raw.url, configDir);
  const timeouts = resolveGitTimeouts(raw.timeouts);
  const username = raw.username ?? DEFAULTS.tokenUsername;
  if (raw.tokenEnv !== undefined)
    return { url, token: { username, source: { kind: "env", name: raw.tokenEnv } }, timeouts };
  if (raw.tokenFile !== undefined) {
    return {
      url,
      token: { username, source: { kind: "file", path: path.resolve(configDir, raw.tokenFile) } },
      timeouts,
    };
  }
  return { url, timeouts };
}

/** One entry of `repositories`: its repository, backend and environments folder resolved. */
export function resolveRepositoryEntry(raw: RepositoryEntry, configDir: string): RepositorySource {
  const { name, backend, environmentsDir, configRef, ...repository } = raw;
  return {
    name,
    repository: resolveRepository(repository, configDir),
    ...(backend ? { backendUrl: resolveBackendUrl(backend.url, configDir) } : {}),
    environmentsDir: normalizeRepoPath(environmentsDir ?? DEFAULTS.environmentsDir),
    configRef: configRef ?? DEFAULTS.configRef,
  };
}

/** timeouts with the defaults filled in. */
export function resolveTimeouts(raw: TimeoutsConfig = {}): Timeouts {
  const ms = (key: keyof TimeoutsConfig): number =>
    duration(raw[key] ?? DEFAULTS.timeouts[key], "tidegate.yaml", `timeouts.${key}`);
  return {
    previewMs: ms("preview"),
    updateMs: ms("update"),
    refreshMs: ms("refresh"),
    stackMs: ms("stack"),
    installMs: ms("install"),
  };
}

/** repository.timeouts with the defaults filled in. */
export function resolveGitTimeouts(raw: GitTimeoutsConfig = {}): GitTimeouts {
  const ms = (key: keyof GitTimeoutsConfig): number =>
    duration(raw[key] ?? DEFAULTS.gitTimeouts[key], "tidegate.yaml", `repository.timeouts.${key}`);
  return {
    connectMs: ms("connect"),
    lowSpeedMs: ms("lowSpeed"),
    lsRemoteMs: ms("lsRemote"),
    operationMs: ms("operation"),
  };
}

/**
 * One environment file with the defaults of tidegate.yaml applied. `environments` (all of them) is
 * where a promotion gate without `from` finds the environment just below; the set must have passed
 * checkEnvironmentSet.
 */
export function resolveEnvironment(
  file: string,
  raw: EnvironmentFile,
  defaults: ResolvedDefaults,
  environments: readonly EnvironmentOrder[] = [],
): ResolvedEnvironment {
  const syncPolicy = raw.sync?.policy ?? defaults.syncPolicy;
  const stacks = resolveStacks(raw);
  return {
    name: raw.name,
    file,
    branch: raw.branch ?? raw.name,
    stack: stacks[0]!.stack,
    project: stacks[0]!.project,
    stacks,
    order: raw.order,
    schedule: {
      poll: raw.schedule?.poll ?? defaults.schedule.poll,
      drift: raw.schedule?.drift ?? defaults.schedule.drift,
    },
    sync: { policy: syncPolicy },
    drift: { policy: raw.drift?.policy ?? defaults.driftPolicy, ignore: [...(raw.drift?.ignore ?? [])] },
    config: { ...raw.config },
    credentials: {
      read: credentialSources(raw.credentials?.read),
      update: credentialSources(raw.credentials?.update ?? raw.credentials?.read),
      ...(raw.credentials?.kubeconfig ? { kubeconfig: valueSource(raw.credentials.kubeconfig) } : {}),
    },
    ...(raw.secrets ? { secrets: environmentSecrets(raw.secrets) } : {}),
    ...(raw.backend ? { backendUrl: raw.backend.url } : {}),
    install: { scripts: raw.install?.scripts ?? false },
    gates: resolveGates(file, raw, syncPolicy, environments),
    programPolicyPacks: [],
  };
}

/** The stacks of a checked environment file, in dependency order; the one-stack form as a list of one. */
function resolveStacks(raw: EnvironmentFile): ResolvedStack[] {
  if (!raw.stacks) {
    return [
      {
        name: raw.name,
        project: normalizeRepoPath(raw.project ?? DEFAULTS.project),
        stack: raw.stack ?? raw.name,
        dependsOn: [],
      },
    ];
  }
  const stacks = raw.stacks.map((stack) => ({
    name: stack.name,
    project: normalizeRepoPath(stack.project),
    stack: stack.stack ?? raw.name,
    dependsOn: [...new Set(stack.dependsOn ?? [])],
    ...(stack.ignore && stack.ignore.length > 0 ? { ignore: [...stack.ignore] } : {}),
  }));
  return stackLayers(stacks).flat();
}

function valueSource(source: ValueSource): ValueSourceSpec {
  if (source.env !== undefined) return { kind: "env", name: source.env };
  if (source.file !== undefined) return { kind: "file", path: source.file };
  return { kind: "command", argv: [...(source.command ?? [])] };
}

function credentialSources(map: Record<string, ValueSource> | undefined): CredentialSources {
  return Object.fromEntries(Object.entries(map ?? {}).map(([name, source]) => [name, valueSource(source)]));
}

function environmentSecrets(secrets: EnvironmentSecrets): EnvironmentSecretsSpec {
  return secrets.provider !== undefined
    ? { kind: "provider", url: secrets.provider }
    : { kind: "passphrase", source: valueSource(secrets.passphrase ?? {}) };
}

/** What resolving one environment file's gates on its own needs from the rest of the configuration. */
export interface GatesContext {
  /** Every environment's name and order (the file's own entry is taken from the file). */
  environments: readonly EnvironmentOrder[];
  /** The sync policy when the file names none (tidegate.yaml's defaults.syncPolicy). */
  defaultSyncPolicy: SyncPolicy;
}

/**
 * The gates an environment file defines, read on its own: for the definition at an older commit
 * (the gates in force come from the deployed commit, never from the one being deployed). The file
 * is checked as the loader checks it, its promotion source against `context.environments`.
 */
export function resolveGatesAt(
  file: string,
  text: string,
  context: GatesContext,
): { gates: Gates } | { issues: ConfigIssue[] } {
  const parsed = parseEnvironmentFile(file, text);
  if (!parsed.value) return { issues: inLineOrder(parsed.issues) };
  const raw = parsed.value;
  const environments = [
    ...context.environments.filter((environment) => environment.name !== raw.name),
    { name: raw.name, order: raw.order },
  ];
  const identity = environmentIdentity(file, parsed.data);
  const issues = promotionIssues(
    identity,
    environments.map((environment) => ({ file: "", ...environment })),
  ).map((issue) => ({ ...issue, ...parsed.positionOf(issue.path.split(".")) }));
  if (issues.length > 0) return { issues };
  return { gates: resolveGates(file, raw, raw.sync?.policy ?? context.defaultSyncPolicy, environments) };
}

/** The gates block with its defaults; a gated sync policy implies one approval. */
function resolveGates(
  file: string,
  raw: EnvironmentFile,
  syncPolicy: SyncPolicy,
  environments: readonly EnvironmentOrder[],
): Gates {
  const gates: GatesConfig = raw.gates ?? {};
  const { approval, promotion, protect } = gates;
  const implied =
    syncPolicy === "gated" ? { required: 1, approvers: [], allowSelfApproval: false } : undefined;
  const resolvedApproval = approval
    ? {
        required: approval.required ?? DEFAULTS.gates.approvalRequired,
        approvers: [...(approval.approvers ?? [])],
        allowSelfApproval: approval.allowSelfApproval ?? false,
      }
    : implied;
  return {
    ...(resolvedApproval ? { approval: resolvedApproval } : {}),
    ...(promotion
      ? {
          promotion: {
            from:
              promotion.from ??
              required(environmentBelow(raw, environments)?.name, file, "gates.promotion.from"),
            soakMs: duration(promotion.soak ?? DEFAULTS.gates.soak, file, "gates.promotion.soak"),
            ...(promotion.requireNoDrift ? { requireNoDrift: true } : {}),
          },
        }
      : {}),
    windows: (gates.windows ?? []).map((window, index) => ({
      kind: window.kind,
      schedule: window.schedule,
      durationMs: duration(window.duration, file, `gates.windows[${index}].duration`),
      timezone: required(
        canonicalTimeZone(window.timezone ?? DEFAULTS.gates.timezone),
        file,
        `gates.windows[${index}].timezone`,
      ),
    })),
    checks: (gates.checks ?? []).map((check, index) => ({
      name: check.name,
      run: check.run,
      timeoutMs: duration(
        check.timeout ?? DEFAULTS.gates.checkTimeout,
        file,
        `gates.checks[${index}].timeout`,
      ),
    })),
    ...(protect
      ? {
          protect: {
            operations: [...(protect.operations ?? DEFAULTS.gates.protectOperations)],
            resources: [...(protect.resources ?? [])],
            action: protect.action ?? DEFAULTS.gates.protectAction,
            ...(protect.stacks ? { stacks: [...protect.stacks] } : {}),
          },
        }
      : {}),
    policyPacks: (gates.policyPacks ?? []).map(normalizeRepoPath),
  };
}

/** The environment with the next lower order, if any. */
function environmentBelow(
  self: EnvironmentOrder,
  environments: readonly EnvironmentOrder[],
): EnvironmentOrder | undefined {
  return environments
    .filter((environment) => environment.name !== self.name && environment.order < self.order)
    .reduce<EnvironmentOrder | undefined>(
      (best, next) => (!best || next.order > best.order ? next : best),
      undefined,
    );
}

function duration(text: string, file: string, key: string): number {
  return required(parseDuration(text), file, key);
}

/** A value the schema or checkEnvironmentSet already guaranteed; its absence is a bug here. */
function required<T>(value: T | undefined, file: string, key: string): T {
  if (value === undefined) throw new Error(`${file}: ${key} was not checked before resolving`);
  return value;
}

/** The settings and the environments together, environments in promotion order. */
export function resolveConfig(
  settings: ResolvedSettings,
  environments: ResolvedEnvironment[],
): ResolvedConfig {
  const { defaults: _defaults, ...rest } = settings;
  // A repository's packs: its own environments' (one repository's tree digests know no other's).
  const packs = (repository?: string) =>
    programPolicyPacks(environments.filter((env) => env.repository === repository));
  return {
    ...rest,
    environments: [...environments]
      .sort((a, b) => a.order - b.order)
      .map((env) => ({ ...env, programPolicyPacks: packs(env.repository) })),
  };
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
  /** gates.promotion, when it is valid. */
  promotion?: PromotionConfig;
  /** The Pulumi stacks it deploys, each as JSON of [project, stack], where valid. */
  pulumiStacks?: string[];
  /** Whether it lists `stacks:`. */
  several?: boolean;
}

/**
 * The checks across environment files: at least one environment, each named after its file,
 * no two sharing a name, an order, a branch or a stack, and each promotion from one below.
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
  issues.push(...sharedStackIssues(identities));
  for (const identity of identities) issues.push(...promotionIssues(identity, identities));
  return issues;
}

/**
 * Two environments must not deploy one Pulumi stack (project and stack). Between two one-stack
 * files the stack check above already says so; this covers files listing `stacks:`.
 */
function sharedStackIssues(identities: readonly EnvironmentIdentity[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const first = new Map<string, EnvironmentIdentity>();
  for (const identity of identities) {
    for (const target of new Set(identity.pulumiStacks ?? [])) {
      const earlier = first.get(target);
      if (!earlier) {
        first.set(target, identity);
        continue;
      }
      if (!earlier.several && !identity.several) continue;
      const [project, stack] = JSON.parse(target) as [string, string];
      issues.push({
        file: identity.file,
        path: identity.several ? "stacks" : "stack",
        value: stack,
        message: `the stack ${JSON.stringify(stack)} of project ${JSON.stringify(project)} is also deployed by ${earlier.file}`,
        expected: "a Pulumi stack no other environment deploys",
      });
    }
  }
  return issues;
}

/**
 * A promotion gate must name (or default to) an environment below this one: one with a lower
 * order. Judged only when this file's name and order are valid.
 */
function promotionIssues(identity: EnvironmentIdentity, all: readonly EnvironmentIdentity[]): ConfigIssue[] {
  const { file, name, order, promotion } = identity;
  if (!promotion || name === undefined || order === undefined) return [];
  const ranked = all.flatMap((other) =>
    other.name !== undefined && other.order !== undefined ? [{ name: other.name, order: other.order }] : [],
  );
  const below = ranked
    .filter((other) => other.name !== name && other.order < order)
    .sort((a, b) => a.order - b.order)
    .map((other) => JSON.stringify(other.name));
  const expected =
    below.length > 0
      ? `the name of an environment with an order below ${order}: ${below.join(", ")}`
      : `no promotion gate: no environment has an order below ${order}`;
  const issue = (path: string, message: string, value?: string): ConfigIssue[] => [
    { file, path, ...(value === undefined ? {} : { value }), message, expected },
  ];
  const from = promotion.from;
  if (from === undefined) {
    return below.length > 0
      ? []
      : issue(
          "gates.promotion",
          `has no environment to promote from: ${name} is first in the promotion order`,
        );
  }
  if (from === name) return issue("gates.promotion.from", `"${from}" is this environment itself`, from);
  const source = ranked.find((other) => other.name === from);
  if (!source) return issue("gates.promotion.from", `"${from}" is not an environment`, from);
  if (source.order >= order) {
    return issue("gates.promotion.from", `"${from}" has order ${source.order}, not below ${order}`, from);
  }
  return [];
}

/** The fields of an environment file that the cross-file checks use, each kept only when valid. */
export function environmentIdentity(file: string, data: unknown): EnvironmentIdentity {
  const record = asRecord(data);
  const valid = <K extends "name" | "order" | "branch" | "stack" | "project">(key: K) =>
    EnvironmentFile.shape[key].safeParse(record[key]).data as EnvironmentFile[K] | undefined;
  const name = valid("name");
  // An invalid branch or stack is reported by the schema; it must not fall back to the name.
  const branch = record.branch === undefined ? name : valid("branch");
  const stack = record.stack === undefined ? name : valid("stack");
  const promotion = PromotionConfig.safeParse(asRecord(record.gates).promotion).data;
  const several = Array.isArray(record.stacks);
  const pulumiStacks = several
    ? (record.stacks as unknown[]).flatMap((item) => {
        const entry = StackConfig.safeParse(item).data;
        const pulumiStack = entry?.stack ?? name;
        return entry && pulumiStack !== undefined
          ? [JSON.stringify([normalizeRepoPath(entry.project), pulumiStack])]
          : [];
      })
    : (() => {
        const project = record.project === undefined ? "." : valid("project");
        return project !== undefined && stack !== undefined
          ? [JSON.stringify([normalizeRepoPath(project), stack])]
          : [];
      })();
  return {
    file,
    name,
    order: valid("order"),
    branch,
    stack,
    ...(promotion ? { promotion } : {}),
    pulumiStacks,
    ...(several ? { several } : {}),
  };
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
