import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { awsEnvVars } from "../../src/devenv/emulator";
import { RunReportSchema } from "../../src/domain/report-schema";
import { emulatorDefinition } from "../helpers/aws";
import { apiCall, apiUrlOf, createApiToken } from "../helpers/api";
import { configureServed, createEngineFixture, type EngineFixture } from "../helpers/engine";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// The HTTP API of a real `tidegate run` (real engine, real Git, the emulator) over real HTTP: the
// statuses the engine computed, a report, scopes, a stale digest refused, and an approval with the
// digest shown that the daemon acts on within seconds.

describe("the HTTP API of tidegate run", () => {
  let f: EngineFixture;
  let daemon: TidegateProcess | undefined;

  beforeAll(async () => {
    f = await createEngineFixture([
      { name: "test", sync: "auto", drift: "report", definition: emulatorDefinition() },
      { name: "prod", sync: "gated", drift: "report", definition: emulatorDefinition() },
    ]);
    configureServed(f.configPath);
  });
  afterAll(async () => {
    await killTidegate(daemon);
    await f?.cleanup();
  });

  it("lists the computed statuses, serves a report, enforces scopes, refuses a stale digest and syncs an approved plan", async () => {
    const dataDir = path.join(path.dirname(f.configPath), "data");
    const reader = await createApiToken(dataDir, "dashboard", ["read"]);
    const approver = await createApiToken(dataDir, "release-bot", ["approve:prod", "sync:prod"]);
    daemon = startTidegate(
      ["run", "--config", f.configPath, "--log-format", "json"],
      awsEnvVars(inject("aws")),
    );
    const d = daemon;
    const logs = () => `daemon stderr:\n${d.stderr().slice(-4000)}`;

    const base = await apiUrlOf(d);

    // Without a token: 401, as problem+json.
    const anonymous = await apiCall(base, undefined, "GET", "/environments");
    expect(anonymous.status).toBe(401);
    expect(anonymous.type).toContain("application/problem+json");

    // The startup checks: test syncs by itself, prod waits for its approval.
    type Row = { environment: string; status: string; statusSince?: string; plan?: { digest: string } };
    const rows = await eventually(
      () => `test Synced and prod AwaitingApproval (${logs()})`,
      400_000,
      async () => {
        const { body } = await apiCall(base, reader, "GET", "/environments");
        const list = body.environments as Row[];
        const status = (name: string) => list.find((r) => r.environment === name)?.status;
        return status("test") === "Synced" && status("prod") === "AwaitingApproval" ? list : undefined;
      },
    );
    expect(rows.map((r) => r.environment)).toEqual(["test", "prod"]);
    const prodRow = rows[1] as Row;
    expect(prodRow.statusSince).toEqual(expect.any(String));
    const stored = await f.engine.store.status("prod");
    expect(stored?.status).toBe("AwaitingApproval");

    // The report, in the report files' schema, and the plan with its digest.
    const report = await apiCall(base, reader, "GET", "/environments/prod/report");
    expect(report.status).toBe(200);
    const parsed = RunReportSchema.parse(report.body);
    expect(parsed.pending?.resources.length).toBeGreaterThan(0);
    const plan = await apiCall(base, reader, "GET", "/environments/prod/plan");
    const digest = (plan.body.plan as { digest: string }).digest;
    expect(digest).toBe(parsed.plan?.digest);
    expect(prodRow.plan?.digest).toBe(digest);

    // A read token may not approve; nothing is recorded.
    const forbidden = await apiCall(base, reader, "POST", "/environments/prod/approve", { digest });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toMatchObject({ kind: "refused" });

    // A digest that is not the current plan's: 409, with the current one.
    const stale = await apiCall(base, approver, "POST", "/environments/prod/approve", {
      digest: `sha256:${"0".repeat(64)}`,
    });
    expect(stale.status, JSON.stringify(stale.body)).toBe(409);
    expect(stale.body).toMatchObject({ kind: "conflict", currentDigest: digest });
    expect(await f.engine.store.approvals("prod")).toEqual([]);

    // The digest shown: approved as the token, and the daemon syncs within seconds.
    const approved = await apiCall(base, approver, "POST", "/environments/prod/approve", { digest });
    expect(approved.status, JSON.stringify(approved.body)).toBe(201);
    expect(approved.body).toMatchObject({ approval: { approver: "release-bot", planDigest: digest } });
    await eventually(
      () => `prod Synced (${logs()})`,
      120_000,
      async () => {
        const { body } = await apiCall(base, reader, "GET", "/environments");
        return (body.environments as Row[]).find((r) => r.environment === "prod")?.status === "Synced"
          ? true
          : undefined;
      },
    );
    const audit = await apiCall(base, reader, "GET", "/audit?environment=prod&action=approve");
    expect(audit.body).toMatchObject({ verification: { ok: true } });
    expect(
      (audit.body.items as { actor: string; verdict: string }[]).map((e) => [e.actor, e.verdict]),
    ).toEqual([
      ["release-bot", "approved"],
      ["release-bot", "refused"],
    ]);

    // A sync request: 202 and a link to follow.
    const requested = await apiCall(base, approver, "POST", "/environments/prod/sync");
    expect(requested.status).toBe(202);
    const follow = await apiCall(
      base,
      reader,
      "GET",
      (requested.body.follow as string).replace("/api/v1", ""),
    );
    expect(follow.status).toBe(200);
    expect(follow.body).toMatchObject({ seq: requested.body.seq, environment: "prod" });

    d.child.kill("SIGTERM");
    expect(await d.exit).toEqual({ code: 0, signal: null });

    // `tidegate serve`: the API alone, on the same store.
    const server = startTidegate(["serve", "--config", f.configPath], awsEnvVars(inject("aws")));
    daemon = server;
    const served = await apiUrlOf(server);
    const listed = await apiCall(served, reader, "GET", "/environments");
    expect((listed.body.environments as Row[]).map((r) => [r.environment, r.status])).toEqual([
      ["test", "Synced"],
      ["prod", "Synced"],
    ]);
    server.child.kill("SIGTERM");
    expect(await server.exit).toEqual({ code: 0, signal: null });
  });
});
