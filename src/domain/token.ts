import { TidegateError } from "./errors";

// What an API token may do (the tokens slice owns this file; this is the interface the server codes
// against). `admin` allows everything; the verbs that act on one environment name it.

export type Scope = "read" | "admin" | `approve:${string}` | `sync:${string}` | `promote:${string}`;

const VERBS = ["approve", "sync", "promote"];

/** A scope as written; TidegateError "invalid" naming the text otherwise. */
export function parseScope(text: string): Scope {
  const scope = text.trim();
  if (scope === "read" || scope === "admin") return scope;
  const [verb = "", environment = ""] = scope.split(":", 2);
  if (!VERBS.includes(verb) || !/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(environment)) {
    throw new TidegateError("invalid", `invalid scope '${text}': expected read, admin or <verb>:<env>`, {
      remoteSafe: true,
    });
  }
  return scope as Scope;
}

/** Whether `scopes` allow `needed`: admin allows all; any scope allows reading. */
export function allows(scopes: readonly Scope[], needed: Scope): boolean {
  if (scopes.includes("admin")) return true;
  if (needed === "read") return scopes.length > 0;
  return scopes.includes(needed);
}
