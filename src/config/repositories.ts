import type { Gates } from "../domain/gates";

// Several repositories in one tidegate.yaml. An environment is known across tidegate (the store,
// the CLI, the API, the dashboard, reports) by its key: its plain name with one repository, and
// "<repository>.<name>" with several. Both parts are kebab-case, so the dot is never ambiguous, and
// a key stays a single URL path segment and a single file name.

/** The separator between a repository's name and its environment's name in a key. */
export const KEY_SEPARATOR = ".";

/** The key of environment `name` of repository `repository` (undefined: the only repository). */
export function environmentKey(repository: string | undefined, name: string): string {
  return repository === undefined ? name : `${repository}${KEY_SEPARATOR}${name}`;
}

/** The environment's name within its repository: its file's name, its default branch and stack. */
export function localName(env: { name: string; repository?: string }): string {
  return env.repository === undefined ? env.name : env.name.slice(env.repository.length + 1);
}

/** The gates with their promotion source named by its key (a promotion stays within one repository). */
export function qualifyGates(gates: Gates, repository: string | undefined): Gates {
  if (repository === undefined || !gates.promotion) return gates;
  return {
    ...gates,
    promotion: { ...gates.promotion, from: environmentKey(repository, gates.promotion.from) },
  };
}

/** The file label of `file` read from repository `repository`, as issues name it: "payments:environments/test.yaml". */
export function repositoryFile(repository: string | undefined, file: string): string {
  return repository === undefined ? file : `${repository}:${file}`;
}
