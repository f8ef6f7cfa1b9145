import type { AuditEntry, AuditFilter, VerifyResult } from "../adapters/audit";
import type { Actor } from "../app/actor";
import type { ApproveResult } from "../app/engine";
import type { EnvironmentOverview, Page } from "../app/overview";
import type { HistoryEntry } from "../app/read";
import type { WebhookDeliveryStats } from "../app/webhooks";
import type { LookKind, LookRequest, RequestProgress } from "../app/requests";
import type { RunMark } from "../app/watch";
import type { Approval, DriftResolution } from "../domain/gates";
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
    input: { digest: string; protected?: boolean; comment?: string; resolve?: DriftResolution },
    actor: Actor,
  ): Promise<ApproveResult>;
  /** A fresh preview of what a sync (or the restore or accept of the drift) would apply; changes nothing. */
  plan(environment: string, input: { resolve?: DriftResolution }, actor: Actor): Promise<RunReport>;
  /** Restores or accepts the drift now, as the environment's gates allow (a run of its own, audited). */
  resolveDrift(environment: string, resolve: DriftResolution, actor: Actor): Promise<RunReport>;
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
