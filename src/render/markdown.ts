import type { CommandResult, GateVerdict, PolicyViolation } from "../domain/gates";
import type { RunReport, CommitInfo, StackReport } from "../domain/model";
import { countByAction, type ChangeSet, type PropertyChange, type ResourceChange } from "../domain/changes";
import { KNOWN_AFTER_APPLY, MASK } from "../domain/values";
import { shortDigest } from "../domain/plan";
import { keptDriftClause } from "../domain/restorable";
import { shortSha as shortOf } from "../domain/commit";

// A check report for people: what the gates say, what differs, where, and from what to what. Pending
// changes and drift are separate sections because they call for different actions (merge vs.
// investigate). Gate, check and policy sections appear only when there is something in them.

const SECTIONS = {
  pending: {
    title: "Pending changes (Git → deployed)",
    empty: "Nothing pending.",
    columns: ["property", "deployed", "desired"],
  },
  drift: {
    title: "Drift (live ≠ deployed)",
    empty: "No drift.",
    columns: ["property", "deployed", "live"],
  },
} as const;

const WITHOUT_PROPERTIES: Record<ResourceChange["action"], string> = {
  create: "Will be created.",
  delete: "Will be deleted.",
  replace: "Will be replaced.",
  update: "Will be updated (the engine gave no property detail).",
  drifted: "Changed outside Pulumi (the engine gave no property detail).",
  missing: "Gone from the live world; the deployed state still records it.",
};

export function renderMarkdown(report: RunReport): string {
  // Gates first: they say why nothing happened (or what happens next); the long parts come last.
  const blocks = [
    header(report),
    commitLines(report),
    gatesSection(report),
    gatesChangeSection(report),
    stacksSection(report.stacks),
    changeSection("pending", report.pending, report.stacks),
    changeSection("drift", report.drift, report.stacks),
    ignoredSection(report.ignoredDrift),
    policySection(report.policy),
    checksSection(report),
    syncSection(report),
    footer(report),
  ];
  return `${blocks.filter((b) => b !== "").join("\n\n")}\n`;
}

function header(report: RunReport): string {
  const reason = report.reason ? ` — ${inline(report.reason)}` : "";
  return `# ${inline(report.environment)}: ${report.status}${reason}`;
}

function commitLines(report: RunReport): string {
  const lines = [`- Stack ${inline(report.stack)}, branch ${inline(report.branch)}`];
  lines.push(report.desired ? `- Commit ${commitLine(report.desired)}` : "- Commit: unknown");
  const deployed = report.deployed?.commit;
  lines.push(`- Deployed: ${deployed ? shortSha(deployed) : "unknown"}`);
  return lines.join("\n");
}

const STACK_OUTCOMES: Record<StackReport["outcome"], string> = {
  applied: "updated",
  unchanged: "not updated",
  failed: "failed",
  skipped: "not started",
  stopped: "stopped before its preview",
  deferred: "previewed once the stacks it depends on are deployed",
};

/** An environment of several stacks: one row each, in the order they are applied. */
function stacksSection(stacks: RunReport["stacks"]): string {
  if (!stacks || stacks.length === 0) return "";
  const rows = stacks.map((stack) =>
    tableRow([
      inline(stack.name),
      `${inline(stack.project)} / ${inline(stack.stack)}`,
      stack.status,
      STACK_OUTCOMES[stack.outcome],
      stack.deployedCommit ? shortSha(stack.deployedCommit) : "unknown",
      String(stack.pending ?? "-"),
      String(stack.drift ?? "-"),
      stack.reason && stack.status !== "Synced" ? cell(stack.reason) : "",
    ]),
  );
  return [
    "## Stacks",
    "",
    tableRow(["Stack", "Project / stack", "Status", "This run", "Deployed", "Pending", "Drifted", "Why"]),
    tableRow(["---", "---", "---", "---", "---", "---", "---", "---"]),
    ...rows,
  ].join("\n");
}

function commitLine(commit: CommitInfo): string {
  const subject = commit.message.split(/\r?\n/, 1)[0] ?? "";
  return `${shortSha(commit.sha)} by ${inline(commit.author)}, ${inline(commit.date)}: ${inline(subject)}`;
}

function shortSha(sha: string): string {
  return inline(shortOf(sha));
}

