import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { TidegateError } from "../domain/errors";
import type { Logger } from "../log";
import { type DashboardOptions, mountDashboard } from "./dashboard";
import { authentication, type Authenticate, type AuthVariables, principalOf, requires } from "./auth";
import { mountTelemetry, type TelemetryRoutes } from "./metrics";
import type { ApiPorts } from "./ports";
import { mountWebhooks, type WebhookDeps } from "./webhooks/route";
import { ApiError, apiError, PROBLEM_TYPE, problemOf, problemResponse } from "./problem";
import {
  ApprovedSchema,
  ApproveBody,
  AuditPageSchema,
  AuditQuery,
  EnvironmentListSchema,
  EnvParam,
  HistoryPageSchema,
  PagingQuery,
  PlanViewSchema,
  PreviewBody,
  ProblemSchema,
  PromoteBody,
  PromoteResultSchema,
  RequestAcceptedSchema,
  RequestProgressSchema,
  ResolveDriftBody,
  RevokeBody,
  RevokedSchema,
  RunReportSchema,
  VerifySchema,
} from "./schemas";

// The HTTP API (/api/v1): each route validates its input with zod, checks the caller's scope, calls
// one use case, and answers JSON; the OpenAPI 3.1 document is generated from the same schemas.

export const API_BASE = "/api/v1";

export interface ServerDeps {
  api: ApiPorts;
  authenticate: Authenticate;
  anonymousRead: boolean;
  log: Pick<Logger, "error">;
  version?: string;
  /** The dashboard's settings (sessions, events); defaults suit a server. */
  dashboard?: DashboardOptions;
  /** /metrics, /healthz and /readyz; absent: not served. */
  telemetry?: TelemetryRoutes;
  /** Webhooks in (POST /api/v1/webhooks/<provider>); every provider is refused without it. */
  webhooks?: WebhookDeps;
}

type Env = { Variables: AuthVariables };

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const problem = (description: string) => ({
  content: { [PROBLEM_TYPE]: { schema: ProblemSchema } },
  description,
});
const errors = {
  400: problem("The request is malformed; `field` names the bad field."),
  401: problem("No valid token."),
  403: problem("The token lacks the scope, or a gate refused."),
  404: problem("No such environment, run or request."),
};
const envScope = (verb: "approve" | "sync" | "promote") => (c: Context) =>
  `${verb}:${c.req.param("env") ?? ""}` as const;
const READ = "read" as const;

