import type { Approval, CommandResult } from "../../domain/gates";
import type { RunReport, RunRecord } from "../../domain/model";
import { InvalidReportError, parseRunReport } from "../../domain/report-schema";
import { StoreError } from "./errors";
import type { Revocation, WebhookDeliveryMark } from "./port";
import { ApprovalSchema, CommandResultSchema, validInput } from "./rows";

// Argument checks every store implementation applies the same way, so they fail alike.

export function epochMs(iso: string, field: string): number {
  const ms = typeof iso === "string" ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms)) throw new StoreError("invalid-input", `${field} '${iso}' is not an ISO 8601 time`);
  return ms;
}

export function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new StoreError("invalid-input", `${field} must be a positive integer, got ${value}`);
  }
  return value;
}

export function count(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new StoreError("invalid-input", `${field} must be a whole number ≥ 0, got ${value}`);
  }
  return value;
}

export function nonEmpty(value: string, field: string): string {
  if (typeof value !== "string" || value === "") {
    throw new StoreError("invalid-input", `${field} must be a non-empty string`);
  }
  return value;
}

/** A lease's key, owner and TTL, checked. */
export function leaseArguments(key: string, owner: string, ttlMs: number): void {
  nonEmpty(key, "key");
  nonEmpty(owner, "owner");
  positiveInteger(ttlMs, "ttlMs");
}

/** A report about to be saved, checked against the report schema. */
export function validReport(report: RunReport): RunReport {
  try {
    return parseRunReport(report, `report of run ${report.runId}`);
  } catch (error) {
    if (error instanceof InvalidReportError) {
      throw new StoreError("invalid-input", error.message, { cause: error });
    }
    throw error;
  }
}

/** A stored report read back: a mismatch with the schema is "corrupt". */
export function storedReport(runId: string, value: unknown): RunReport {
  try {
    return parseRunReport(value, `stored report of run ${runId}`);
  } catch (error) {
    if (error instanceof InvalidReportError) throw new StoreError("corrupt", error.message, { cause: error });
    throw error;
  }
}

const INTERRUPTED_RECOVERY: Record<RunRecord["kind"], string> = {
  check: "nothing was changed; the next check runs again.",
  drift: "nothing was changed; the next drift check runs again.",
  sync: "the update may have left pending operations on the stack: run a check of this environment and, if it reports pending operations, follow its recovery step.",
};

/**
 * The error recorded on a run whose owner died before it ended. A check in reconcile mode may have
 * been applying its commit (sync policy auto): it is told like a sync, not "nothing was changed".
 */
export function interruptedError(run: Pick<RunRecord, "kind" | "mode">): NonNullable<RunRecord["error"]> {
  const kind = run.kind === "check" && run.mode === "reconcile" ? "sync" : run.kind;
  return {
    kind: "interrupted",
    message: "tidegate stopped before the run ended",
    recovery: INTERRUPTED_RECOVERY[kind],
  };
}

/** An approval about to be added: valid, timed, and not revoked yet. */
export function newApproval(approval: Approval): { approval: Approval; atMs: number } {
  const a = validInput(ApprovalSchema, approval, `approval ${String(approval?.id)}`);
  if (a.revokedAt !== undefined || a.revokedBy !== undefined) {
    throw new StoreError(
      "invalid-input",
      `approval ${a.id} is already revoked: add approvals unrevoked, then revoke them with revokeApprovals`,
    );
  }
  return { approval: a, atMs: epochMs(a.at, "at") };
}

export function checkRevocation(revocation: Revocation): void {
  if (typeof revocation.by !== "string" || revocation.by === "") {
    throw new StoreError("invalid-input", "revocation.by must name who revokes");
  }
  epochMs(revocation.at, "at");
}

/** A check result about to be cached under (environment, key), with its time. */
export function newCheckResult(
  environment: string,
  key: string,
  result: CommandResult,
): { result: CommandResult; atMs: number } {
  if (environment === "" || key === "") {
    throw new StoreError("invalid-input", "a check result needs an environment and a key");
  }
  const r = validInput(CommandResultSchema, result, `check result ${key}`);
  return { result: r, atMs: epochMs(r.at, "at") };
}

/** Adding a token whose name (or secret) is taken: names stay taken after a revocation. */
export function tokenTaken(name: string): StoreError {
  return new StoreError(
    "conflict",
    `a token named '${name}' exists already (names are never reused, even after a revocation): choose another name`,
  );
}

/** A webhook mark checked: a provider, a repository ("" when unknown), an outcome and a time. */
export function webhookMark(mark: WebhookDeliveryMark): WebhookDeliveryMark {
  nonEmpty(mark.provider, "provider");
  if (typeof mark.repository !== "string")
    throw new StoreError("invalid-input", "webhook repository: not a string");
  if (mark.outcome !== "verified" && mark.outcome !== "refused") {
    throw new StoreError(
      "invalid-input",
      `webhook outcome: '${String(mark.outcome)}' is not verified or refused`,
    );
  }
  epochMs(mark.at, "at");
  return mark;
}