function changeSection(
  kind: ChangeSet["kind"],
  changes: ChangeSet | undefined,
  stacks?: RunReport["stacks"],
): string {
  const section = SECTIONS[kind];
  const title = `## ${section.title}`;
  // Absent means the check stopped before this preview; that is not the same as "nothing".
  if (!changes) return `${title}\n\nNot checked.`;
  if (changes.resources.length === 0) return `${title}\n\n${section.empty}`;
  const blocks = [title, summaryLine(changes)];
  for (const resource of changes.resources)
    blocks.push(resourceBlock(resource, section.columns, stacks ? stackOf(resource.urn, stacks) : undefined));
  return blocks.join("\n\n");
}

/** Drift that drift.ignore rules expect, with each rule's reason; then the rules that expired. */
function ignoredSection(ignored: RunReport["ignoredDrift"]): string {
  if (!ignored) return "";
  const blocks = ["## Ignored drift (drift.ignore)"];
  if (ignored.properties.length > 0) {
    const columns = ["resource", "property", "deployed", "live", "rule", "reason", "owner", "expires"];
    const rows = ignored.properties.map((p) =>
      tableRow([
        p.name,
        p.path,
        value(p.old),
        value(p.new),
        String(p.ignoredBy.rule),
        p.ignoredBy.reason,
        p.ignoredBy.owner ?? "",
        p.ignoredBy.expires ?? "",
      ]),
    );
    blocks.push([tableRow(columns), tableRow(columns.map(() => "---")), ...rows].join("\n"));
  } else blocks.push("Nothing ignored.");
  for (const r of ignored.expiredRules) {
    const n = `${r.covers} drifted ${r.covers === 1 ? "property" : "properties"}`;
    blocks.push(
      `> ⚠ Rule ${r.rule} (${inline(r.reason)}) expired ${inline(r.expires ?? "")}: it no longer applies; ${n} it covered count as drift.`,
    );
  }
  return blocks.join("\n\n");
}

function summaryLine(changes: ChangeSet): string {
  const counts = Object.entries(countByAction(changes)).map(([action, n]) => `${n} ${action}`);
  const total = changes.resources.length;
  return `${total} ${total === 1 ? "resource" : "resources"}: ${counts.join(", ")}.`;
}

/** The stack of several a resource belongs to, from its URN (urn:pulumi:<stack>::<project>::…). */
function stackOf(urn: string, stacks: NonNullable<RunReport["stacks"]>): string | undefined {
  const [head, project] = urn.split("::");
  const stack = head?.split(":")[2];
  const matches = stacks.filter((s) => s.stack === stack);
  if (matches.length === 1) return matches[0]!.name;
  // Same Pulumi stack name in several projects: the project's folder ends with its name, usually.
  return matches.find((s) => project !== undefined && s.project.split("/").pop() === project)?.name;
}

function resourceBlock(resource: ResourceChange, columns: readonly string[], stack?: string): string {
  const where = stack ? ` in stack ${inline(stack)}` : "";
  const heading = `### ${inline(resource.name)} (${inline(resource.type)})${where}: ${resource.action}`;
  if (resource.properties.length === 0) return `${heading}\n\n${WITHOUT_PROPERTIES[resource.action]}`;
  const rows = resource.properties.map((p) => tableRow([propertyCell(p), value(p.old), value(p.new)]));
  const table = [tableRow([...columns]), tableRow(columns.map(() => "---")), ...rows].join("\n");
  const hidden = resource.unchanged
    ? `\n\n_${resource.unchanged} unchanged ${resource.unchanged === 1 ? "property" : "properties"} hidden._`
    : "";
  return `${heading}\n\n${table}${hidden}`;
}

function propertyCell(change: PropertyChange): string {
  const notes = [
    ...(change.replaces ? ["forces replacement"] : []),
    ...(change.notRestorable ? [change.notRestorable] : []),
  ];
  return notes.length > 0 ? `${change.path} (${notes.join("; ")})` : change.path;
}

/** Compact, unambiguous values: strings quoted, objects as JSON, the model's markers as they are. */
function value(v: unknown): string {
  if (v === undefined) return "(not set)";
  if (v === MASK || v === KNOWN_AFTER_APPLY) return v;
  return JSON.stringify(v) ?? String(v);
}

function tableRow(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(" | ")} |`;
}

/**
 * Escapes a table cell: `|` would end the cell and a newline the row. Other markup characters are
 * escaped too, since values can come from anyone who can edit a resource.
 */
function cell(text: string): string {
  return inline(text).replace(/\|/g, "\\|");
}

/**
 * Escapes what would turn text into markup (emphasis, code, links, HTML) and folds newlines into
 * `<br>`. An underscore inside a word (my_bucket) is never emphasis, so it stays as it is.
 */
function inline(text: string): string {
  return text
    .replace(/[\\`*~<>]|\]\(|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, "\\$&")
    .replace(/\r\n|\r|\n/g, "<br>");
}

