import type { AuditEntry, AuditFilter, VerifyResult } from "../adapters/audit";
import type { LeaseStore, ReportStore, RunStore, StatusStore } from "../adapters/store/port";
import type { ConfiguredEnvironment } from "./environment-list";
import type { RunReport, ReportSummary, RunRecord } from "../domain/model";
import type { IsDead } from "../domain/owner";
import { type StatusRow, statusRows } from "../render/format";
import { NotFoundError, UnknownEnvironmentError } from "./errors";

// The use cases that only read: status, reports, run history and the audit log. They need the store
// (or the audit log) and nothing else, so an entry point may serve them without Git, Pulumi or a
// toolchain. An Engine satisfies ReadPorts too.

export interface ReadPorts {
  /** Undefined when nothing was ever recorded (reading creates no store). */
  store?: StatusStore & ReportStore & Pick<RunStore, "run" | "runs"> & Partial<Pick<LeaseStore, "leases">>;
  /** The configured environments in promotion order; undefined when they could not be read. */
  environments?: readonly ConfiguredEnvironment[];
  /** Where the store lives, named when something is not found there. */
  dataDir?: string;
  /** Whether a run's owner is gone; without it, only runs already marked interrupted show as such. */
  isOwnerDead?: IsDead;
}

/** One row per configured environment (never checked: Unknown); the store's alone when none are known. */
export async function status(read: ReadPorts): Promise<StatusRow[]> {
  const states = (await read.store?.statuses()) ?? [];
  const rows = read.environments ? statusRows(read.environments, states) : states;
  const marked: StatusRow[] = [];
  for (const row of rows) {
    const cut = await interruptedRun(read, row.environment);
    const stacks = await stackRows(read, row.environment);
    marked.push({
      ...(cut
        ? {
            ...row,
            status: "Interrupted",
            reason: interruptedReason(cut),
            lastRunId: cut.id,
            lastRunAt: cut.startedAt,
          }
        : row),
      ...(stacks ? { stacks } : {}),
    });
  }
  return marked;
}

/**
 * An environment of several stacks: each stack as its latest report left it. Only those
 * environments' reports are read, so a status of many one-stack environments reads none.
 */
async function stackRows(read: ReadPorts, environment: string): Promise<StatusRow["stacks"]> {
  const listed = read.environments?.find((env) => env.name === environment);
  if (!listed?.stacks || listed.stacks.length < 2) return undefined;
  const report = await read.store?.latestReport(environment);
  return report?.stacks?.map(({ name, status, reason, deployedCommit }) => ({
    name,
    status,
    ...(reason ? { reason } : {}),
    ...(deployedCommit ? { deployedCommit } : {}),
  }));
}

/**
 * The environment's newest run when its process died before it ended: no end recorded and its owner
 * dead (computed here, so a CLI sees it with no daemon running), or marked interrupted by a sweep.
 */
export async function interruptedRun(
  read: { store?: Pick<RunStore, "runs">; isOwnerDead?: IsDead },
  environment: string,
): Promise<RunRecord | undefined> {
  const [newest] = (await read.store?.runs({ environment, limit: 1 })) ?? [];
  if (!newest) return undefined;
  if (newest.outcome === "interrupted") return newest;
  const dead = newest.endedAt === undefined && read.isOwnerDead?.(newest.owner, newest.heartbeatAt) === true;
  return dead ? newest : undefined;
}

/** Names the run, its commit, when it started, and the command that shows what it left behind. */
export function interruptedReason(run: RunRecord): string {
  const commit = run.commit ? ` of ${run.commit.slice(0, 7)}` : "";
  return `${run.kind} run ${run.id}${commit} started ${run.startedAt} was interrupted (its tidegate process is gone); run \`tidegate recover ${run.environment}\` to see and clear what it left`;
}

