import { vi } from "vitest";
import { NotFoundError, UnknownEnvironmentError } from "../../../src/app/errors";
import { token } from "../../../src/app/actor";
import type { Principal } from "../../../src/app/tokens";
import type { Scope } from "../../../src/domain/token";
import type { ApiPorts } from "../../../src/server/ports";
import { sampleReport } from "../report/fixture";

// Fake use cases and a fake token store for the server's unit tests (the API's and the dashboard's).

export const DIGEST = `sha256:${"a".repeat(64)}`;
export const NEWER = `sha256:${"b".repeat(64)}`;

export const TOKENS: Record<string, Scope[]> = {
  tg_read: ["read"],
  tg_approver: ["approve:prod"],
  tg_syncer: ["sync:prod"],
  tg_promoter: ["promote:prod"],
  tg_admin: ["admin"],
};

export function principal(secret: string): Principal | undefined {
  const scopes = TOKENS[secret];
  const name = secret.replace(/^tg_/, "");
  return scopes && { name, owner: `${name}@example.com`, scopes, actor: token(name, `${name}@example.com`) };
}

export function fakeApi(overrides: Partial<ApiPorts> = {}): ApiPorts {
  const report = sampleReport({
    environment: "prod",
    plan: { commit: "c1", digest: DIGEST, remediate: false },
  });
  return {
    environments: vi.fn(async () => [
      {
        environment: "prod",
        branch: "prod",
        stack: "prod",
        status: "AwaitingApproval" as const,
        pendingCount: 1,
        driftCount: 0,
        statusSince: "2026-01-01T00:00:00.000Z",
        gates: [{ gate: "approval" as const, verdict: "wait" as const, reason: "needs 1 approval" }],
      },
    ]),
    latestReport: vi.fn(async (env: string) => {
      if (env !== "prod") throw new UnknownEnvironmentError(`unknown environment '${env}' (known: prod)`);
      return report;
    }),
    runReport: vi.fn(async (_env: string, runId: string) => {
      if (runId !== report.runId) throw new NotFoundError(`no report of run '${runId}'`);
      return report;
    }),
    history: vi.fn(async (_env, paging) => ({ items: [], ...paging, total: 0 })),
    approve: vi.fn(async (env, input, actor) => ({
      report,
      approval: {
        id: "ap1",
        environment: env,
        commit: "c1",
        planDigest: input.digest,
        approver: actor.id,
        scope: "sync" as const,
        at: "2026-01-01T00:00:00.000Z",
      },
    })),
    plan: vi.fn(async (environment, input) =>
      sampleReport({
        environment,
        plan: { commit: "c1", digest: NEWER, remediate: true, ...input },
      }),
    ),
    resolveDrift: vi.fn(async (environment, resolve) =>
      sampleReport({
        environment,
        status: "Synced",
        plan: { commit: "c1", digest: NEWER, remediate: true, resolve },
      }),
    ),
    revoke: vi.fn(async () => []),
    request: vi.fn(async (environment, kind, actor) => ({
      seq: 7,
      environment,
      kind,
      reason: `${kind} requested by ${actor.id} (request x)`,
      actor: actor.id,
      at: "2026-01-01T00:00:00.000Z",
    })),
    requestProgress: vi.fn(async (environment, seq) => ({
      request: { seq, environment, reason: "r", at: "2026-01-01T00:00:00.000Z" },
      state: "finished" as const,
      run: {
        id: "run-9",
        environment,
        stack: environment,
        kind: "check" as const,
        trigger: "r",
        startedAt: "2026-01-01T00:00:01.000Z",
        endedAt: "2026-01-01T00:00:09.000Z",
        outcome: "succeeded" as const,
      },
    })),
    promote: vi.fn(async (from, to, input, actor) => ({
      outcome: input.dryRun ? ("dry-run" as const) : ("promoted" as const),
      reason: "ok",
      from: { environment: from, branch: from },
      to: { environment: to, branch: to },
      actor: actor.id,
      dryRun: input.dryRun,
      startedAt: "2026-01-01T00:00:00.000Z",
      endedAt: "2026-01-01T00:00:01.000Z",
    })),
    audit: vi.fn(async (_filter, paging) => ({
      items: [],
      ...paging,
      total: 0,
      verification: { ok: true as const, entries: 0, head: "0".repeat(64) },
    })),
    verifyAudit: vi.fn(async () => ({ ok: true as const, entries: 3, head: "f".repeat(64) })),
    runMarks: vi.fn(async () => []),
    webhookDeliveries: vi.fn(async () => []),
    ...overrides,
  };
}
