import { getConnInfo } from "@hono/node-server/conninfo";
import { type Context, type Env as HonoEnv, Hono, type MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import { streamSSE } from "hono/streaming";
import type { HtmlEscapedString } from "hono/utils/html";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { z } from "zod";
import type { Principal } from "../../app/tokens";
import { TidegateError } from "../../domain/errors";
import { allows, allowsAny, type EnvironmentVerb, type Scope } from "../../domain/token";
import type { Logger } from "../../log";
import type { Authenticate } from "../auth";
import type { ApiPorts } from "../ports";
import { apiError, problemOf } from "../problem";
import { AuditQuery, PagingQuery } from "../schemas";
import { RunFeed } from "./events";
import { ApproveForm, EmptyForm, firstIssue, Flash, LoginForm, PromoteForm, ResolveForm } from "./forms";
import { LoginThrottle, sameSecret, type Session, SessionStore } from "./sessions";
import {
  ASSETS,
  auditPage,
  driftResolutionPage,
  environmentPage,
  errorPage,
  historyPage,
  loginPage,
  type PageContext,
  pipelinePage,
  runPage,
} from "./views";

// The dashboard: server-rendered pages over the same use cases (ApiPorts) and scopes as /api/v1.
// People sign in with an API token; the session cookie stands for it (see sessions.ts). The API
// itself keeps Bearer auth only: a session cookie never authorizes /api/v1, so scripts need no
// CSRF token and a forged cross-site request to the API carries no credentials.

export interface DashboardOptions {
  /** How often the events watch the store; 1 s by default. */
  pollMs?: number;
  keepAliveMs?: number;
  /** Sessions last this long (12 h by default), or until their token is revoked or expires. */
  sessionTtlMs?: number;
  /** Cookies marked Secure: on when the server speaks HTTPS (server.tls). */
  secureCookies?: boolean;
  now?: () => Date;
  /** The client's address for the sign-in throttle; the socket's peer by default. */
  clientAddress?: (c: Context) => string;
  /** Aborted when the server closes: the events end and the store is no longer watched. */
  closed?: AbortSignal;
}

export interface DashboardDeps {
  api: ApiPorts;
  authenticate: Authenticate;
  anonymousRead: boolean;
  log: Pick<Logger, "error">;
  dashboard?: DashboardOptions;
}

const SESSION_COOKIE = "tidegate_session";
const FLASH_COOKIE = "tidegate_flash";
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 10_000;
const LOGIN_FAILURES = 10;
const LOGIN_WINDOW_MS = 15 * 60 * 1000;
const HISTORY_LIMIT = 25;
const AUDIT_LIMIT = 50;
const UNKNOWN_TOKEN = "the token is unknown, expired or revoked";

/**
 * Every response, pages and API alike: a CSP that allows only our own script and style, no framing.
 * HSTS only when tidegate speaks HTTPS itself (behind a proxy, the proxy decides).
 */
const securityHeaders = (https: boolean) =>
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    referrerPolicy: "no-referrer",
    xContentTypeOptions: "nosniff",
    strictTransportSecurity: https,
  });

/** Hono's origin check (Origin or Sec-Fetch-Site must be this site) for every form post. */
const originCheck = csrf();

interface Viewer {
  principal: Principal;
  session: Session;
}
type DashEnv = { Variables: { viewer: Viewer | undefined } };
type Ctx = Context<DashEnv>;

export interface Dashboard {
  /** The 404 page for a browser outside /api/v1; undefined where the API's problem+json applies. */
  notFound(c: Context): Response | Promise<Response> | undefined;
}