function syncSection(report: RunReport): string {
  if (!report.sync) return "";
  const { applied, summary, windowClosedDuringUpdate } = report.sync;
  const counts = Object.entries(summary ?? {})
    .filter(([, n]) => n > 0)
    .map(([op, n]) => `${n} ${inline(op)}`);
  const detail = counts.length > 0 ? `: ${counts.join(", ")}` : "";
  const blocks = ["## Sync", `${applied ? "Applied" : "Not applied"}${detail}.`];
  if (windowClosedDuringUpdate) blocks.push(`> ⚠ ${inline(sentence(windowClosedDuringUpdate))}`);
  return blocks.join("\n\n");
}

// --- gates ------------------------------------------------------------------------------------------

/** A verdict's mark, in the report and on the terminal: `✖ window (block): …`. */
export const VERDICT_SYMBOLS: Record<GateVerdict["verdict"], string> = { pass: "✔", wait: "⏳", block: "✖" };

const SCOPES: Record<NonNullable<RunReport["approvals"]>[number]["scope"], string> = {
  sync: "sync",
  protected: "protected: the plan and its protected operations",
};

/** The gates' verdicts, the plan they judged and the approvals that count; absent when no gate is set. */
function gatesSection(report: RunReport): string {
  const gates = report.gates ?? [];
  const approvals = report.approvals ?? [];
  if (gates.length === 0 && approvals.length === 0) return "";
  const blocks = ["## Gates"];
  if (report.plan) {
    const { commit, digest, remediate } = report.plan;
    const drift = (report.drift?.resources.length ?? 0) > 0;
    const restores = !drift
      ? ""
      : remediate
        ? `; a sync also restores the drift${keptDriftClause(report.drift)}`
        : "; a sync leaves the drift as it is";
    blocks.push(`Plan ${code(shortDigest(digest))} at commit ${shortSha(commit)}${restores}.`);
  }
  if (gates.length > 0) {
    blocks.push(
      gates
        .map((g) => `- ${VERDICT_SYMBOLS[g.verdict]} **${g.gate}** (${g.verdict}): ${inline(g.reason)}`)
        .join("\n"),
    );
  }
  if (approvals.length > 0) {
    const lines = approvals.map((a) => `- ${inline(a.approver)} at ${inline(a.at)} (${SCOPES[a.scope]})`);
    blocks.push(`Approvals counted:\n\n${lines.join("\n")}`);
  }
  return blocks.join("\n\n");
}

/** A commit that edits its own environment's gates: loud, since those edits do not guard this sync. */
function gatesChangeSection(report: RunReport): string {
  if (!report.gatesChange) return "";
  const warning =
    `> ⚠ **This commit changes ${inline(report.environment)}'s gates.** The new gates apply only after it ` +
    "is deployed; until then the gates of the deployed commit decide, this sync included.";
  const changes = report.gatesChange.changes.map((c) => `- ${inline(c)}`);
  return ["## Gates change", warning, ...(changes.length > 0 ? [changes.join("\n")] : [])].join("\n\n");
}

// --- policy -----------------------------------------------------------------------------------------

