import type { CommandResult, GateVerdict, PolicyViolation } from "../domain/gates";
import type { RunReport, EnvironmentStatus, RunKind, RunRecord } from "../domain/model";
import { type ChangeSet, type PropertyChange, type ResourceChange, resourceName } from "../domain/changes";
import { KNOWN_AFTER_APPLY, MASK } from "../domain/values";
import { shortDigest } from "../domain/plan";
import { checkOutcome, VERDICT_SYMBOLS } from "./markdown";
import type { EnvironmentState, ReportSummary, Staleness } from "../domain/model";
import { shortSha as shortOf } from "../domain/commit";

// The pure half of the CLI: tables, ages, change lines and exit codes. Nothing here reads a file,
// a clock or the store, so it is unit-tested directly. Text that comes from outside (reasons,
// resource names, commit messages) goes through `clean`, so it cannot move the cursor or recolour
// the terminal.

/** `check`/`drift --exit-code`: the environment differs from Git or from the live world. */
export const CHANGES_EXIT_CODE = 3;

/** What `status` knows of an environment: its configuration, and its state when it was ever checked. */
export type StatusRow = Omit<EnvironmentState, "updatedAt"> & {
  updatedAt?: string;
  /** An environment of several stacks: each as its latest report left it. */
  stacks?: { name: string; status: EnvironmentStatus; reason?: string; deployedCommit?: string }[];
};

const NEVER_CHECKED = "never checked";

/**
 * One row per configured environment, in promotion order; one never checked is `Unknown`. Branch and
 * stack come from the configuration (it may have changed since the last run).
 */
export function statusRows(
  environments: readonly { name: string; branch: string; stack: string }[],
  states: readonly EnvironmentState[],
): StatusRow[] {
  return environments.map((env) => {
    const state = states.find((s) => s.environment === env.name);
    if (!state) {
      return {
        environment: env.name,
        branch: env.branch,
        stack: env.stack,
        status: "Unknown",
        reason: NEVER_CHECKED,
        pendingCount: 0,
        driftCount: 0,
      };
    }
    return { ...state, branch: env.branch, stack: env.stack };
  });
}

/**
 * The status table, `kubectl get`-style: ENVIRONMENT, BRANCH, STATUS, HEAD, DEPLOYED, PENDING,
 * DRIFTED, LAST RUN, and the reason on the line below an environment when there is one. A reason
 * (several gates can say no at once) is cut to the table's width; a last line says where the whole
 * one is.
 */
export function formatStatusTable(rows: readonly StatusRow[], now: Date): string {
  if (rows.length === 0) return "No environments.\n";
  const header = ["ENVIRONMENT", "BRANCH", "STATUS", "HEAD", "DEPLOYED", "PENDING", "DRIFTED", "LAST RUN"];
  const cells = rows.map((row) => {
    const checked = row.lastRunAt !== undefined;
    return [
      clean(row.environment),
      clean(row.branch),
      row.stale ? `${row.status} (stale)` : row.status,
      shortSha(row.headCommit),
      shortSha(row.deployedCommit),
      checked ? String(row.pendingCount) : "-",
      checked ? String(row.driftCount) : "-",
      row.lastRunAt === undefined ? "never" : age(row.lastRunAt, now),
    ];
  });
  const lines = alignColumns([header, ...cells]);
  const max = Math.max(MIN_REASON_WIDTH, ...lines.map((l) => l.length)) - REASON_PREFIX.length;
  const out = [lines[0] ?? ""];
  let shortened = false;
  rows.forEach((row, i) => {
    out.push(lines[i + 1] ?? "");
    if (row.stale) out.push(`${REASON_PREFIX}${reasonLine(staleLine(row.stale, now), max) ?? ""}`);
    const reason = reasonLine(row.reason, max);
    if (reason) {
      out.push(`${REASON_PREFIX}${reason}`);
      shortened ||= reason !== clean(row.reason ?? "").trim();
    }
    out.push(...stackLines(row.stacks ?? [], max));
  });
  if (shortened)
    out.push(
      "",
      "Reasons cut short (…): `tidegate status --json` or `tidegate report <env>` has them whole.",
    );
  return `${out.join("\n")}\n`;
}

const REASON_PREFIX = "  ↳ ";

/** One line per stack of an environment of several, under its row: name, status, deployed commit. */
function stackLines(stacks: NonNullable<StatusRow["stacks"]>, max: number): string[] {
  if (stacks.length === 0) return [];
  const cells = stacks.map((stack) => [
    `    stack ${clean(stack.name)}`,
    stack.status,
    `deployed ${shortSha(stack.deployedCommit)}`,
  ]);
  return alignColumns(cells).map((line, i) => {
    const why = stacks[i]!.status === "Synced" ? undefined : reasonLine(stacks[i]!.reason, max);
    return why ? `${line}  ${why}` : line;
  });
}

