import type { GateVerdict } from "../domain/gates";
import type { CommitInfo } from "../domain/model";
import type { StatusRow } from "../render/format";
import { history, type HistoryEntry, type ReadPorts, status } from "./read";
import { replicasView } from "./replicas";

// What a page or a script needs to see every environment at once: its status row, since when it has
// been in that status, the head commit it wants to deploy, the plan's digest and the gates' verdicts.
// Built from the status rows and the run history only; nothing here runs a check.

export interface EnvironmentOverview extends StatusRow {
  /**
   * When the environment entered its current status: the start of the oldest run of the newest
   * unbroken series of runs with this status (from the run history). Undefined when never checked.
   */
  statusSince?: string;
  /** The head commit the latest check saw, with its author and message (when it is still the head). */
  head?: CommitInfo;
  /** The plan the gates judged at the latest check. */
  plan?: { commit: string; digest: string; remediate: boolean };
  gates: GateVerdict[];
  /** The replica (`tidegate run` process) that owns the environment now, when replicas share them. */
  owner?: string;
}

/** Every configured environment, in promotion order, with since when it is in its status. */
export async function environmentsOverview(read: ReadPorts): Promise<EnvironmentOverview[]> {
  const rows = await status(read);
  const leases = read.store?.leases?.bind(read.store);
  const { owners } = leases
    ? await replicasView({ leases }, new Date())
    : { owners: new Map<string, string>() };
  const out: EnvironmentOverview[] = [];
  for (const row of rows) {
    // The row already says whether a run was interrupted; of the report, only its facts are read.
    const report = await read.store?.latestReport(row.environment);
    // One query per environment: reading its run history here made this page slow on a busy store.
    const since = await read.store?.statusSince(row.environment, row.status);
    const head = report?.desired && report.desired.sha === row.headCommit ? report.desired : undefined;
    out.push({
      ...row,
      ...(since ? { statusSince: since } : {}),
      ...(head ? { head } : {}),
      ...(report?.plan ? { plan: report.plan } : {}),
      gates: report?.gates ?? [],
      ...(owners.has(row.environment) ? { owner: owners.get(row.environment) } : {}),
    });
  }
  return out;
}

export interface Page<T> {
  items: T[];
  /** 1-based. */
  page: number;
  limit: number;
  total: number;
}

/** One page of an environment's runs, newest first, with how many there are. */
export async function historyPage(
  read: ReadPorts,
  environment: string,
  paging: { page: number; limit: number },
): Promise<Page<HistoryEntry>> {
  const { page, limit } = paging;
  const items = await history(read, environment, limit, (page - 1) * limit);
  const total = (await read.store?.reportCount(environment)) ?? 0;
  return { items, page, limit, total };
}

/** One page of a list already in memory. */
export function pageOf<T>(all: readonly T[], paging: { page: number; limit: number }): Page<T> {
  const { page, limit } = paging;
  return { items: all.slice((page - 1) * limit, page * limit), page, limit, total: all.length };
}