export function createApp(deps: ServerDeps): OpenAPIHono<Env> {
  const { api } = deps;
  const app = new OpenAPIHono<Env>({
    defaultHook: (result, c) => {
      if (result.success) return undefined;
      const issue = result.error.issues[0];
      const field = issue?.path.join(".") || "(body)";
      const detail = `${field}: ${issue?.message ?? "invalid"}`;
      return problemResponse(c, problemOf(apiError("invalid", detail)), { field });
    },
  });

  app.onError((error, c) => {
    if (!(error instanceof TidegateError) || !error.remoteSafe) {
      deps.log.error({ err: error, method: c.req.method, path: c.req.path }, "API request failed");
    }
    return problemResponse(c, problemOf(error), error instanceof ApiError ? error.extra : {});
  });
  // The dashboard's pages, and the security headers of every response, come first.
  const dashboard = mountDashboard(app, deps);
  app.notFound(
    (c) =>
      dashboard.notFound(c) ??
      problemResponse(c, problemOf(apiError("not-found", `no route ${c.req.method} ${c.req.path}`))),
  );

  if (deps.telemetry) mountTelemetry(app, deps.telemetry, deps.authenticate);

  app.use(`${API_BASE}/*`, async (c, next) => {
    if (c.req.path === `${API_BASE}/openapi.json`) return next();
    // A webhook's signature is its authentication.
    if (c.req.path.startsWith(`${API_BASE}/webhooks/`)) return next();
    return authentication(deps)(c, next);
  });
  if (deps.webhooks) mountWebhooks(app, API_BASE, deps.webhooks);

  app.openapi(
    createRoute({
      method: "get",
      path: `${API_BASE}/environments`,
      middleware: [requires(READ)],
      summary: "Every environment: status, since when, head vs deployed, counts, plan and gate verdicts",
      responses: { 200: json(EnvironmentListSchema, "In promotion order."), ...errors },
    }),
    async (c) => c.json({ environments: await api.environments() }, 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API_BASE}/environments/{env}/report`,
      middleware: [requires(READ)],
      summary: "The environment's latest report (the JSON report files' schema)",
      request: { params: EnvParam },
      responses: { 200: json(RunReportSchema, "The latest report."), ...errors },
    }),
    async (c) => c.json(await api.latestReport(c.req.valid("param").env), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API_BASE}/environments/{env}/runs`,
      middleware: [requires(READ)],
      summary: "The environment's runs, newest first",
      request: { params: EnvParam, query: PagingQuery },
      responses: { 200: json(HistoryPageSchema, "One page of runs, with the total."), ...errors },
    }),
    async (c) => c.json(await api.history(c.req.valid("param").env, c.req.valid("query")), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API_BASE}/environments/{env}/runs/{runId}/report`,
      middleware: [requires(READ)],
      summary: "The report of one run",
      request: {
        params: EnvParam.extend({
          runId: EnvParam.shape.env.openapi({ param: { name: "runId", in: "path" } }),
        }),
      },
      responses: { 200: json(RunReportSchema, "The run's report."), ...errors },
    }),
    async (c) => {
      const { env, runId } = c.req.valid("param");
      return c.json(await api.runReport(env, runId), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API_BASE}/environments/{env}/plan`,
      middleware: [requires(READ)],
      summary: "The plan of the latest check, its digest and every gate's verdict",
      description:
        "What approving binds to: POST .../approve with this digest. It is the latest check's plan; the approval itself checks again and is refused (409) when the plan changed since.",
      request: { params: EnvParam },
      responses: {
        200: json(PlanViewSchema, "The plan; `plan` is absent when there is nothing to apply."),
        ...errors,
      },
    }),
    async (c) => {
      const report = await api.latestReport(c.req.valid("param").env);
      return c.json(
        {
          environment: report.environment,
          runId: report.runId,
          checkedAt: report.endedAt,
          status: report.status,
          ...(report.reason === undefined ? {} : { reason: report.reason }),
          ...(report.plan ? { plan: report.plan } : {}),
          gates: report.gates ?? [],
          approvals: report.approvals ?? [],
          ...(report.pending ? { pending: report.pending } : {}),
          ...(report.drift ? { drift: report.drift } : {}),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: `${API_BASE}/environments/{env}/plan`,
      middleware: [requires((c) => [envScope("sync")(c), envScope("approve")(c)])],
      summary: "Preview now what a sync, or the restore or accept of the drift, would apply",
      description:
        "A fresh check that changes nothing (`tidegate plan`): its plan, digest and every gate's verdict. With `resolve`, the plan of restoring or accepting the drift, whose digest is its own: approve that digest with the same `resolve`. Needs sync:<env> or approve:<env> (it runs a preview).",
      request: {
        params: EnvParam,
        body: { content: { "application/json": { schema: PreviewBody } }, required: false },
      },
      responses: { 200: json(RunReportSchema, "The preview's report; `plan` holds the digest."), ...errors },
    }),
    async (c) => {
      const { resolve } = c.req.valid("json") ?? {};
      const input = resolve ? { resolve } : {};
      return c.json(await api.plan(c.req.valid("param").env, input, principalOf(c).actor), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: `${API_BASE}/environments/{env}/resolve-drift`,
      middleware: [requires(envScope("sync"))],
      summary: "Restore or accept the environment's drift now, as its gates allow",
      description:
        "Runs now, in this process, and answers the run's report (a sync request is queued for the daemon instead: several requests fold into one run, which must not turn a look into a restore). Judged by the environment's gates as a plan of its own and audited as restore-drift or accept-drift with the token's actor. `status` AwaitingApproval: approve the report's plan digest with the same `resolve`, then ask again.",
      request: {
        params: EnvParam,
        body: { content: { "application/json": { schema: ResolveDriftBody } }, required: true },
      },
      responses: {
        200: json(RunReportSchema, "The run's report: `sync.applied` says whether it acted."),
        ...errors,
        409: problem("Another run holds the environment."),
      },
    }),
    async (c) => {
      const { resolve } = c.req.valid("json");
      return c.json(await api.resolveDrift(c.req.valid("param").env, resolve, principalOf(c).actor), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: `${API_BASE}/environments/{env}/approve`,
      middleware: [requires(envScope("approve"))],
      summary: "Approve exactly the plan that was reviewed",
      description:
        "Checks the environment again (a preview) and records the approval bound to its commit and digest, only when the plan is still the one with the given digest. The daemon re-judges the environment within seconds.",
      request: {
        params: EnvParam,
        body: { content: { "application/json": { schema: ApproveBody } }, required: true },
      },
      responses: {
        201: json(ApprovedSchema, "Approved."),
        ...errors,
        409: problem(
          "The plan changed since it was reviewed (`currentDigest`), or there is nothing to approve.",
        ),
      },
    }),
    async (c) => {
      const { env } = c.req.valid("param");
      const body = c.req.valid("json");
      const result = await api.approve(env, body, principalOf(c).actor);
      if (result.approval) return c.json({ approval: result.approval, report: result.report }, 201);
      const current = result.report.plan?.digest;
      if (result.refusal === "stale") {
        const detail = `the plan changed since it was reviewed: reviewed ${body.digest}, now ${current ?? "none"}`;
        throw apiError("conflict", detail, "review the plan again and approve its digest", {
          ...(current ? { currentDigest: current } : {}),
        });
      }
      if (result.refusal === "no-plan") {
        const detail = `nothing to approve: ${env} is ${result.report.status}`;
        throw apiError("conflict", detail);
      }
      throw apiError("refused", `not approved: ${result.refused ?? "refused"}`);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: `${API_BASE}/environments/{env}/revoke`,
      middleware: [requires(envScope("approve"))],
      summary: "Revoke approvals (the token's own by default)",
      request: {
        params: EnvParam,
        body: { content: { "application/json": { schema: RevokeBody } }, required: false },
      },
      responses: { 200: json(RevokedSchema, "The approvals revoked (maybe none)."), ...errors },
    }),
    async (c) => {
      const revoked = await api.revoke(
        c.req.valid("param").env,
        c.req.valid("json") ?? {},
        principalOf(c).actor,
      );
      return c.json({ revoked }, 200);
    },
  );

  for (const kind of ["check", "sync"] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `${API_BASE}/environments/{env}/${kind}`,
        middleware: [requires(envScope("sync"))],
        summary:
          kind === "check"
            ? "Ask the daemon to check the environment now"
            : "Ask the daemon to sync the environment now",
        description:
          "Enqueued for the daemon (`tidegate run`) through the store, as the CLI's approve does. Both need sync:<env>: the daemon's look at an environment is a reconcile run, which syncs when its policy and gates allow. Answers 202 with the request's seq and a link to follow.",
        request: { params: EnvParam },
        responses: { 202: json(RequestAcceptedSchema, "Enqueued."), ...errors },
      }),
      async (c) => {
        const request = await api.request(c.req.valid("param").env, kind, principalOf(c).actor);
        const follow = `${API_BASE}/environments/${encodeURIComponent(request.environment)}/requests/${request.seq}`;
        c.header("Location", follow);
        return c.json(
          { seq: request.seq, environment: request.environment, kind, at: request.at, follow },
          202,
        );
      },
    );
  }

  app.openapi(
    createRoute({
      method: "get",
      path: `${API_BASE}/environments/{env}/requests/{seq}`,
      middleware: [requires(READ)],
      summary: "Where a check or sync request stands: waiting, or the run that answers it",
      request: {
        params: EnvParam.extend({
          seq: PagingQuery.shape.page.openapi({ param: { name: "seq", in: "path" } }),
        }),
      },
      responses: { 200: json(RequestProgressSchema, "The request and its run."), ...errors },
    }),
    async (c) => {
      const { env, seq } = c.req.valid("param");
      const { request, state, run } = await api.requestProgress(env, seq);
      const report =
        run && state === "finished"
          ? `${API_BASE}/environments/${encodeURIComponent(env)}/runs/${encodeURIComponent(run.id)}/report`
          : undefined;
      return c.json(
        {
          seq: request.seq,
          environment: request.environment,
          at: request.at,
          state,
          ...(run ? { runId: run.id } : {}),
          ...(run?.outcome ? { outcome: run.outcome } : {}),
          ...(report ? { report } : {}),
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: `${API_BASE}/environments/{env}/promotions`,
      middleware: [requires(envScope("promote"))],
      summary: "Promote another environment's branch into this one (or a dry run)",
      description:
        "Merges `from`'s branch into this environment's, fast-forward when possible, never forced. A dry run merges in a scratch worktree and previews this environment's stack there. The outcome (promoted, up-to-date, refused, dry-run) says what happened.",
      request: {
        params: EnvParam,
        body: { content: { "application/json": { schema: PromoteBody } }, required: true },
      },
      responses: { 200: json(PromoteResultSchema, "What the promotion did, or why not."), ...errors },
    }),
    async (c) => {
      const { from, ...input } = c.req.valid("json");
      return c.json(await api.promote(from, c.req.valid("param").env, input, principalOf(c).actor), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API_BASE}/audit`,
      middleware: [requires(READ)],
      summary: "The audit log, newest first, filtered, with the chain's verification",
      request: {
        query: AuditQuery,
      },
      responses: {
        200: json(AuditPageSchema, "One page of entries and the whole chain's verdict."),
        ...errors,
      },
    }),
    async (c) => {
      const { page, limit, since, until, ...rest } = c.req.valid("query");
      const filter = {
        ...definedOnly(rest),
        ...(since ? { since: new Date(since) } : {}),
        ...(until ? { until: new Date(until) } : {}),
      };
      return c.json(await api.audit(filter, { page, limit }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: `${API_BASE}/audit/verify`,
      middleware: [requires(READ)],
      summary: "Verify the audit log's hash chain",
      responses: { 200: json(VerifySchema, "ok with its head, or the first bad entry."), ...errors },
    }),
    async (c) => c.json(await api.verifyAudit(), 200),
  );

  app.doc31(`${API_BASE}/openapi.json`, {
    openapi: "3.1.0",
    info: {
      title: "tidegate API",
      version: deps.version ?? "1",
      description:
        "GitOps engine for Pulumi. Send `Authorization: Bearer <token>`; errors are application/problem+json.",
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  return app;
}

function definedOnly<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
