import type { Approval } from "../../domain/gates";
import type { EnvironmentState, NewRun, NewToken } from "./port";
import { count, epochMs, nonEmpty } from "./validate";

// Records as the column values both SQL stores (SQLite, PostgreSQL) write, in column order, checked
// on the way in. The SQL around them differs by dialect; the values do not.

export type SqlValue = string | number | null;

/** statuses: environment … stale (14 columns). */
export function statusValues(state: EnvironmentState): SqlValue[] {
  return [
    state.environment,
    state.branch,
    state.stack,
    state.status,
    state.reason ?? null,
    state.headCommit ?? null,
    state.deployedCommit ?? null,
    count(state.pendingCount, "pendingCount"),
    count(state.driftCount, "driftCount"),
    state.lastRunId ?? null,
    state.lastRunAt ?? null,
    state.updatedAt,
    epochMs(state.updatedAt, "updatedAt"),
    state.stale ? JSON.stringify(state.stale) : null,
  ];
}

/** approvals: id, environment, commit_sha, plan_digest, approver, owner, scope, comment, at, at_ms. */
export function approvalValues(a: Approval, atMs: number): SqlValue[] {
  return [
    a.id,
    a.environment,
    a.commit,
    a.planDigest,
    a.approver,
    a.owner ?? null,
    a.scope,
    a.comment ?? null,
    a.at,
    atMs,
  ];
}

/** runs as started: id … owner, started_at, started_ms, heartbeat_at, heartbeat_ms (12 columns). */
export function runValues(run: NewRun): SqlValue[] {
  const startedMs = epochMs(run.startedAt, "startedAt");
  return [
    run.id,
    run.environment,
    run.stack,
    run.kind,
    run.trigger,
    run.commit ?? null,
    run.mode ?? null,
    nonEmpty(run.owner, "owner"),
    run.startedAt,
    startedMs,
    run.startedAt,
    startedMs,
  ];
}

/** tokens: name, secret_hash, owner, scopes, created_at, created_by, expires_at. */
export function tokenValues(t: NewToken): SqlValue[] {
  return [
    t.name,
    t.secretHash,
    t.owner,
    JSON.stringify(t.scopes),
    t.createdAt,
    t.createdBy,
    t.expiresAt ?? null,
  ];
}
