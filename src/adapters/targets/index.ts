import type { CredentialSources, ResolvedEnvironment, ValueSourceSpec } from "../../config/resolve";
import type { KnownSecrets } from "../../log/redact";
import { TidegateError } from "../../domain/errors";
import type { StackOptions } from "../pulumi/stack";
import { environmentProcessEnv, installProcessEnv, type ProcessEnv } from "./process-env";
import { KubeconfigFiles, resolveKubeconfig } from "./kubeconfig";
import { readSource, SourceError, sourceLabel } from "./sources";

export { environmentProcessEnv, inheritedEnv, installProcessEnv, INHERITED_VARIABLES } from "./process-env";
export type { ProcessEnv } from "./process-env";
export { readSource, SourceError, sourceLabel } from "./sources";
export { KubeconfigFiles, resolveKubeconfig } from "./kubeconfig";

// What one run of an environment's stacks needs: its backend, its secrets provider, and the
// environment of each process it starts — read-only work with the read credentials, an update
// with the update credentials, an install with none. Sources are read when a run starts; the
// update credentials only when an update runs.

/** The part of an environment definition a target needs. */
export type TargetEnvironment = Pick<
  ResolvedEnvironment,
  "name" | "file" | "config" | "credentials" | "secrets" | "backendUrl" | "install"
>;

export interface TargetOptions {
  environment: TargetEnvironment;
  /** Variables the engine declares for every environment (the embedded default's emulator settings). */
  engineEnv?: ProcessEnv;
  /** The engine-wide backend, for an environment without its own. */
  engineBackendUrl: string;
  /** The engine-wide passphrase, for an environment without its own secrets provider. */
  enginePassphrase?: string;
  /** Where the engine-wide passphrase comes from, named in errors (never the value). */
  enginePassphraseSource?: string;
  /** Every value read is added here, so that no log line, report or audit entry shows it. */
  knownSecrets: KnownSecrets;
  /** tidegate's own environment; default process.env. */
  from?: NodeJS.ProcessEnv;
  /** How long a credential command may run. */
  commandTimeoutMs?: number;
  /** Where an environment's kubeconfig is written for its processes; default: a folder of its own. */
  kubeconfigFiles?: KubeconfigFiles;
}

/** A credential or passphrase that could not be read, naming the environment, field and source. */
export class CredentialError extends TidegateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unauthorized", message, {
      ...options,
      recovery: "provide the value at the source named (a variable, a file or a command), then check again.",
    });
    this.name = "CredentialError";
  }
}

export class EnvironmentTarget {
  private update: Promise<ProcessEnv> | undefined;

  private constructor(
    private readonly options: TargetOptions,
    /** The environment of read-only work: previews, drift previews, policy packs, gate checks. */
    readonly readEnv: ProcessEnv,
    /** The passphrase of the environment's stacks; undefined with a cloud secrets provider. */
    readonly passphrase: string | undefined,
    /** KUBECONFIG for read and update alike: the private file holding the cluster's kubeconfig. */
    private readonly cluster: ProcessEnv,
  ) {}

  /** Reads the read credentials, the kubeconfig and the passphrase; a CredentialError when one is missing. */
  static async open(options: TargetOptions): Promise<EnvironmentTarget> {
    const { environment } = options;
    const credentials = await readAll(options, environment.credentials.read, "credentials.read");
    const cluster = await writeKubeconfig(options);
    const passphrase = await readPassphrase(options);
    return new EnvironmentTarget(
      options,
      processEnv(options, { ...credentials, ...cluster }),
      passphrase,
      cluster,
    );
  }

  /** Files outside the worktree the environment's processes read: what a sandbox binds read-only. */
  files(): string[] {
    return Object.values(this.cluster);
  }

  get name(): string {
    return this.options.environment.name;
  }

  get backendUrl(): string {
    return this.options.environment.backendUrl ?? this.options.engineBackendUrl;
  }

  /** A cloud secrets provider for a new stack (awskms://…); undefined: the passphrase provider. */
  get secretsProvider(): string | undefined {
    const secrets = this.options.environment.secrets;
    return secrets?.kind === "provider" ? secrets.url : undefined;
  }

  /** What opening one of the environment's stacks takes of it (see PulumiStack.open). */
  stackOptions(): Pick<
    StackOptions,
    | "backendUrl"
    | "passphrase"
    | "passphraseSource"
    | "environment"
    | "secretsProvider"
    | "env"
    | "updateEnv"
    | "secrets"
  > {
    const { passphrase, secretsProvider } = this;
    return {
      backendUrl: this.backendUrl,
      environment: this.options.environment.name,
      ...(passphrase === undefined ? {} : { passphrase, passphraseSource: this.passphraseSource() }),
      ...(secretsProvider === undefined ? {} : { secretsProvider }),
      env: this.readEnv,
      updateEnv: () => this.updateEnv(),
      secrets: this.options.knownSecrets,
    };
  }

