import type { AuditEntry } from "../../adapters/audit";
import type { NewNotification, Store } from "../../adapters/store/port";
import type { NotifyEventName } from "../../config/schema";
import type { ChangeSet } from "../../domain/changes";
import type { EnvironmentState, RunReport } from "../../domain/model";
import { formatAge, type ChangedResource, type NotifyEvent } from "./event";

// Finds what to notify: status transitions (against the last notified status per environment, kept
// in the store), staleness reminders, sync runs, and people's actions from the audit log (behind a
// cursor). Each poll queues its notifications and moves its marks in one store transaction, so a
// crash neither loses an event nor queues it twice; a repeated poll finds nothing new.

export interface StaleTiming {
  afterMs: number;
  everyMs: number;
}

export interface DetectorOptions {
  store: Pick<
    Store,
    "statuses" | "statusSince" | "latestReport" | "report" | "runs" | "notifyMarks" | "queueNotifications"
  >;
  audit: { entries(): Promise<AuditEntry[]> };
  /** The sinks an event goes to (none: it is not queued). */
  route(event: NotifyEvent): string[];
  /** The staleness timing of an event name; undefined: no reminder. */
  stale(name: NotifyEventName): StaleTiming | undefined;
  /** The environment's dashboard page. */
  link(environment: string): string;
  /** Masks known secrets in the event before it is stored. */
  redact<T>(event: T): T;
  now: () => Date;
}

interface StatusMark {
  status: string;
  at: string;
}

interface StaleMark {
  status: string;
  since: string;
  n: number;
}

/** The statuses worth a message, and the event name routes use for each. */
const NOTIFIED: Record<string, NotifyEventName> = {
  Synced: "Synced",
  OutOfSync: "OutOfSync",
  Drifted: "Drifted",
  "OutOfSync+Drifted": "Drifted",
  AwaitingApproval: "AwaitingApproval",
  Blocked: "Blocked",
  Failed: "Failed",
  Interrupted: "Failed",
};

const TOP_RESOURCES = 5;
const TOP_PROPERTIES = 5;
const VALUE_CHARS = 60;
const RUNS_LOOKED_AT = 50;

export class Detector {
  constructor(private readonly options: DetectorOptions) {}

  /** One look at the store and the audit log; returns how many notifications it queued. */
  async poll(): Promise<number> {
    const { store } = this.options;
    const now = this.options.now().toISOString();
    const marks = await store.notifyMarks();
    const changed: Record<string, string> = {};
    const events: NotifyEvent[] = [];

    for (const state of await store.statuses()) {
      const name = NOTIFIED[state.status];
      if (name === undefined) continue; // Progressing: wait for where it lands
      const mark = parseMark<StatusMark>(marks[`status:${state.environment}`]);
      if (mark?.status !== state.status) {
        const entered: StatusMark = { status: state.status, at: now };
        changed[`status:${state.environment}`] = JSON.stringify(entered);
        // The first sight of a Synced environment is no news; anything else is.
        if (mark || name !== "Synced") events.push(await this.transition(state, name, mark?.status, now));
        continue;
      }
      const stale = await this.staleness(state, name, mark, marks[`stale:${state.environment}`], now);
      if (stale) {
        events.push(stale.event);
        changed[`stale:${state.environment}`] = JSON.stringify(stale.mark);
      }
    }

    events.push(...(await this.syncRuns(marks, changed, now)));
    events.push(...(await this.actions(marks, changed)));

    const queued: NewNotification[] = events.flatMap((raw) => {
      const event = this.options.redact(raw);
      const body = JSON.stringify(event);
      return this.options.route(event).map((sink) => ({ key: event.key, sink, body, at: now }));
    });
    if (queued.length === 0 && Object.keys(changed).length === 0) return 0;
    return store.queueNotifications(queued, changed);
  }

  private async transition(
    state: EnvironmentState,
    name: NotifyEventName,
    previous: string | undefined,
    now: string,
  ): Promise<NotifyEvent> {
    const report = await this.options.store.latestReport(state.environment);
    const env = state.environment;
    const title =
      name === "Synced"
        ? `${env} is Synced again`
        : `${env} is ${state.status}${previous ? ` (was ${previous})` : ""}`;
    return {
      key: `status:${env}:${state.status}:${now}`,
      name,
      environment: env,
      at: now,
      title,
      status: state.status,
      ...(previous ? { previous } : {}),
      ...(state.reason ? { reason: state.reason } : {}),
      ...context(report, state),
      link: this.options.link(env),
    };
  }

  private async staleness(
    state: EnvironmentState,
    name: NotifyEventName,
    mark: StatusMark,
    staleMark: string | undefined,
    now: string,
  ): Promise<{ event: NotifyEvent; mark: StaleMark } | undefined> {
    if (name === "Synced") return undefined;
    const timing = this.options.stale(name);
    if (!timing) return undefined;
    const env = state.environment;
    const since = (await this.options.store.statusSince(env, state.status)) ?? mark.at;
    const ageMs = Date.parse(now) - Date.parse(since);
    if (ageMs < timing.afterMs) return undefined;
    const n = Math.floor((ageMs - timing.afterMs) / timing.everyMs);
    const last = parseMark<StaleMark>(staleMark);
    if (last && last.status === state.status && last.since === since && last.n >= n) return undefined;
    const report = await this.options.store.latestReport(env);
    return {
      mark: { status: state.status, since, n },
      event: {
        key: `stale:${env}:${state.status}:${since}:${n}`,
        name: "stale",
        environment: env,
        at: now,
        title: `${env} has been ${state.status} for ${formatAge(ageMs)}`,
        status: state.status,
        since,
        ageMs,
        ...(state.reason ? { reason: state.reason } : {}),
        ...context(report, state),
        link: this.options.link(env),
      },
    };
  }

