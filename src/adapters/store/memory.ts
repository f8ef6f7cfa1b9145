import type { Approval, CommandResult } from "../../domain/gates";
import type { RunReport, RunOutcome, RunRecord } from "../../domain/model";
import type { IsDead } from "../../domain/owner";
import { deepEqual } from "../../domain/values";
import { StoreError } from "./errors";
import type {
  ApprovalQuery,
  EnvironmentState,
  InterruptSweep,
  Lease,
  ListedEnvironment,
  NewRun,
  NewSuccess,
  NewWorkRequest,
  ProgramSuccess,
  ReportSummary,
  Revocation,
  RunFilter,
  NewToken,
  Store,
  TokenRecord,
  WorkRequest,
  WebhookDeliveryMark,
  WebhookDeliveryStats,
} from "./port";
import {
  EnvironmentStateSchema,
  NewSuccessSchema,
  NewTokenSchema,
  NewWorkRequestSchema,
  validInput,
  environmentListFromText,
  environmentListText,
} from "./rows";
import {
  checkRevocation,
  count,
  epochMs,
  interruptedError,
  newApproval,
  newCheckResult,
  nonEmpty,
  positiveInteger,
  storedReport,
  tokenTaken,
  validReport,
  webhookMark,
} from "./validate";
import { memoryNotificationStore, newNotifyMemoryState, type NotifyMemoryState } from "./notify-memory";

// The whole port in memory, with the SQLite store's semantics (the contract suite holds both to
// them): for tests and for a one-shot tidegate that needs no history. Records are copied in and
// out, so a caller changing an object it passed or got back changes nothing stored.

export interface MemoryStoreOptions {
  /** The clock finishRun reads; tests pass a fixed one. */
  now?: () => Date;
}

/** What a memory store holds; two stores over one state behave as two processes on one file. */
export interface MemoryState {
  seq: number;
  runs: Map<string, { seq: number; ms: number; heartbeatMs: number; record: RunRecord }>;
  statuses: Map<string, { ms: number; state: EnvironmentState }>;
  /** As stored: JSON text. */
  environmentList?: string;
  reports: Map<string, { seq: number; ms: number; report: RunReport }>;
  approvals: Map<string, { seq: number; ms: number; approval: Approval }>;
  successes: Map<string, { firstMs: number; lastMs: number; success: ProgramSuccess }>;
  checkResults: Map<string, { ms: number; result: CommandResult }>;
  leases: Map<string, { expiresMs: number; lease: Lease }>;
  requestSeq: number;
  webhooks: Map<string, WebhookDeliveryStats>;
  requests: Map<number, { ms: number; request: WorkRequest }>;
  /** By name. */
  tokens: Map<string, { secretHash: string; lastUsedMs?: number; token: TokenRecord }>;
  notify: NotifyMemoryState;
}

export function newMemoryState(): MemoryState {
  return {
    seq: 0,
    runs: new Map(),
    statuses: new Map(),
    reports: new Map(),
    approvals: new Map(),
    successes: new Map(),
    checkResults: new Map(),
    leases: new Map(),
    requestSeq: 0,
    webhooks: new Map(),
    requests: new Map(),
    tokens: new Map(),
    notify: newNotifyMemoryState(),
  };
}

