import { TidegateError } from "./errors";

// What an API token may do. A scope is a verb, and for the verbs that act on one environment, that
// environment: `approve:prod`. `admin` allows everything. There are no wildcards (`approve:*`):
// a wildcard would reach environments added after the token was made, which nobody reviewed when
// granting it; `admin` is the explicit "everything", and one scope per environment says the rest.

export type Scope = "read" | "admin" | `approve:${string}` | `sync:${string}` | `promote:${string}`;

/** The verbs that take an environment. */
export const ENVIRONMENT_VERBS = ["approve", "sync", "promote"] as const;
export type EnvironmentVerb = (typeof ENVIRONMENT_VERBS)[number];

/** What `parseScope` accepts, for error messages and help. */
export const SCOPE_FORMS = "read, admin, approve:<env>, sync:<env> or promote:<env>";

// The environment keys tidegate's configuration makes: a kebab-case name (see config/rules.ts), after
// "<repository>." when tidegate.yaml lists several repositories (see config/repositories.ts).
const ENVIRONMENT_NAME = /^(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)?[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A scope as written (`--scope approve:prod`); TidegateError "invalid" naming the text otherwise. */
export function parseScope(text: string): Scope {
  const scope = text.trim();
  if (scope === "read" || scope === "admin") return scope;
  const colon = scope.indexOf(":");
  const verb = colon < 0 ? scope : scope.slice(0, colon);
  if (!(ENVIRONMENT_VERBS as readonly string[]).includes(verb)) {
    throw invalid(text, `expected ${SCOPE_FORMS}`);
  }
  const environment = colon < 0 ? "" : scope.slice(colon + 1);
  if (environment === "") throw invalid(text, `expected ${verb}:<env>, e.g. ${verb}:prod`);
  if (!ENVIRONMENT_NAME.test(environment)) {
    const wildcard = environment.includes("*")
      ? " (wildcards are not supported: name each environment, or use admin)"
      : "";
    throw invalid(text, `'${environment}' is not an environment name (kebab case, e.g. prod)${wildcard}`);
  }
  return `${verb as EnvironmentVerb}:${environment}`;
}

/** Whether `text` is a scope exactly as parseScope returns it (for records read back). */
export function isScope(text: string): text is Scope {
  try {
    return parseScope(text) === text;
  } catch {
    return false;
  }
}

/**
 * Whether a token with `scopes` may do what `needed` names. `admin` allows everything; any other
 * scope allows exactly itself. Acting does not imply reading: `approve:prod` alone approves a
 * digest it was given, and a token that should also see the plan gets `read` too.
 */
export function allows(scopes: readonly Scope[], needed: Scope): boolean {
  return scopes.includes("admin") || scopes.includes(needed);
}

/** Whether the scopes allow at least one of `needed`. */
export function allowsAny(scopes: readonly Scope[], needed: readonly Scope[]): boolean {
  return needed.some((one) => allows(scopes, one));
}

function invalid(text: string, expected: string): TidegateError {
  return new TidegateError("invalid", `invalid scope '${text}': ${expected}`, {
    recovery: `give each scope as one of ${SCOPE_FORMS}`,
    remoteSafe: true,
  });
}