/** Serves the dashboard's pages, forms, events and assets on `app`, and security headers on all of it. */
export function mountDashboard<E extends HonoEnv>(app: Hono<E>, deps: DashboardDeps): Dashboard {
  const { api } = deps;
  const options = deps.dashboard ?? {};
  const now = options.now ?? (() => new Date());
  const secure = options.secureCookies ?? false;
  const sessions = new SessionStore({
    ttlMs: options.sessionTtlMs ?? SESSION_TTL_MS,
    max: MAX_SESSIONS,
    now: () => now().getTime(),
  });
  const throttle = new LoginThrottle({
    max: LOGIN_FAILURES,
    windowMs: LOGIN_WINDOW_MS,
    maxAddresses: MAX_SESSIONS,
    now: () => now().getTime(),
  });
  const feed = new RunFeed({
    marks: () => api.runMarks(),
    intervalMs: options.pollMs ?? 1000,
    onError: (error) => deps.log.error({ err: error }, "the dashboard's events could not read the store"),
  });
  options.closed?.addEventListener("abort", () => feed.close(), { once: true });
  const clientAddress = options.clientAddress ?? peerAddress;

  app.use("*", securityHeaders(secure), async (c, next) => {
    await next();
    if (!c.req.path.startsWith("/assets/")) c.header("Cache-Control", "no-store");
  });

  const web = new Hono<DashEnv>();
  web.onError((error, c) => {
    if (!(error instanceof TidegateError) || !error.remoteSafe) {
      deps.log.error({ err: error, method: c.req.method, path: c.req.path }, "dashboard request failed");
    }
    const problem = problemOf(error);
    return render(c, errorPage(problem, context(c)), problem.status);
  });

  // Who is asking: the session's token, authenticated again on every request.
  const identify: MiddlewareHandler<DashEnv> = async (c, next) => {
    c.set("viewer", undefined);
    const id = getCookie(c, SESSION_COOKIE);
    const session = id === undefined ? undefined : sessions.get(id);
    const principal = session && (await deps.authenticate(session.secret));
    if (session && principal) c.set("viewer", { principal, session });
    else if (id !== undefined) {
      if (session) sessions.delete(session.id);
      deleteCookie(c, SESSION_COOKIE, { path: "/", secure });
    }
    return next();
  };

  // A page reads: a signed-in token with read, or anyone when server.anonymousRead says so.
  const readable: MiddlewareHandler<DashEnv> = async (c, next) => {
    const viewer = c.get("viewer");
    if (!viewer) {
      if (deps.anonymousRead) return next();
      const url = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 303);
    }
    if (!allows(viewer.principal.scopes, "read")) return forbidden(c, lacks(viewer.principal, "read"));
    return next();
  };

  const context = (c: Ctx, flash?: Flash): PageContext => {
    const viewer = c.get("viewer");
    return {
      ...(viewer
        ? {
            viewer: { name: viewer.principal.name, scopes: viewer.principal.scopes },
            csrf: viewer.session.csrf,
          }
        : {}),
      ...(flash ? { flash } : {}),
      now: now(),
    };
  };
  /** The page's context with the last form's outcome, which is shown once. */
  const pageContext = (c: Ctx): PageContext => {
    const raw = getCookie(c, FLASH_COOKIE);
    if (raw === undefined) return context(c);
    deleteCookie(c, FLASH_COOKIE, { path: "/", secure });
    return context(c, parseFlash(raw));
  };
  const setFlash = (c: Ctx, flash: Flash) =>
    setCookie(c, FLASH_COOKIE, Buffer.from(JSON.stringify(flash)).toString("base64url"), {
      path: "/",
      httpOnly: true,
      sameSite: "Strict",
      secure,
      maxAge: 60,
    });

  const forbidden = (c: Ctx, detail: string, recovery?: string) =>
    render(
      c,
      errorPage({ status: 403, title: "Forbidden", detail, ...(recovery ? { recovery } : {}) }, context(c)),
      403,
    );

  /** The origin check, answering 403 with a page rather than a bare text. */
  const formOrigin: MiddlewareHandler<DashEnv> = async (c, next) => {
    try {
      await originCheck(c, async () => {});
    } catch {
      const detail = "the form was posted from another site (its Origin is not this dashboard's)";
      return c.html(errorPage({ status: 403, title: "Forbidden", detail }, { now: now() }), 403);
    }
    return next();
  };

  // Pages.
  web.get("/", identify, readable, async (c) =>
    render(c, pipelinePage(await api.environments(), pageContext(c), await api.webhookDeliveries())),
  );

  web.get("/environments/:env", identify, readable, async (c) => {
    const env = c.req.param("env");
    const envs = await api.environments();
    const index = envs.findIndex((overview) => overview.environment === env);
    const overview = envs[index];
    if (!overview) {
      const known = envs.map((e) => e.environment).join(", ") || "none";
      throw apiError("not-found", `unknown environment '${env}' (known: ${known})`);
    }
    const report = await api.latestReport(env).catch((error: unknown) => {
      if (problemOf(error).kind === "not-found") return undefined;
      throw error;
    });
    // Promotion order: the environment below is the one promoted from (the promote use case
    // checks it again).
    const promotableFrom = envs[index - 1]?.environment;
    return render(
      c,
      environmentPage(
        { overview, ...(report ? { report } : {}), ...(promotableFrom ? { promotableFrom } : {}) },
        pageContext(c),
      ),
    );
  });

  web.get("/environments/:env/runs", identify, readable, async (c) => {
    const paging = parseQuery(PagingQuery, { limit: String(HISTORY_LIMIT), ...given(c.req.query()) });
    const env = c.req.param("env");
    return render(c, historyPage(env, await api.history(env, paging), pageContext(c)));
  });

  web.get("/environments/:env/runs/:runId", identify, readable, async (c) =>
    render(c, runPage(await api.runReport(c.req.param("env"), c.req.param("runId")), pageContext(c))),
  );

  web.get("/audit", identify, readable, async (c) => {
    const filter = given(c.req.query());
    const { page, limit, since, until, ...rest } = parseQuery(AuditQuery, {
      limit: String(AUDIT_LIMIT),
      ...filter,
    });
    const entries = await api.audit(
      {
        ...definedOnly(rest),
        ...(since ? { since: new Date(since) } : {}),
        ...(until ? { until: new Date(until) } : {}),
      },
      { page, limit },
    );
    delete filter["page"];
    return render(c, auditPage(entries, filter, pageContext(c)));
  });

  // Signing in and out.
  web.get("/login", identify, async (c) => {
    const next = safeNext(c.req.query("next"));
    if (c.get("viewer")) return c.redirect(next ?? "/", 303);
    return render(c, loginPage({ ...pageContext(c), ...(next ? { next } : {}) }));
  });

  web.post("/login", formOrigin, identify, async (c) => {
    const address = clientAddress(c);
    const fields = given(await formFields(c));
    const next = safeNext(fields["next"]);
    const again = (status: 400 | 401 | 429, error: string) =>
      render(c, loginPage({ ...context(c), error, ...(next ? { next } : {}) }), status);
    const wait = throttle.blockedFor(address);
    if (wait > 0) {
      return again(
        429,
        `too many failed sign-ins from this address: try again in ${Math.ceil(wait / 60_000)} min`,
      );
    }
    const form = LoginForm.safeParse(fields);
    if (!form.success) return again(400, firstIssue(form.error));
    const principal = await deps.authenticate(form.data.token);
    if (!principal) {
      throttle.failed(address);
      return again(401, UNKNOWN_TOKEN);
    }
    throttle.succeeded(address);
    const old = c.get("viewer");
    if (old) sessions.delete(old.session.id);
    const session = sessions.create(form.data.token);
    setCookie(c, SESSION_COOKIE, session.id, {
      path: "/",
      httpOnly: true,
      sameSite: "Strict",
      secure,
      maxAge: Math.floor((options.sessionTtlMs ?? SESSION_TTL_MS) / 1000),
    });
    return c.redirect(next ?? "/", 303);
  });

  web.post("/logout", formOrigin, identify, async (c) => {
    const viewer = c.get("viewer");
    if (viewer) {
      if (!csrfMatches(await formFields(c), viewer.session)) return forbidden(c, BAD_CSRF, RELOAD);
      sessions.delete(viewer.session.id);
      deleteCookie(c, SESSION_COOKIE, { path: "/", secure });
    }
    return c.redirect("/login", 303);
  });

  // Forms that act: the same scope as the API route, then the same use case; the outcome is a flash
  // on the environment page.
  /** A form post's fields, once signed in with its CSRF token and one of the verbs' scopes; else the answer. */
  const formPost = async (
    c: Ctx,
    env: string,
    verbs: readonly EnvironmentVerb[],
  ): Promise<{ viewer: Viewer; fields: Record<string, string> } | Response> => {
    const back = `/environments/${encodeURIComponent(env)}`;
    const viewer = c.get("viewer");
    if (!viewer) return c.redirect(`/login?next=${encodeURIComponent(back)}`, 303);
    const fields = await formFields(c);
    if (!csrfMatches(fields, viewer.session)) return forbidden(c, BAD_CSRF, RELOAD);
    const scopes = verbs.map((verb): Scope => `${verb}:${env}`);
    if (!allowsAny(viewer.principal.scopes, scopes)) {
      const needed = scopes.join(" or ");
      return forbidden(c, lacks(viewer.principal, needed), `sign in with a token with ${needed} (or admin)`);
    }
    delete fields["_csrf"];
    return { viewer, fields };
  };

  const action = <T extends z.ZodType>(
    name: string,
    verb: EnvironmentVerb,
    form: T,
    act: (env: string, input: z.output<T>, principal: Principal) => Promise<Flash>,
  ) =>
    web.post(`/environments/:env/${name}`, formOrigin, identify, async (c) => {
      const env = c.req.param("env");
      const back = `/environments/${encodeURIComponent(env)}`;
      const post = await formPost(c, env, [verb]);
      if (post instanceof Response) return post;
      const { viewer, fields } = post;
      const input = form.safeParse(fields);
      const flash = input.success
        ? await act(env, input.data, viewer.principal).catch((error: unknown) => {
            const problem = problemOf(error);
            if (problem.kind === "not-found" || problem.kind === "internal") throw error;
            return { kind: "error" as const, text: problem.detail };
          })
        : { kind: "error" as const, text: firstIssue(input.error) };
      setFlash(c, flash);
      return c.redirect(back, 303);
    });

  action("approve", "approve", ApproveForm, async (env, input, principal) => {
    const result = await api.approve(
      env,
      {
        digest: input.digest,
        ...(input.protected ? { protected: true } : {}),
        ...(input.comment ? { comment: input.comment } : {}),
        ...(input.resolve ? { resolve: input.resolve } : {}),
      },
      principal.actor,
    );
    if (result.approval) {
      const what = input.resolve ? `the ${input.resolve} plan` : "plan";
      const next = input.resolve ? `; ${input.resolve} it (Restore or Accept drift) to apply it` : "";
      return {
        kind: "ok",
        text: `approved ${what} ${input.digest} of ${result.approval.commit.slice(0, 7)}${next}`,
      };
    }
    const current = result.report.plan?.digest;
    if (result.refusal === "stale") {
      return {
        kind: "error",
        text: `not approved: the plan changed since it was reviewed (reviewed ${input.digest}, now ${current ?? "none"}); review the plan below and approve again`,
      };
    }
    if (result.refusal === "no-plan") {
      return { kind: "error", text: `nothing to approve: ${env} is ${result.report.status}` };
    }
    return { kind: "error", text: `not approved: ${result.refused ?? "refused"}` };
  });

  action("revoke", "approve", EmptyForm, async (env, _input, principal) => {
    const revoked = await api.revoke(env, {}, principal.actor);
    const text =
      revoked.length === 0
        ? `no approval of ${principal.actor.id} to revoke`
        : `revoked ${revoked.length} approval${revoked.length === 1 ? "" : "s"} of ${principal.actor.id}`;
    return { kind: "ok", text };
  });

  for (const kind of ["check", "sync"] as const) {
    action(kind, "sync", EmptyForm, async (env, _input, principal) => {
      const request = await api.request(env, kind, principal.actor);
      return {
        kind: "ok",
        text: `${kind} requested (request ${request.seq}): this page updates when the run finishes`,
      };
    });
  }

  // Restore or accept the drift: a preview of its own plan (sync or approve may look), then the
  // approve form above (with its resolve) or the run below.
  web.post("/environments/:env/resolve-drift/preview", formOrigin, identify, async (c) => {
    const env = c.req.param("env");
    const post = await formPost(c, env, ["sync", "approve"]);
    if (post instanceof Response) return post;
    const input = ResolveForm.safeParse(post.fields);
    if (!input.success) throw apiError("invalid", firstIssue(input.error), RELOAD);
    const { resolve } = input.data;
    const report = await api.plan(env, { resolve }, post.viewer.principal.actor);
    return render(c, driftResolutionPage(resolve, report, context(c)));
  });

  action("resolve-drift", "sync", ResolveForm, async (env, input, principal) => {
    const report = await api.resolveDrift(env, input.resolve, principal.actor);
    const outcome = `${input.resolve}: ${env} is ${report.status}${report.reason ? ` (${report.reason})` : ""}`;
    if (report.sync?.applied) return { kind: "ok", text: outcome };
    const digest = report.plan ? `; its plan ${report.plan.digest} was not applied` : "";
    return { kind: "error", text: `${outcome}${digest}` };
  });

  action("promote", "promote", PromoteForm, async (env, input, principal) => {
    const result = await api.promote(input.from, env, { dryRun: input.dryRun }, principal.actor);
    if (result.outcome === "refused") return { kind: "error", text: `not promoted: ${result.reason}` };
    return { kind: "ok", text: `${result.outcome}: ${result.reason}` };
  });

  // Server-sent events: `run` when an environment's latest run changes, for the page to reload.
  web.get("/events", identify, readable, (c) =>
    streamSSE(c, async (stream) => {
      let end: () => void = () => {};
      const ended = new Promise<void>((resolve) => (end = resolve));
      const unsubscribe = feed.subscribe((mark) => {
        const data = JSON.stringify({
          environment: mark.environment,
          runId: mark.runId,
          status: mark.status,
        });
        stream.writeSSE({ event: "run", data }).catch(end);
      });
      const stop = () => {
        unsubscribe();
        end();
      };
      stream.onAbort(stop);
      if (options.closed?.aborted) stop();
      options.closed?.addEventListener("abort", stop, { once: true });
      try {
        await stream.write(": connected\n\n");
        const keepAlive = options.keepAliveMs ?? 15_000;
        while (!stream.aborted && !stream.closed && !options.closed?.aborted) {
          let timer: NodeJS.Timeout | undefined;
          const tick = new Promise<"tick">(
            (resolve) => (timer = setTimeout(() => resolve("tick"), keepAlive)),
          );
          const woke = await Promise.race([tick, ended]);
          clearTimeout(timer);
          if (woke !== "tick") break;
          await stream.write(": keep-alive\n\n");
        }
      } finally {
        options.closed?.removeEventListener("abort", stop);
        stop();
      }
    }),
  );

  web.get("/assets/:name", (c) => {
    const asset = Object.hasOwn(ASSETS, c.req.param("name")) ? ASSETS[c.req.param("name")] : undefined;
    if (!asset) throw apiError("not-found", `no asset ${c.req.param("name")}`);
    return c.body(asset.body, 200, {
      "content-type": asset.type,
      // Not hashed: an upgrade is seen within the hour.
      "cache-control": "public, max-age=3600",
    });
  });

  app.route("/", web);

  return {
    notFound: (c) => {
      if (c.req.path.startsWith("/api/") || !(c.req.header("accept") ?? "").includes("text/html")) {
        return undefined;
      }
      const detail = `no page ${c.req.path}`;
      return c.html(errorPage({ status: 404, title: "Not found", detail }, { now: now() }), 404);
    },
  };
}