  /** Where the passphrase comes from, for messages: a source's label, never its value. */
  private passphraseSource(): string {
    const { environment, enginePassphraseSource } = this.options;
    const secrets = environment.secrets;
    if (secrets?.kind === "passphrase") {
      return `${sourceLabel(secrets.source)} (${environment.file}: secrets.passphrase)`;
    }
    return enginePassphraseSource ?? "the engine-wide passphrase of tidegate.yaml";
  }

  /**
   * Every variable name the environment's engine may be given, in preview or in update (an update's
   * credentials are named before they are read): what a sandbox lets through.
   */
  variableNames(): string[] {
    const update = Object.keys(this.options.environment.credentials.update);
    return [...new Set([...Object.keys(this.readEnv), ...update])];
  }

  /** The environment of an update; its credentials are read on first use, once per run. */
  updateEnv(): Promise<ProcessEnv> {
    const { environment } = this.options;
    this.update ??= readAll(this.options, environment.credentials.update, "credentials.update").then(
      (credentials) => processEnv(this.options, { ...credentials, ...this.cluster }),
    );
    return this.update;
  }
}

/**
 * How an environment's npm installs run: with no credentials and no config (an install needs only
 * the registry, and the branch's package.json must not reach the cloud), and without lifecycle
 * scripts unless the environment opted in.
 */
export function installSettings(
  environment: Pick<TargetEnvironment, "install">,
  from?: NodeJS.ProcessEnv,
): { env: ProcessEnv; scripts: boolean } {
  return { env: installProcessEnv(from), scripts: environment.install.scripts };
}

function processEnv(options: TargetOptions, credentials: ProcessEnv): ProcessEnv {
  return environmentProcessEnv(
    { engine: options.engineEnv, config: options.environment.config, credentials },
    options.from,
  );
}

async function readAll(
  options: TargetOptions,
  sources: CredentialSources,
  field: string,
): Promise<ProcessEnv> {
  const entries = await Promise.all(
    Object.entries(sources).map(async ([name, source]) => [
      name,
      await read(options, source, `${field}.${name}`),
    ]),
  );
  return Object.fromEntries(entries) as ProcessEnv;
}

/** KUBECONFIG naming a private copy of the environment's kubeconfig; none without one. */
async function writeKubeconfig(options: TargetOptions): Promise<ProcessEnv> {
  const { environment } = options;
  const source = environment.credentials.kubeconfig;
  if (source === undefined) return {};
  const field = "credentials.kubeconfig";
  const label = sourceLabel(source);
  // Not remembered as a secret yet: it may be a path, which is none.
  const value = await read(options, source, field, { secret: false });
  const kubeconfig = await wrapped(options, field, label, () => resolveKubeconfig(value, label));
  for (const secret of kubeconfig.secrets) options.knownSecrets.add(secret);
  const files = options.kubeconfigFiles ?? new KubeconfigFiles();
  return { KUBECONFIG: files.write(environment.name, kubeconfig.contents) };
}

async function readPassphrase(options: TargetOptions): Promise<string | undefined> {
  const { environment, enginePassphrase } = options;
  const secrets = environment.secrets;
  if (secrets?.kind === "provider") return undefined;
  if (secrets?.kind === "passphrase") return read(options, secrets.source, "secrets.passphrase");
  if (enginePassphrase === undefined) {
    throw new CredentialError(
      `environment ${environment.name} (${environment.file}) has no secrets provider of its own, and the engine-wide passphrase is not set: set secrets.passphrase in ${environment.file}, or the passphrase in tidegate.yaml`,
    );
  }
  return enginePassphrase;
}

/** A source's value, remembered as a secret unless `secret: false` (a path, remembered by the caller). */
async function read(
  options: TargetOptions,
  source: ValueSourceSpec,
  field: string,
  { secret } = { secret: true },
): Promise<string> {
  return wrapped(options, field, sourceLabel(source), async () => {
    const value = await readSource(source, {
      ...(options.from ? { from: options.from } : {}),
      ...(options.commandTimeoutMs ? { timeoutMs: options.commandTimeoutMs } : {}),
    });
    if (secret) options.knownSecrets.add(value);
    return value;
  });
}

/** Runs `work`, turning its failure into a CredentialError naming the environment, its file and the field. */
async function wrapped<T>(
  options: TargetOptions,
  field: string,
  label: string,
  work: () => Promise<T>,
): Promise<T> {
  const { environment } = options;
  try {
    return await work();
  } catch (err) {
    const why = err instanceof SourceError ? err.message : `${label}: ${String(err)}`;
    throw new CredentialError(`environment ${environment.name} (${environment.file}): ${field}: ${why}`, {
      cause: err,
    });
  }
}