  /** Sync runs started since the first poll: one event when each starts (its end is the audit log's). */
  private async syncRuns(
    marks: Record<string, string>,
    changed: Record<string, string>,
    now: string,
  ): Promise<NotifyEvent[]> {
    const baseline = marks.runs;
    if (baseline === undefined) {
      changed.runs = now;
      return [];
    }
    const runs = await this.options.store.runs({ limit: RUNS_LOOKED_AT });
    return runs
      .filter((run) => run.kind === "sync" && Date.parse(run.startedAt) >= Date.parse(baseline))
      .map((run) => ({
        key: `run:${run.id}:started`,
        name: "sync-started" as const,
        environment: run.environment,
        at: run.startedAt,
        title: `a sync of ${run.environment} started`,
        actor: run.trigger,
        ...(run.commit ? { commit: { sha: run.commit } } : {}),
        link: this.options.link(run.environment),
      }));
  }

  /** People's actions and sync outcomes, from the audit entries after the cursor. */
  private async actions(
    marks: Record<string, string>,
    changed: Record<string, string>,
  ): Promise<NotifyEvent[]> {
    const entries = await this.options.audit.entries();
    const last = entries.at(-1)?.seq ?? 0;
    const cursor = marks.audit === undefined ? undefined : Number(marks.audit);
    if (cursor === undefined || cursor > last) {
      // First start (no back-fill of history), or a log started afresh.
      changed.audit = String(last);
      return [];
    }
    const events: NotifyEvent[] = [];
    for (const entry of entries) {
      if (entry.seq <= cursor || entry.environment === undefined) continue;
      const event = await this.fromAudit(entry, entry.environment);
      if (event) events.push(event);
    }
    if (last !== cursor) changed.audit = String(last);
    return events;
  }

  private async fromAudit(entry: AuditEntry, env: string): Promise<NotifyEvent | undefined> {
    const base = {
      environment: env,
      at: entry.time,
      actor: entry.actor,
      ...(entry.commit ? { commit: { sha: entry.commit } } : {}),
      ...(entry.reason ? { reason: entry.reason } : {}),
      link: this.options.link(env),
    };
    const key = `audit:${entry.seq}`;
    const runId = typeof entry.details?.runId === "string" ? entry.details.runId : undefined;
    const sync = entry.details?.sync as { applied?: boolean; summary?: Record<string, number> } | undefined;
    switch (entry.action) {
      case "approve":
        return { ...base, key, name: "approved", title: `${entry.actor} approved the plan of ${env}` };
      case "revoke":
        return { ...base, key, name: "revoked", title: `${entry.actor} revoked approvals of ${env}` };
      case "promote":
        return { ...base, key, name: "promoted", title: `${entry.actor} promoted to ${env}` };
      case "gates-change":
        // Every check of the same commit says so again: once per commit.
        return {
          ...base,
          key: `gates-change:${env}:${entry.commit ?? entry.seq}`,
          name: "gates-change",
          title: `a commit changes the gates of ${env}`,
        };
      case "sync":
      case "failure": {
        if (entry.action === "failure" && sync === undefined) return undefined; // a failed check: its status says so
        const report = runId ? await this.options.store.report(runId) : undefined;
        const ok = entry.action === "sync";
        return {
          ...base,
          key,
          name: ok ? "sync-succeeded" : "sync-failed",
          title: ok ? `a sync of ${env} succeeded` : `a sync of ${env} failed`,
          ...(entry.verdict ? { status: entry.verdict } : {}),
          ...(sync?.summary ? { applied: sync.summary } : {}),
          ...context(report, undefined),
        };
      }
      default:
        return undefined;
    }
  }
}

/** The commit and the top changes a report gives an event. */
function context(
  report: RunReport | undefined,
  state: EnvironmentState | undefined,
): Pick<NotifyEvent, "commit" | "changes"> {
  const out: Pick<NotifyEvent, "commit" | "changes"> = {};
  const desired = report?.desired;
  if (desired) out.commit = { sha: desired.sha, author: desired.author, message: firstLine(desired.message) };
  else if (state?.headCommit) out.commit = { sha: state.headCommit };
  const set = nonEmpty(report?.drift) ?? nonEmpty(report?.pending);
  if (set) out.changes = top(set);
  return out;
}

function nonEmpty(set: ChangeSet | undefined): ChangeSet | undefined {
  return set && set.resources.length > 0 ? set : undefined;
}

function top(set: ChangeSet): NonNullable<NotifyEvent["changes"]> {
  const resources: ChangedResource[] = set.resources.slice(0, TOP_RESOURCES).map((r) => ({
    name: r.name,
    type: r.type,
    action: r.action,
    properties: r.properties.slice(0, TOP_PROPERTIES).map((p) => {
      if (p.kind === "add") return `${p.path}: + ${show(p.new)}`;
      if (p.kind === "delete") return `${p.path}: - ${show(p.old)}`;
      return `${p.path}: ${show(p.old)} → ${show(p.new)}`;
    }),
  }));
  return { kind: set.kind, resources, more: Math.max(0, set.resources.length - TOP_RESOURCES) };
}

function show(value: unknown): string {
  const text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? "undefined");
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS - 1)}…` : text;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? "";
}

function parseMark<T>(value: string | undefined): T | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}