const BAD_CSRF = "the form's CSRF token is missing or wrong";
const RELOAD = "reload the page and submit the form again";

function render(c: Context, page: HtmlEscapedString, status: number = 200): Response | Promise<Response> {
  return c.html(page, status as ContentfulStatusCode);
}

function lacks(principal: Principal, scope: string): string {
  return `token '${principal.name}' lacks the scope ${scope}`;
}

function csrfMatches(fields: Record<string, string>, session: Session): boolean {
  const given = fields["_csrf"];
  return given !== undefined && sameSecret(given, session.csrf);
}

/** A form's text fields (a file field is ignored). */
async function formFields(c: Context): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) if (typeof value === "string") out[key] = value;
  return out;
}

/** The fields given a value: an empty one is not given. */
function given(fields: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== ""));
}

function parseQuery<T extends z.ZodType>(schema: T, query: Record<string, string>): z.output<T> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw apiError("invalid", firstIssue(parsed.error), "correct the address");
  return parsed.data;
}

function definedOnly<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function parseFlash(raw: string): Flash | undefined {
  try {
    const parsed = Flash.safeParse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where to go after signing in: a path on this site only ("/x", never "//host" or "https://host"),
 * so a link to the login page cannot send anyone elsewhere.
 */
export function safeNext(next: string | undefined): string | undefined {
  if (!next || !next.startsWith("/") || next.startsWith("//")) return undefined;
  // URL parsing drops tabs and newlines and reads "\" as "/": "/\t/evil.example" would be "//evil.example".
  if (/[\s\\]/.test(next)) return undefined;
  const base = "http://tidegate.invalid";
  const url = new URL(next, base);
  return url.origin === base ? url.pathname + url.search : undefined;
}

function peerAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}