/** Policy findings grouped per resource (in the order found); stack-wide ones last. */
function policySection(violations: readonly PolicyViolation[] | undefined): string {
  if (!violations || violations.length === 0) return "";
  const mandatory = violations.filter((v) => v.level === "mandatory").length;
  const advisory = violations.length - mandatory;
  const counts = [
    ...(mandatory > 0 ? [`${mandatory} mandatory (${mandatory === 1 ? "blocks" : "block"} the sync)`] : []),
    ...(advisory > 0 ? [`${advisory} advisory`] : []),
  ];
  const total = violations.length;
  const blocks = ["## Policy", `${total} ${total === 1 ? "violation" : "violations"}: ${counts.join(", ")}.`];
  const groups = new Map<string, PolicyViolation[]>();
  for (const v of violations) {
    const key = v.urn ?? "";
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  const keys = [...groups.keys()].sort((a, b) => Number(a === "") - Number(b === ""));
  for (const urn of keys) {
    const lines = (groups.get(urn) ?? []).map(
      (v) =>
        `- ${v.level === "mandatory" ? "✖ **mandatory**" : "⚠ advisory"} ${inline(v.pack)}/${inline(v.policy)}: ${inline(v.message)}`,
    );
    blocks.push(`### ${urn === "" ? "Stack-wide" : resourceTitle(urn)}\n\n${lines.join("\n")}`);
  }
  return blocks.join("\n\n");
}

/** `name (type)` from a URN: `urn:pulumi:<stack>::<project>::<parent$type>::<name>`. */
function resourceTitle(urn: string): string {
  const parts = urn.split("::");
  if (parts.length < 4) return inline(urn);
  const type = (parts[2] ?? "").split("$").pop() ?? "";
  return `${inline(parts.slice(3).join("::"))} (${inline(type)})`;
}

// --- checks -----------------------------------------------------------------------------------------

/** Each check command with its outcome; the output folded away, open when the check failed. */
function checksSection(report: RunReport): string {
  const checks = report.checks ?? [];
  if (checks.length === 0) return "";
  const blocks = ["## Checks"];
  for (const check of checks) {
    const passed = check.exitCode === 0 && !check.timedOut;
    blocks.push(`### ${passed ? "✔" : "✖"} ${inline(check.name)}: ${checkOutcome(check)}`);
    const command = check.command.replace(/\s+$/, "");
    blocks.push(command.includes("\n") ? codeBlock(command, "sh") : `Command: ${code(command)}`);
    if (check.commit !== report.desired?.sha) blocks.push(`Ran at commit ${shortSha(check.commit)}.`);
    blocks.push(outputBlock(check.output, !passed));
  }
  return blocks.join("\n\n");
}

/** `passed, exit 0 in 1.2 s`, `failed, exit 1 in 3.0 s`, `timed out after 5 min 0 s`, `killed after 2.0 s`. */
export function checkOutcome(check: CommandResult): string {
  const took = duration(check.durationMs);
  if (check.timedOut) return `timed out after ${took}`;
  if (check.exitCode === null) return `killed after ${took}`;
  return `${check.exitCode === 0 ? "passed" : "failed"}, exit ${check.exitCode} in ${took}`;
}

function outputBlock(output: string, open: boolean): string {
  const text = output.replace(/^(?:[ \t]*\r?\n)+|\s+$/g, "");
  if (text === "") return "No output.";
  const lines = text.split(/\r?\n/).length;
  // The blank lines around the fence let Markdown inside an HTML block render (GitHub, GitLab).
  return [
    open ? "<details open>" : "<details>",
    `<summary>Output (${lines} ${lines === 1 ? "line" : "lines"})</summary>`,
    "",
    codeBlock(text, "text"),
    "",
    "</details>",
  ].join("\n");
}

/**
 * A fenced code block whose fence is longer than any run of backticks in the text, so no line of
 * the text can close it (CommonMark); nothing inside is markup, `</details>` included.
 */
function codeBlock(text: string, info: string): string {
  const fence = "`".repeat(Math.max(3, longestBacktickRun(text) + 1));
  return `${fence}${info}\n${text}\n${fence}`;
}

/** Inline code that survives backticks in the text: a longer delimiter, padded when needed. */
function code(text: string): string {
  const one = text.replace(/\r\n|\r|\n/g, " ");
  const ticks = "`".repeat(longestBacktickRun(one) + 1);
  const pad = one.startsWith("`") || one.endsWith("`") ? " " : "";
  return `${ticks}${pad}${one}${pad}${ticks}`;
}

function longestBacktickRun(text: string): number {
  return Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
}

/** "the window closed" → "The window closed." */
function sentence(text: string): string {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function footer(report: RunReport): string {
  const total = Date.parse(report.endedAt) - Date.parse(report.startedAt);
  const stages = Object.entries(report.timings).map(([stage, ms]) => `${inline(stage)} ${duration(ms)}`);
  const v = report.versions;
  return [
    "---",
    "",
    `- Run ${inline(report.runId)}, ${inline(report.startedAt)} → ${inline(report.endedAt)}` +
      (Number.isFinite(total) && total >= 0 ? ` (${duration(total)})` : ""),
    `- Timings: ${stages.length > 0 ? stages.join(", ") : "none recorded"}`,
    `- Versions: tidegate ${inline(v.tidegate)}, Pulumi ${inline(v.pulumi)}, Node ${inline(v.node)}`,
  ].join("\n");
}

/** `850 ms`, `3.0 s`, `5 min 0 s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
