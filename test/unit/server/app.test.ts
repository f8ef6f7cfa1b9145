import { describe, expect, it, vi } from "vitest";
import { RunReportSchema } from "../../../src/domain/report-schema";
import { createApp } from "../../../src/server";
import type { ApiPorts } from "../../../src/server/ports";
import { sampleReport } from "../report/fixture";
import { DIGEST, fakeApi, NEWER, principal } from "./fixture";

// The routes with fake use cases and a fake token store: status codes, scopes, the actor handed to
// the use cases, problem+json errors and the OpenAPI document.

function setup(options: { api?: Partial<ApiPorts>; anonymousRead?: boolean } = {}) {
  const api = fakeApi(options.api);
  const log = { error: vi.fn() };
  const app = createApp({
    api,
    authenticate: async (secret) => principal(secret),
    anonymousRead: options.anonymousRead ?? false,
    log,
  });
  const call = (method: string, path: string, secret?: string, body?: unknown) =>
    app.request(`/api/v1${path}`, {
      method,
      headers: {
        ...(secret ? { authorization: `Bearer ${secret}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return { api, log, call };
}

async function problem(response: Response): Promise<Record<string, unknown>> {
  expect(response.headers.get("content-type")).toContain("application/problem+json");
  return (await response.json()) as Record<string, unknown>;
}

describe("the HTTP API", () => {
  it("refuses a request without a token with 401, and an unknown token too", async () => {
    const { call, api } = setup();
    const none = await call("GET", "/environments");
    expect(none.status).toBe(401);
    expect(await problem(none)).toMatchObject({ status: 401, kind: "unauthorized", title: "Unauthorized" });
    const unknown = await call("GET", "/environments", "tg_nope");
    expect(unknown.status).toBe(401);
    expect((await problem(unknown)).detail).toContain("unknown, expired or revoked");
    expect(api.environments).not.toHaveBeenCalled();
  });

  it("lets anonymous requests read when anonymousRead is on, and nothing more", async () => {
    const { call, api } = setup({ anonymousRead: true });
    expect((await call("GET", "/environments")).status).toBe(200);
    const approve = await call("POST", "/environments/prod/approve", undefined, { digest: DIGEST });
    expect(approve.status).toBe(401);
    expect(api.approve).not.toHaveBeenCalled();
  });

  it("lists the environments with their status, since when, and gate verdicts", async () => {
    const { call } = setup();
    const response = await call("GET", "/environments", "tg_read");
    expect(response.status).toBe(200);
    const body = (await response.json()) as { environments: Record<string, unknown>[] };
    expect(body.environments[0]).toMatchObject({
      environment: "prod",
      status: "AwaitingApproval",
      statusSince: "2026-01-01T00:00:00.000Z",
      gates: [{ gate: "approval", verdict: "wait" }],
    });
  });

  it("serves reports in the report files' schema, and 404 for an unknown environment or run", async () => {
    const { call } = setup();
    const latest = await call("GET", "/environments/prod/report", "tg_read");
    expect(latest.status).toBe(200);
    const body: unknown = await latest.json();
    expect(RunReportSchema.safeParse(body).success).toBe(true);
    expect((await call("GET", "/environments/prod/runs/run-0001/report", "tg_read")).status).toBe(200);
    const run = await call("GET", "/environments/prod/runs/nope/report", "tg_read");
    expect(run.status).toBe(404);
    const unknown = await call("GET", "/environments/qa/report", "tg_read");
    expect(await problem(unknown)).toMatchObject({
      status: 404,
      kind: "not-found",
      detail: "unknown environment 'qa' (known: prod)",
      recovery: expect.stringContaining("tidegate status"),
    });
  });

  it("shows the latest plan with its digest and every gate's verdict", async () => {
    const { call } = setup();
    const body = (await (await call("GET", "/environments/prod/plan", "tg_read")).json()) as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({ environment: "prod", plan: { digest: DIGEST }, runId: "run-0001" });
    expect(body.gates).toEqual(expect.any(Array));
  });

  it("approves as the token's actor with the reviewed digest; 403 without approve:<env>", async () => {
    const { call, api } = setup();
    const approved = await call("POST", "/environments/prod/approve", "tg_approver", { digest: DIGEST });
    expect(approved.status).toBe(201);
    expect(await approved.json()).toMatchObject({ approval: { approver: "approver", planDigest: DIGEST } });
    expect(api.approve).toHaveBeenCalledWith(
      "prod",
      { digest: DIGEST },
      { id: "approver", kind: "token", owner: "approver@example.com" },
    );

    const readOnly = await call("POST", "/environments/prod/approve", "tg_read", { digest: DIGEST });
    expect(readOnly.status).toBe(403);
    expect(await problem(readOnly)).toMatchObject({
      kind: "refused",
      detail: "token 'read' lacks the scope approve:prod",
    });
    const otherEnv = await call("POST", "/environments/test/approve", "tg_approver", { digest: DIGEST });
    expect(otherEnv.status).toBe(403);
    expect(api.approve).toHaveBeenCalledTimes(1);
    expect((await call("POST", "/environments/test/approve", "tg_admin", { digest: DIGEST })).status).toBe(
      201,
    );
  });

  it("refuses a stale digest with 409 and the current one, and names a missing digest with 400", async () => {
    const stale = setup({
      api: {
        approve: async () => ({
          report: sampleReport({ plan: { commit: "c2", digest: NEWER, remediate: false } }),
          refused: "the plan changed",
          refusal: "stale" as const,
        }),
      },
    });
    const response = await stale.call("POST", "/environments/prod/approve", "tg_approver", {
      digest: DIGEST,
    });
    expect(response.status).toBe(409);
    expect(await problem(response)).toMatchObject({ kind: "conflict", currentDigest: NEWER });

    const { call, api } = setup();
    const missing = await call("POST", "/environments/prod/approve", "tg_approver", {});
    expect(missing.status).toBe(400);
    expect(await problem(missing)).toMatchObject({ kind: "invalid", field: "digest" });
    expect(api.approve).not.toHaveBeenCalled();
  });

  it("refuses an approval a gate rule refuses with 403 and its reason", async () => {
    const { call } = setup({
      api: {
        approve: async () => ({
          report: sampleReport(),
          refused: "approver wrote a commit being deployed",
          refusal: "not-allowed" as const,
        }),
      },
    });
    const response = await call("POST", "/environments/prod/approve", "tg_approver", { digest: DIGEST });
    expect(response.status).toBe(403);
    expect((await problem(response)).detail).toContain("wrote a commit being deployed");
  });

  it("revokes with approve:<env>", async () => {
    const { call, api } = setup();
    expect((await call("POST", "/environments/prod/revoke", "tg_approver", { all: true })).status).toBe(200);
    expect(api.revoke).toHaveBeenCalledWith(
      "prod",
      { all: true },
      { id: "approver", kind: "token", owner: "approver@example.com" },
    );
    expect((await call("POST", "/environments/prod/revoke", "tg_read", {})).status).toBe(403);
  });

  it("enqueues a check or sync with sync:<env>: 202, the request's seq and a link that leads to the run", async () => {
    const { call, api } = setup();
    const accepted = await call("POST", "/environments/prod/sync", "tg_syncer");
    expect(accepted.status).toBe(202);
    const body = (await accepted.json()) as { seq: number; follow: string; kind: string };
    expect(body).toMatchObject({ seq: 7, kind: "sync", follow: "/api/v1/environments/prod/requests/7" });
    expect(accepted.headers.get("location")).toBe(body.follow);
    expect(api.request).toHaveBeenCalledWith("prod", "sync", {
      id: "syncer",
      kind: "token",
      owner: "syncer@example.com",
    });
    expect((await call("POST", "/environments/prod/check", "tg_read")).status).toBe(403);

    const progress = await call("GET", "/environments/prod/requests/7", "tg_read");
    expect(await progress.json()).toMatchObject({
      state: "finished",
      runId: "run-9",
      outcome: "succeeded",
      report: "/api/v1/environments/prod/runs/run-9/report",
    });
    expect((await call("GET", "/environments/prod/requests/x", "tg_read")).status).toBe(400);
  });

  it("previews, approves and runs the restore or accept of drift with the scopes a sync and an approval need", async () => {
    const { call, api } = setup();
    const syncer = { id: "syncer", kind: "token", owner: "syncer@example.com" };
    // A preview of the accept: sync:<env> or approve:<env>, and its digest is the one to approve.
    const preview = await call("POST", "/environments/prod/plan", "tg_approver", { resolve: "accept-drift" });
    expect(preview.status).toBe(200);
    expect(await preview.json()).toMatchObject({ plan: { digest: NEWER, resolve: "accept-drift" } });
    expect(api.plan).toHaveBeenCalledWith("prod", { resolve: "accept-drift" }, expect.anything());
    expect((await call("POST", "/environments/prod/plan", "tg_syncer")).status).toBe(200);
    expect(api.plan).toHaveBeenLastCalledWith("prod", {}, syncer);
    expect((await call("POST", "/environments/prod/plan", "tg_read", {})).status).toBe(403);

    const approved = await call("POST", "/environments/prod/approve", "tg_approver", {
      digest: NEWER,
      resolve: "accept-drift",
    });
    expect(approved.status).toBe(201);
    expect(api.approve).toHaveBeenCalledWith(
      "prod",
      { digest: NEWER, resolve: "accept-drift" },
      expect.objectContaining({ id: "approver" }),
    );

    const restored = await call("POST", "/environments/prod/resolve-drift", "tg_syncer", {
      resolve: "restore-drift",
    });
    expect(restored.status).toBe(200);
    expect(await restored.json()).toMatchObject({ status: "Synced", plan: { resolve: "restore-drift" } });
    expect(api.resolveDrift).toHaveBeenCalledWith("prod", "restore-drift", syncer);

    // An approver alone may not run it; a reader not at all.
    const denied = await call("POST", "/environments/prod/resolve-drift", "tg_approver", {
      resolve: "restore-drift",
    });
    expect(denied.status).toBe(403);
    expect(await problem(denied)).toMatchObject({ detail: "token 'approver' lacks the scope sync:prod" });
    const reader = await call("POST", "/environments/prod/plan", "tg_read", { resolve: "restore-drift" });
    expect(await problem(reader)).toMatchObject({
      detail: "token 'read' lacks the scope sync:prod or approve:prod",
    });
    expect(api.resolveDrift).toHaveBeenCalledTimes(1);
  });

  it("names a bad or missing resolve with 400, on each route that takes it", async () => {
    const { call, api } = setup();
    const bad = { resolve: "ignore-drift" };
    for (const [route, secret, body] of [
      ["/environments/prod/resolve-drift", "tg_syncer", bad],
      ["/environments/prod/resolve-drift", "tg_syncer", {}],
      ["/environments/prod/plan", "tg_syncer", bad],
      ["/environments/prod/approve", "tg_approver", { digest: DIGEST, ...bad }],
    ] as const) {
      const response = await call("POST", route, secret, body);
      expect(response.status, route).toBe(400);
      const shown = await problem(response);
      expect(shown).toMatchObject({ kind: "invalid", field: "resolve" });
      expect(shown.detail).toMatch(/^resolve: expected "restore-drift" or "accept-drift"/);
    }
    expect(api.resolveDrift).not.toHaveBeenCalled();
    expect(api.plan).not.toHaveBeenCalled();
    expect(api.approve).not.toHaveBeenCalled();
  });

  it("promotes into an environment with promote:<env>, dry run or real", async () => {
    const { call, api } = setup();
    const dry = await call("POST", "/environments/prod/promotions", "tg_promoter", {
      from: "stage",
      dryRun: true,
    });
    expect(await dry.json()).toMatchObject({ outcome: "dry-run", actor: "promoter" });
    expect(api.promote).toHaveBeenCalledWith(
      "stage",
      "prod",
      { dryRun: true },
      { id: "promoter", kind: "token", owner: "promoter@example.com" },
    );
    expect(
      (await call("POST", "/environments/stage/promotions", "tg_promoter", { from: "test" })).status,
    ).toBe(403);
  });

  it("pages the run history and the audit log, validating the query", async () => {
    const { call, api } = setup();
    expect((await call("GET", "/environments/prod/runs?page=2&limit=10", "tg_read")).status).toBe(200);
    expect(api.history).toHaveBeenCalledWith("prod", { page: 2, limit: 10 });
    const bad = await call("GET", "/environments/prod/runs?limit=0", "tg_read");
    expect(bad.status).toBe(400);
    expect((await problem(bad)).field).toBe("limit");

    const audit = await call(
      "GET",
      "/audit?action=approve&since=2026-01-01T00:00:00Z&actor=ci-bot",
      "tg_read",
    );
    expect(await audit.json()).toMatchObject({ verification: { ok: true }, total: 0 });
    expect(api.audit).toHaveBeenCalledWith(
      { action: "approve", actor: "ci-bot", since: new Date("2026-01-01T00:00:00Z") },
      { page: 1, limit: 50 },
    );
    expect((await call("GET", "/audit?action=delete-everything", "tg_read")).status).toBe(400);
    expect(await (await call("GET", "/audit/verify", "tg_read")).json()).toMatchObject({
      ok: true,
      entries: 3,
    });
  });

  it("never shows an unsafe error's message: only its kind, and the log gets it", async () => {
    const secret = "/home/ops/.tidegate/passphrase https://user:hunter2@git.example.com/infra.git";
    const { call, log } = setup({ api: { environments: async () => Promise.reject(new Error(secret)) } });
    const response = await call("GET", "/environments", "tg_read");
    expect(response.status).toBe(500);
    const text = JSON.stringify(await problem(response));
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("/home/ops");
    expect(text).toContain("internal error (details are in tidegate's log)");
    expect(log.error).toHaveBeenCalledTimes(1);
  });

  it("answers an unknown route with a 404 problem", async () => {
    const { call } = setup();
    expect(await problem(await call("GET", "/nothing", "tg_read"))).toMatchObject({ status: 404 });
  });

  it("serves its OpenAPI 3.1 document without a token", async () => {
    const { call } = setup();
    const response = await call("GET", "/openapi.json");
    expect(response.status).toBe(200);
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/environments",
        "/api/v1/environments/{env}/approve",
        "/api/v1/environments/{env}/resolve-drift",
        "/api/v1/environments/{env}/runs/{runId}/report",
        "/api/v1/audit",
      ]),
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining([
        "Problem",
        "Environment",
        "ApproveRequest",
        "ResolveDriftRequest",
        "RunReport",
      ]),
    );
  });
});