/** "stale since 3m ago, last successful poll 5m ago: <reason>": the status above it is the last known. */
export function staleLine(stale: Staleness, now: Date): string {
  const last = stale.lastPollAt === undefined ? "unknown" : age(stale.lastPollAt, now);
  return `stale since ${age(stale.since, now)}, last successful poll ${last}: ${stale.reason}`;
}
/** The reason line is as wide as the table, but never narrower than a terminal. */
const MIN_REASON_WIDTH = 80;

/** Rows of cells as lines, each column as wide as its widest cell, three spaces apart. */
export function alignColumns(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd(),
  );
}

/** The reason as one line of at most `max` characters (the JSON output keeps it whole). */
export function reasonLine(reason: string | undefined, max = 160): string | undefined {
  if (reason === undefined) return undefined;
  const lines = reason.split(/\r?\n/).map((l) => clean(l).trim());
  const first = lines.find((l) => l !== "") ?? "";
  if (first === "") return undefined;
  const more = lines.filter((l) => l !== "").length > 1;
  if (first.length > max) return `${first.slice(0, max - 1)}…`;
  return more ? `${first} …` : first;
}

/** "just now", "45s ago", "3m ago", "5h ago", "2d ago"; a time in the future (clock skew) is "just now". */
export function age(iso: string, now: Date): string {
  const ms = now.getTime() - Date.parse(iso);
  if (Number.isNaN(ms)) return "?";
  const elapsed = span(ms);
  return elapsed === undefined ? "just now" : `${elapsed} ago`;
}

/** A span of time as `age` words it without "ago": "45s", "3m", "5h", "2d"; undefined under 5 seconds. */
export function span(ms: number): string | undefined {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 5) return undefined;
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

export function shortSha(sha: string | undefined): string {
  return sha ? shortOf(clean(sha)) : "-";
}

/**
 * The exit code of `check` and `drift`: 1 when the environment could not be checked or needs a
 * person (Failed, Interrupted, Blocked, Unknown, and Progressing, which a finished check never is); otherwise 0,
 * except that with `detailed` (--exit-code) a difference from Git or from the live world is 3,
 * like `terraform plan -detailed-exitcode`.
 */
export function checkExitCode(status: EnvironmentStatus, detailed: boolean): number {
  switch (status) {
    case "Synced":
      return 0;
    case "OutOfSync":
    case "Drifted":
    case "OutOfSync+Drifted":
    case "AwaitingApproval":
      return detailed ? CHANGES_EXIT_CODE : 0;
    case "Failed":
    case "Interrupted":
    case "Stalled":
    case "Blocked":
    case "Unknown":
    case "Progressing":
      return 1;
  }
}

/** True when the startup checks of `run --once` should exit 1. */
export function anyFailed(statuses: readonly EnvironmentStatus[]): boolean {
  return statuses.includes("Failed") || statuses.includes("Stalled");
}

// --- check summaries --------------------------------------------------------------------------------

const SYMBOLS: Record<ResourceChange["action"], string> = {
  create: "+",
  update: "~",
  replace: "+-",
  delete: "-",
  drifted: "~",
  missing: "-",
};

export const WITHOUT_PROPERTIES: Record<ResourceChange["action"], string> = {
  create: "will be created",
  update: "will be updated (no property detail)",
  replace: "will be replaced",
  delete: "will be deleted",
  drifted: "changed outside Pulumi (no property detail)",
  missing: "gone from the live world; the deployed state still records it",
};

const SECTION_TITLES: Record<ChangeSet["kind"], string> = {
  pending: "Pending changes (Git → deployed)",
  drift: "Drift (live ≠ deployed)",
};

/**
 * What one check found, for people: status and reason, the commit, then pending changes and drift in
 * separate sections, one line per property: `~ artifacts (aws-sdk:Bucket) tags.team: "a" → "b"`.
 */
export function formatCheckSummary(report: RunReport): string {
  const out = [`${clean(report.environment)}: ${report.status}`];
  for (const line of (report.reason ?? "").split(/\r?\n/)) {
    if (line.trim() !== "") out.push(`  ${clean(line)}`);
  }
  out.push(`  ${commitLine(report)}`);
  const gates = gateLines(report);
  if (gates.length > 0) out.push("", ...gates);
  if (report.gatesChange) out.push("", ...gatesChangeLines(report));
  for (const kind of ["pending", "drift"] as const) {
    const changes = report[kind];
    // A drift-only check never looks for pending changes; saying "not checked" would be noise.
    if (kind === "pending" && changes === undefined && report.drift !== undefined) continue;
    out.push("", ...changeSection(kind, changes));
  }
  if (report.ignoredDrift) out.push("", ...ignoredDriftLines(report.ignoredDrift));
  const findings = [...checkLines(report.checks), ...policyLines(report.policy)];
  if (findings.length > 0) out.push("", ...findings);
  if (report.sync) out.push("", ...syncLines(report.sync));
  return `${out.join("\n")}\n`;
}