/** The environment's newest report. Fails with NotFoundError when it has none yet. */
export async function latestReport(read: ReadPorts, environment: string): Promise<RunReport> {
  assertKnown(read, environment);
  const report = await read.store?.latestReport(environment);
  const cut = await interruptedRun(read, environment);
  if (cut && report) {
    // The newest run left no report: the last one is shown, with what happened since.
    return { ...report, status: "Interrupted", reason: interruptedReason(cut) };
  }
  if (cut) throw new NotFoundError(`no report for '${environment}' yet: ${interruptedReason(cut)}`);
  if (!report) {
    throw new NotFoundError(
      `no report for '${environment}'${read.dataDir === undefined ? "" : ` in ${read.dataDir}`} yet: run \`tidegate check ${environment}\` (or \`tidegate run\`) first`,
    );
  }
  return report;
}

/** The report of one run of the environment. Fails with NotFoundError for another environment's run. */
export async function runReport(read: ReadPorts, environment: string, runId: string): Promise<RunReport> {
  assertKnown(read, environment);
  const report = await read.store?.report(runId);
  if (!report || report.environment !== environment) {
    throw new NotFoundError(
      `no report of run '${runId}' for environment '${environment}' (see tidegate report ${environment} --history)`,
    );
  }
  return report;
}

/**
 * A run as history lists it: its report's summary; how it was started, when it ended and how, when
 * the run is known; and what its sync applied (`sync`, from its report).
 */
export type HistoryEntry = ReportSummary &
  Partial<Pick<RunRecord, "kind" | "mode" | "trigger" | "commit" | "endedAt" | "outcome">> &
  Partial<Pick<RunReport, "sync">>;

/** The environment's runs, newest first, at most `limit`, after skipping the newest `offset`. */
export async function history(
  read: ReadPorts,
  environment: string,
  limit: number,
  offset = 0,
): Promise<HistoryEntry[]> {
  assertKnown(read, environment);
  const store = read.store;
  if (!store) return [];
  const entries: HistoryEntry[] = [];
  for (const summary of await store.reports(environment, limit, offset)) {
    const [run, report] = await Promise.all([store.run(summary.runId), store.report(summary.runId)]);
    const details = run && {
      kind: run.kind,
      ...(run.mode ? { mode: run.mode } : {}),
      trigger: run.trigger,
      ...(run.commit ? { commit: run.commit } : {}),
      ...(run.endedAt ? { endedAt: run.endedAt } : {}),
      ...(run.outcome ? { outcome: run.outcome } : {}),
    };
    entries.push({ ...summary, ...details, ...(report?.sync ? { sync: report.sync } : {}) });
  }
  return entries;
}

function assertKnown(read: ReadPorts, environment: string): void {
  if (!read.environments || read.environments.some((env) => env.name === environment)) return;
  const known = read.environments.map((env) => env.name).join(", ") || "none";
  throw new UnknownEnvironmentError(`unknown environment '${environment}' (known: ${known})`);
}

/** What the audit use cases read: the log's file, its entries, its chain. */
export interface AuditReader {
  readonly file: string;
  entries(filter?: AuditFilter): Promise<AuditEntry[]>;
  verify(): Promise<VerifyResult>;
}

export interface AuditListing {
  entries: AuditEntry[];
  /** The whole chain's verdict: a listing of a damaged log says so. */
  verification: VerifyResult;
}

/** The entries that match, oldest first, and whether the whole log verifies. */
export async function auditEntries(
  audit: Omit<AuditReader, "file">,
  filter: AuditFilter = {},
): Promise<AuditListing> {
  return { entries: await audit.entries(filter), verification: await audit.verify() };
}

/** The whole chain checked: intact (with its head), or the first bad entry. */
export function verifyAudit(audit: Omit<AuditReader, "file">): Promise<VerifyResult> {
  return audit.verify();
}

export type AuditHead = { ok: true; seq: number; head: string } | Extract<VerifyResult, { ok: false }>;

/** The last entry's hash, once the whole chain verifies: what to publish elsewhere. */
export async function auditHead(audit: AuditReader): Promise<AuditHead> {
  const result = await audit.verify();
  return result.ok ? { ok: true, seq: result.entries, head: result.head } : result;
}
