// The environment of every process tidegate starts for an environment (npm, the Pulumi CLI and
// what it starts, gate checks, credential commands): a short allowlist of tidegate's own variables
// plus what the environment declares. Nothing else of tidegate's environment — another
// environment's credentials, the engine-wide passphrase — reaches a program committed to a branch.

/** The proxy settings, in both spellings programs read. */
export const PROXY_VARIABLES: readonly string[] = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
];

/** Variables of tidegate's own environment that every such process gets: locale, home, proxies. */
export const INHERITED_VARIABLES: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  ...PROXY_VARIABLES,
];

/** Prefixes of inherited variables: the locale's categories. */
const INHERITED_PREFIXES: readonly string[] = ["LC_"];

/**
 * npm's own settings (registry, cache, proxy) as the operator set them, for installs only: an
 * install needs the registry and nothing of the environment's cloud.
 */
const NPM_PREFIXES: readonly string[] = ["npm_config_", "NPM_CONFIG_"];

export type ProcessEnv = Record<string, string>;

/** The variables of `from` a process started for an environment inherits. */
export function inheritedEnv(
  from: NodeJS.ProcessEnv = process.env,
  prefixes: readonly string[] = INHERITED_PREFIXES,
): ProcessEnv {
  const env: ProcessEnv = {};
  for (const [name, value] of Object.entries(from)) {
    if (value === undefined) continue;
    if (INHERITED_VARIABLES.includes(name) || prefixes.some((prefix) => name.startsWith(prefix))) {
      env[name] = value;
    }
  }
  return env;
}

/** What an environment adds to the inherited variables, later parts winning. */
export interface DeclaredVariables {
  /** Declared by the engine for every environment (the embedded default's emulator settings). */
  engine?: ProcessEnv;
  /** The environment's `config:`, non-secret. */
  config?: ProcessEnv;
  /** The environment's credentials for the mode at hand (read or update). */
  credentials?: ProcessEnv;
}

/** The whole environment of a Pulumi or gate-check process of an environment. */
export function environmentProcessEnv(
  declared: DeclaredVariables,
  from: NodeJS.ProcessEnv = process.env,
): ProcessEnv {
  return { ...inheritedEnv(from), ...declared.engine, ...declared.config, ...declared.credentials };
}

/** The whole environment of an npm install: the inherited variables and npm's settings, no credentials. */
export function installProcessEnv(from: NodeJS.ProcessEnv = process.env): ProcessEnv {
  return inheritedEnv(from, [...INHERITED_PREFIXES, ...NPM_PREFIXES]);
}
