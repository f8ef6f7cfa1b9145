import type { AuditEntry, AuditFilter, VerifyResult } from "../adapters/audit";
import type { Actor } from "../app/actor";
import type { ApproveResult } from "../app/engine";
import type { EnvironmentOverview, Page } from "../app/overview";
import type { HistoryEntry } from "../app/read";
import type { WebhookDeliveryStats } from "../app/webhooks";
import type { LookKind, LookRequest, RequestProgress } from "../app/requests";
import type { RunMark } from "../app/watch";
import type { Approval } from "../domain/gates";
import type { RunReport } from "../domain/model";
import type { PromoteResult } from "../domain/promotion";

// What the routes call: one method per use case, each a thin pass-through to src/app (see
// engine-ports.ts); unit tests pass fakes.

export interface Paging {
  page: number;
  limit: number;
}

export interface ApiPorts {
  environments(): Promise<EnvironmentOverview[]>;
  latestReport(environment: string): Promise<RunReport>;
  runReport(environment: string, runId: string): Promise<RunReport>;
  history(environment: string, paging: Paging): Promise<Page<HistoryEntry>>;
  approve(
    environment: string,
    input: { digest: string; protected?: boolean; comment?: string },
    actor: Actor,
  ): Promise<ApproveResult>;
  revoke(environment: string, input: { approver?: string; all?: boolean }, actor: Actor): Promise<Approval[]>;
  request(environment: string, kind: LookKind, actor: Actor): Promise<LookRequest>;
  requestProgress(environment: string, seq: number): Promise<RequestProgress>;
  promote(
    from: string,
    to: string,
    input: { dryRun: boolean; allowTargetAhead?: boolean },
    actor: Actor,
  ): Promise<PromoteResult>;
  audit(filter: AuditFilter, paging: Paging): Promise<Page<AuditEntry> & { verification: VerifyResult }>;
  verifyAudit(): Promise<VerifyResult>;
  /** Each environment's latest run, from the status rows alone: what the dashboard's events poll. */
  runMarks(): Promise<RunMark[]>;
  /** Per webhook provider and repository: the last verified delivery and how many were refused. */
  webhookDeliveries(): Promise<WebhookDeliveryStats[]>;
}