export function openMemoryStore(
  state: MemoryState = newMemoryState(),
  options: MemoryStoreOptions = {},
): Store {
  const now = options.now ?? (() => new Date());
  const copy = structuredClone;
  const next = () => ++state.seq;
  // Newest first by time, then by insertion (as SQLite orders by ms, then seq).
  const newestFirst = <T extends { seq: number; ms: number }>(items: Iterable<T>): T[] =>
    [...items].sort((a, b) => b.ms - a.ms || b.seq - a.seq);
  const limited = <T>(items: T[], limit: number | undefined): T[] =>
    limit === undefined ? items : items.slice(0, positiveInteger(limit, "limit"));
  const withoutUndefined = <T extends object>(value: T): T =>
    Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
  const key = (...parts: string[]) => JSON.stringify(parts);

  const putLease = (name: string, owner: string, ttlMs: number, at: string, acquiredAt?: string): Lease => {
    const expiresMs = epochMs(at, "now") + ttlMs;
    const lease: Lease = {
      key: name,
      owner,
      acquiredAt: acquiredAt ?? at,
      renewedAt: at,
      expiresAt: new Date(expiresMs).toISOString(),
    };
    state.leases.set(name, { expiresMs, lease });
    return copy(lease);
  };
  const leaseArguments = (name: string, owner: string, ttlMs: number, at: string): void => {
    nonEmpty(name, "key");
    nonEmpty(owner, "owner");
    positiveInteger(ttlMs, "ttlMs");
    epochMs(at, "now");
  };

  const store: Store = {
    ...memoryNotificationStore(state.notify),
    async startRun(run: NewRun) {
      const ms = epochMs(run.startedAt, "startedAt");
      nonEmpty(run.owner, "owner");
      if (state.runs.has(run.id)) throw new StoreError("conflict", `run ${run.id} already exists`);
      const record: RunRecord = withoutUndefined({
        id: run.id,
        environment: run.environment,
        stack: run.stack,
        kind: run.kind,
        trigger: run.trigger,
        commit: run.commit,
        mode: run.mode,
        owner: run.owner,
        heartbeatAt: run.startedAt,
        startedAt: run.startedAt,
      });
      state.runs.set(run.id, { seq: next(), ms, heartbeatMs: ms, record });
    },

    async finishRun(id: string, outcome: RunOutcome, error?: RunRecord["error"]) {
      const entry = state.runs.get(id);
      if (!entry) throw new StoreError("not-found", `run ${id} does not exist`);
      const { record } = entry;
      if (record.endedAt !== undefined && record.outcome !== "interrupted") {
        throw new StoreError("conflict", `run ${id} already ended (${record.outcome} at ${record.endedAt})`);
      }
      const { error: _previous, ...rest } = record;
      entry.record = {
        ...rest,
        endedAt: now().toISOString(),
        outcome,
        ...(error ? { error: copy(error) } : {}),
      };
    },

    async setRunCommit(id: string, commit: string) {
      nonEmpty(commit, "commit");
      const entry = state.runs.get(id);
      if (!entry) throw new StoreError("not-found", `run ${id} does not exist`);
      entry.record.commit = commit;
    },

    async heartbeat(owner: string, at: string) {
      const ms = epochMs(at, "at");
      nonEmpty(owner, "owner");
      let touched = 0;
      for (const entry of state.runs.values()) {
        if (entry.record.owner !== owner || entry.record.endedAt !== undefined) continue;
        touched++;
        if (entry.heartbeatMs >= ms) continue;
        entry.heartbeatMs = ms;
        entry.record.heartbeatAt = at;
      }
      return touched;
    },

    async runs(filter: RunFilter = {}) {
      const all = newestFirst(state.runs.values()).filter(
        (e) => filter.environment === undefined || e.record.environment === filter.environment,
      );
      return limited(all, filter.limit).map((e) => copy(e.record));
    },

    async run(id: string) {
      const entry = state.runs.get(id);
      return entry ? copy(entry.record) : undefined;
    },

    async interruptedRuns() {
      return newestFirst(state.runs.values())
        .filter((e) => e.record.outcome === "interrupted")
        .map((e) => copy(e.record));
    },

    async markInterrupted({ now: at, isDead }: InterruptSweep) {
      epochMs(at, "now");
      return newestFirst(state.runs.values())
        .filter((e) => e.record.endedAt === undefined && isDead(e.record.owner, e.record.heartbeatAt))
        .map((entry) => {
          entry.record = {
            ...entry.record,
            endedAt: at,
            outcome: "interrupted",
            error: interruptedError(entry.record),
          };
          return copy(entry.record);
        });
    },

    async setStatus(environmentState: EnvironmentState) {
      count(environmentState.pendingCount, "pendingCount");
      count(environmentState.driftCount, "driftCount");
      const ms = epochMs(environmentState.updatedAt, "updatedAt");
      const s = validInput(EnvironmentStateSchema, withoutUndefined(environmentState), "status");
      const current = state.statuses.get(s.environment);
      // Two processes may report out of order; a state never replaces a newer one.
      if (current && current.ms > ms) return;
      state.statuses.set(s.environment, { ms, state: s });
    },

    async statuses() {
      return [...state.statuses.values()]
        .map((e) => copy(e.state))
        .sort((a, b) => (a.environment < b.environment ? -1 : a.environment > b.environment ? 1 : 0));
    },

    async status(environment: string) {
      const entry = state.statuses.get(environment);
      return entry ? copy(entry.state) : undefined;
    },

    async setEnvironmentList(environments: readonly ListedEnvironment[]) {
      state.environmentList = environmentListText(environments);
    },

    async environmentList() {
      return state.environmentList === undefined ? undefined : environmentListFromText(state.environmentList);
    },

    async saveReport(report: RunReport) {
      validReport(report);
      const ms = epochMs(report.startedAt, "startedAt");
      // Kept as JSON would keep it: what comes back is what a database would give back.
      const stored = JSON.parse(JSON.stringify(report)) as RunReport;
      const existing = state.reports.get(report.runId);
      if (existing) {
        if (deepEqual(existing.report, stored)) return;
        throw new StoreError("conflict", `a different report for run ${report.runId} is already stored`);
      }
      state.reports.set(report.runId, { seq: next(), ms, report: stored });
    },

    async latestReport(environment: string) {
      const [latest] = newestFirst(state.reports.values()).filter(
        (e) => e.report.environment === environment,
      );
      return latest ? storedReport(latest.report.runId, copy(latest.report)) : undefined;
    },

    async reports(environment: string, limit: number, offset = 0) {
      positiveInteger(limit, "limit");
      count(offset, "offset");
      return limited(
        newestFirst(state.reports.values())
          .filter((e) => e.report.environment === environment)
          .slice(offset),
        limit,
      ).map((e): ReportSummary => ({
        runId: e.report.runId,
        startedAt: e.report.startedAt,
        status: e.report.status,
      }));
    },

    async reportCount(environment: string) {
      return [...state.reports.values()].filter((e) => e.report.environment === environment).length;
    },

    async statusSince(environment: string, status: string) {
      let since: string | undefined;
      for (const e of newestFirst(state.reports.values())) {
        if (e.report.environment !== environment) continue;
        if (e.report.status !== status) break;
        since = e.report.startedAt;
      }
      return since;
    },

    async report(runId: string) {
      const entry = state.reports.get(runId);
      return entry ? storedReport(runId, copy(entry.report)) : undefined;
    },

    async addApproval(approval: Approval) {
      const { approval: a, atMs: ms } = newApproval(approval);
      const existing = state.approvals.get(a.id);
      if (existing) {
        // A retried write is fine (even after a revocation); a different approval under that id is not.
        const { revokedAt: _at, revokedBy: _by, ...stored } = existing.approval;
        if (deepEqual(stored, a)) return;
        throw new StoreError("conflict", `a different approval with id ${a.id} is already stored`);
      }
      // One approver approves one plan once, per scope, while the approval is active.
      const same = [...state.approvals.values()].some(
        ({ approval: b }) =>
          b.revokedAt === undefined &&
          b.environment === a.environment &&
          b.commit === a.commit &&
          b.planDigest === a.planDigest &&
          b.approver === a.approver &&
          b.scope === a.scope,
      );
      if (same) return;
      state.approvals.set(a.id, { seq: next(), ms, approval: a });
    },

    async approvals(environment: string, query: ApprovalQuery = {}) {
      return newestFirst(state.approvals.values())
        .filter(
          ({ approval: a }) =>
            a.environment === environment && (query.includeRevoked || a.revokedAt === undefined),
        )
        .map((e) => copy(e.approval));
    },

    async revokeApprovals(environment: string, revocation: Revocation) {
      checkRevocation(revocation);
      return newestFirst(state.approvals.values())
        .filter(
          ({ approval: a }) =>
            a.environment === environment &&
            a.revokedAt === undefined &&
            (revocation.approver === undefined || a.approver === revocation.approver) &&
            (revocation.planDigest === undefined || a.planDigest === revocation.planDigest) &&
            (revocation.id === undefined || a.id === revocation.id),
        )
        .map((entry) => {
          entry.approval = { ...entry.approval, revokedAt: revocation.at, revokedBy: revocation.by };
          return copy(entry.approval);
        });
    },

    async recordSuccess(success: NewSuccess) {
      const s = validInput(NewSuccessSchema, success, "success");
      const ms = epochMs(s.at, "at");
      const id = key(s.environment, s.programTree);
      const current = state.successes.get(id);
      // Successes may be recorded out of order (two processes): the earliest first and latest last win.
      const first = current && current.firstMs <= ms ? current : undefined;
      const last = current && current.lastMs > ms ? current : undefined;
      state.successes.set(id, {
        firstMs: first?.firstMs ?? ms,
        lastMs: last?.lastMs ?? ms,
        success: {
          environment: s.environment,
          programTree: s.programTree,
          commit: last?.success.commit ?? s.commit,
          firstAt: first?.success.firstAt ?? s.at,
          lastAt: last?.success.lastAt ?? s.at,
        },
      });
    },

    async success(environment: string, programTree: string) {
      const entry = state.successes.get(key(environment, programTree));
      return entry ? copy(entry.success) : undefined;
    },

    async saveCommandResult(environment: string, name: string, result: CommandResult) {
      const { result: r, atMs: ms } = newCheckResult(environment, name, result);
      const id = key(environment, name);
      const current = state.checkResults.get(id);
      if (current && current.ms > ms) return;
      state.checkResults.set(id, { ms, result: r });
    },

    async commandResult(environment: string, name: string) {
      const entry = state.checkResults.get(key(environment, name));
      return entry ? copy(entry.result) : undefined;
    },

    async acquire(name: string, owner: string, ttlMs: number, at: string, isDead?: IsDead) {
      leaseArguments(name, owner, ttlMs, at);
      const held = state.leases.get(name);
      if (!held) return putLease(name, owner, ttlMs, at);
      if (held.lease.owner === owner) return putLease(name, owner, ttlMs, at, held.lease.acquiredAt);
      const free =
        held.expiresMs <= epochMs(at, "now") || (isDead?.(held.lease.owner, held.lease.renewedAt) ?? false);
      return free ? putLease(name, owner, ttlMs, at) : undefined;
    },

    async acquireLeases(keys: string[], owner: string, ttlMs: number, at: string, isDead?: IsDead) {
      for (const key of keys) leaseArguments(key, owner, ttlMs, at);
      const taken: string[] = [];
      for (const key of keys) if (await this.acquire(key, owner, ttlMs, at, isDead)) taken.push(key);
      return taken;
    },

    async renew(name: string, owner: string, ttlMs: number, at: string) {
      leaseArguments(name, owner, ttlMs, at);
      const held = state.leases.get(name);
      return held?.lease.owner === owner
        ? putLease(name, owner, ttlMs, at, held.lease.acquiredAt)
        : undefined;
    },

    async renewLeases(keys: string[], owner: string, ttlMs: number, at: string) {
      const renewed: string[] = [];
      for (const key of keys) if (await this.renew(key, owner, ttlMs, at)) renewed.push(key);
      return renewed;
    },

    async release(name: string, owner: string) {
      if (state.leases.get(name)?.lease.owner !== owner) return false;
      return state.leases.delete(name);
    },

    async holder(name: string) {
      const held = state.leases.get(name);
      return held ? copy(held.lease) : undefined;
    },

    async leases(prefix: string | readonly string[]) {
      const prefixes = typeof prefix === "string" ? [prefix] : prefix;
      return [...state.leases.values()]
        .filter(({ lease }) => prefixes.some((p) => lease.key.startsWith(p)))
        .map(({ lease }) => copy(lease))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async addRequest(request: NewWorkRequest) {
      const r = validInput(NewWorkRequestSchema, request, "work request");
      const ms = epochMs(r.at, "at");
      const seq = ++state.requestSeq;
      state.requests.set(seq, { ms, request: { ...withoutUndefined(r), seq } });
      return seq;
    },

    async requestsSince(seq: number, limit?: number) {
      count(seq, "seq");
      const after = [...state.requests.values()]
        .filter((e) => e.request.seq > seq)
        .sort((a, b) => a.request.seq - b.request.seq)
        .map((e) => copy(e.request));
      return limited(after, limit);
    },

    async pruneRequests(before: string) {
      const ms = epochMs(before, "before");
      let pruned = 0;
      for (const [seq, entry] of state.requests) {
        if (entry.ms < ms && state.requests.delete(seq)) pruned++;
      }
      return pruned;
    },

    async recordWebhook(mark: WebhookDeliveryMark) {
      const m = webhookMark(mark);
      const key = JSON.stringify([m.provider, m.repository]);
      const stats = state.webhooks.get(key) ?? { provider: m.provider, repository: m.repository, refused: 0 };
      if (m.outcome === "refused") {
        stats.refused++;
        if (!stats.lastRefusedAt || stats.lastRefusedAt < m.at) stats.lastRefusedAt = m.at;
      } else if (!stats.lastVerifiedAt || epochMs(stats.lastVerifiedAt, "at") < epochMs(m.at, "at")) {
        stats.lastVerifiedAt = m.at;
      }
      state.webhooks.set(key, stats);
    },

    async webhookDeliveries() {
      return [...state.webhooks.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, stats]) => copy(stats));
    },

    async addToken(token: NewToken) {
      const { secretHash, ...t } = validInput(NewTokenSchema, token, `token ${String(token?.name)}`);
      const hashTaken = [...state.tokens.values()].some((e) => e.secretHash === secretHash);
      if (state.tokens.has(t.name) || hashTaken) throw tokenTaken(t.name);
      state.tokens.set(t.name, { secretHash, token: withoutUndefined(t) });
    },

    async tokens() {
      return [...state.tokens.values()]
        .map((e) => copy(e.token))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    async tokenByHash(secretHash: string) {
      nonEmpty(secretHash, "secretHash");
      const found = [...state.tokens.values()].find((e) => e.secretHash === secretHash);
      return found ? copy(found.token) : undefined;
    },

    async touchToken(name: string, at: string) {
      const ms = epochMs(at, "at");
      const entry = state.tokens.get(nonEmpty(name, "name"));
      if (!entry || (entry.lastUsedMs !== undefined && entry.lastUsedMs >= ms)) return;
      entry.lastUsedMs = ms;
      entry.token.lastUsedAt = at;
    },

    async revokeToken(name: string, by: string, at: string) {
      nonEmpty(by, "by");
      epochMs(at, "at");
      const entry = state.tokens.get(nonEmpty(name, "name"));
      if (!entry) return undefined;
      if (entry.token.revokedAt === undefined) entry.token = { ...entry.token, revokedAt: at, revokedBy: by };
      return copy(entry.token);
    },

    async close() {
      // Nothing to release: the state lives as long as whoever holds it.
    },
  };
  return store;
}