/**
 * The gates' verdicts (`✖ window (block): …`), headed by the plan they judged, then the
 * approvals that count; nothing when no gate is set.
 */
export function gateLines(report: RunReport): string[] {
  const gates = report.gates ?? [];
  const approvals = report.approvals ?? [];
  if (gates.length === 0 && approvals.length === 0) return [];
  const plan = report.plan ? ` (plan ${shortDigest(report.plan.digest)})` : "";
  const out = [`Gates${plan}:`, ...gates.map(gateLine)];
  if (approvals.length > 0) {
    out.push(
      "Approvals counted:",
      ...approvals.map((a) => `  ${clean(a.approver)} at ${clean(a.at)} (${a.scope})`),
    );
  }
  return out;
}

function gateLine(verdict: GateVerdict): string {
  return `  ${VERDICT_SYMBOLS[verdict.verdict]} ${verdict.gate} (${verdict.verdict}): ${clean(verdict.reason)}`;
}

/** The warning for a commit that changes its own environment's gates, and what it changes. */
export function gatesChangeLines(report: RunReport): string[] {
  if (!report.gatesChange) return [];
  return [
    `⚠ This commit changes ${clean(report.environment)}'s gates. They apply only after it is deployed;`,
    "  until then the gates of the deployed commit decide, this sync included.",
    ...report.gatesChange.changes.map((c) => `  - ${clean(c)}`),
  ];
}

/** One line per check command: `✖ functional: failed, exit 1 in 3.0 s` (the output is in the report). */
export function checkLines(checks: readonly CommandResult[] | undefined): string[] {
  if (!checks || checks.length === 0) return [];
  return [
    "Checks:",
    ...checks.map((c) => {
      const passed = c.exitCode === 0 && !c.timedOut;
      return `  ${passed ? "✔" : "✖"} ${clean(c.name)}: ${checkOutcome(c)}`;
    }),
  ];
}

/** One line per policy finding, mandatory ones first: `✖ mandatory on assets: pack/policy: message`. */
export function policyLines(violations: readonly PolicyViolation[] | undefined): string[] {
  if (!violations || violations.length === 0) return [];
  const ordered = [...violations].sort(
    (a, b) => Number(a.level === "advisory") - Number(b.level === "advisory"),
  );
  return [
    "Policy:",
    ...ordered.map((v) => {
      const level = v.level === "mandatory" ? "✖ mandatory" : "⚠ advisory";
      const where = v.urn ? clean(resourceName(v.urn)) : "the stack";
      return `  ${level} on ${where}: ${clean(v.pack)}/${clean(v.policy)}: ${clean(v.message)}`;
    }),
  ];
}

function commitLine(report: RunReport): string {
  const desired = report.desired;
  const head = desired
    ? `commit ${shortSha(desired.sha)} by ${clean(desired.author)}: ${clean(desired.message.split(/\r?\n/, 1)[0] ?? "")}`
    : "commit unknown";
  return `${head} · deployed ${report.deployed?.commit ? shortSha(report.deployed.commit) : "nothing yet"}`;
}

export function changeSection(kind: ChangeSet["kind"], changes: ChangeSet | undefined): string[] {
  const title = SECTION_TITLES[kind];
  if (!changes) return [`${title}: not checked`];
  const count = changes.resources.length;
  if (count === 0) return [`${title}: none`];
  return [
    `${title}: ${count} ${count === 1 ? "resource" : "resources"}`,
    ...changes.resources.flatMap(changeLines),
  ];
}

/** One line per property; a resource without property detail gets one line saying what happens to it. */
export function changeLines(resource: ResourceChange): string[] {
  const head = `${SYMBOLS[resource.action]} ${clean(resource.name)} (${displayType(resource.type)})`;
  if (resource.properties.length === 0) return [`  ${head}: ${WITHOUT_PROPERTIES[resource.action]}`];
  return resource.properties.map((p) => `  ${head} ${propertyChange(p)}`);
}

