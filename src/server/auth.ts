import type { Context, MiddlewareHandler } from "hono";
import type { Principal } from "../app/tokens";
import { allowsAny, type Scope } from "../domain/token";
import { apiError } from "./problem";

// Who is calling: `Authorization: Bearer <secret>` is handed to authenticate() (the token store);
// the principal's actor is who the use cases act for. A request without a token may only read, and
// only when server.anonymousRead says so; each route then names the scope it needs.

export type Authenticate = (secret: string) => Promise<Principal | undefined>;

export interface AuthVariables {
  /** Undefined for an anonymous read. */
  principal: Principal | undefined;
}

export function authentication(options: {
  authenticate: Authenticate;
  anonymousRead: boolean;
}): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (header === undefined) {
      if (!(options.anonymousRead && (c.req.method === "GET" || c.req.method === "HEAD"))) {
        throw unauthorized("a token is needed: send Authorization: Bearer <token>");
      }
      c.set("principal", undefined);
      return next();
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw unauthorized("the Authorization header is not Bearer <token>");
    const principal = await options.authenticate(match[1]);
    if (!principal) throw unauthorized("the token is unknown, expired or revoked");
    c.set("principal", principal);
    return next();
  };
}

/**
 * A route's guard: the caller's token must allow `scope`, or one of several (read may be anonymous,
 * see above).
 */
export function requires(
  scope: Scope | ((c: Context) => Scope | Scope[]),
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const found = typeof scope === "function" ? scope(c) : scope;
    const needed = Array.isArray(found) ? found : [found];
    const principal = c.get("principal");
    if (principal === undefined) {
      if (!needed.includes("read")) {
        throw unauthorized("a token is needed: send Authorization: Bearer <token>");
      }
    } else if (!allowsAny(principal.scopes, needed)) {
      const named = needed.join(" or ");
      throw apiError(
        "refused",
        `token '${principal.name}' lacks the scope ${named}`,
        `use a token with ${named} (or admin)`,
      );
    }
    return next();
  };
}

/** The principal of a route that required a token. */
export function principalOf(c: Context<{ Variables: AuthVariables }>): Principal {
  const principal = c.get("principal");
  if (!principal) throw unauthorized("a token is needed: send Authorization: Bearer <token>");
  return principal;
}

function unauthorized(message: string) {
  return apiError(
    "unauthorized",
    message,
    "create a token with `tidegate token create` and send it as a Bearer token",
  );
}