/** A dynamic resource's type without the provider's prefix: `aws-sdk:Bucket`, as the program names it. */
export function displayType(type: string): string {
  return clean(type.replace(/^pulumi-nodejs:dynamic\//, ""));
}

function propertyChange(change: PropertyChange): string {
  const replaces = change.replaces ? " (forces replacement)" : "";
  return `${clean(change.path)}: ${formatValue(change.old)} → ${formatValue(change.new)}${replaces}`;
}

/**
 * Drift the environment's drift.ignore rules expect, one line per property with the rule's reason,
 * then the rules that expired: `- artifacts (aws-sdk:Bucket) tags.team: "a" → "b" — ignored: <reason>`.
 */
export function ignoredDriftLines(ignored: NonNullable<RunReport["ignoredDrift"]>): string[] {
  const out = [
    `Ignored drift (drift.ignore): ${ignored.properties.length === 0 ? "none" : ignored.properties.length}`,
  ];
  for (const p of ignored.properties) {
    const by = p.ignoredBy;
    const owner = by.owner ? `, owner ${clean(by.owner)}` : "";
    const until = by.expires ? `, until ${clean(by.expires)}` : "";
    out.push(
      `  - ${clean(p.name)} (${displayType(p.type)}) ${propertyChange(p)} — ignored by rule ${by.rule}: ${clean(by.reason)}${owner}${until}`,
    );
  }
  for (const r of ignored.expiredRules) {
    out.push(
      `  ⚠ rule ${r.rule} expired ${clean(r.expires ?? "")} (${clean(r.reason)}): no longer applies; ${r.covers} drifted ${r.covers === 1 ? "property" : "properties"} it covered count as drift`,
    );
  }
  return out;
}

/** Compact values: strings quoted, objects as JSON (shortened), the model's markers as they are. */
export function formatValue(value: unknown, max = 80): string {
  if (value === undefined) return "(not set)";
  if (value === MASK || value === KNOWN_AFTER_APPLY) return value;
  // JSON escapes control characters, so a value cannot reach the terminal raw.
  const text = JSON.stringify(value) ?? String(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function syncLines(sync: NonNullable<RunReport["sync"]>): string[] {
  const counts = Object.entries(sync.summary ?? {})
    .filter(([op, n]) => n > 0 && op !== "same")
    .map(([op, n]) => `${n} ${clean(op)}`);
  const detail = counts.length > 0 ? ` (${counts.join(", ")})` : "";
  const out = [sync.applied ? `Sync: applied${detail}` : "Sync: not applied"];
  if (sync.windowClosedDuringUpdate) out.push(`  ⚠ ${clean(sync.windowClosedDuringUpdate)}`);
  return out;
}

// --- progress ---------------------------------------------------------------------------------------

/**
 * The stage a check is in, read from the engine's log entries (debug ones included): the entry that
 * ends one stage names the next. Undefined leaves the stage as it was.
 */
export function stageAfter(
  message: string,
  fields: Record<string, unknown>,
  kind: RunKind,
): string | undefined {
  switch (message) {
    case "git":
      if (fields.git === "ls-remote") return "poll";
      if (fields.git === "fetch") return "fetch";
      if (fields.git === "worktree" || fields.git === "checkout") return "checkout";
      return undefined;
    case "checked out":
    case "checkout already at the commit":
      return "install dependencies";
    case "dependencies ready":
      return kind === "drift" ? "drift preview" : "preview, then drift preview";
    case "observed":
      return kind === "check" ? "report" : "decide";
    case "sync started":
      return "update";
    case "sync finished":
      return "report";
    default:
      return undefined;
  }
}

/** `⠋ checking test: preview… 12s`. */
export function progressLine(
  frame: number,
  label: string,
  stage: string | undefined,
  elapsedMs: number,
): string {
  const spinner = SPINNER[frame % SPINNER.length] ?? "";
  const seconds = Math.floor(elapsedMs / 1000);
  return `${spinner} ${label}${stage ? `: ${stage}…` : "…"} ${seconds}s`;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

// --- report history --------------------------------------------------------------------------------

/** `report --history`: RUN, STARTED, KIND, TRIGGER, STATUS, newest first. */
export function formatHistory(
  runs: readonly (ReportSummary & Partial<Pick<RunRecord, "kind" | "trigger" | "commit" | "mode">>)[],
  now: Date,
): string {
  if (runs.length === 0) return "No runs yet.\n";
  const header = ["RUN", "STARTED", "KIND", "MODE", "TRIGGER", "COMMIT", "STATUS"];
  const cells = runs.map((run) => [
    clean(run.runId),
    `${clean(run.startedAt)} (${age(run.startedAt, now)})`,
    run.kind ?? "-",
    run.mode ?? "-",
    run.trigger !== undefined ? clean(run.trigger) : "-",
    run.commit ? shortSha(run.commit) : "-",
    run.status,
  ]);
  return `${alignColumns([header, ...cells]).join("\n")}\n`;
}

/** Text from outside, safe for a terminal: control characters (ESC, CR, BEL…) become spaces. */
export function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
}
