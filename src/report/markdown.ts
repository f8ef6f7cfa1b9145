import type { CheckReport, CommitInfo } from "../model";
import { countByAction, type ChangeSet, type PropertyChange, type ResourceChange } from "../pulumi/changes";
import { KNOWN_AFTER_APPLY, MASK } from "../pulumi/values";

// A check report for people: what differs, where, and from what to what. Pending changes and drift
// are separate sections because they call for different actions (merge vs. investigate).

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

export function renderMarkdown(report: CheckReport): string {
  const blocks = [
    header(report),
    commitLines(report),
    changeSection("pending", report.pending),
    changeSection("drift", report.drift),
    syncSection(report),
    footer(report),
  ];
  return `${blocks.filter((b) => b !== "").join("\n\n")}\n`;
}

function header(report: CheckReport): string {
  const reason = report.reason ? ` — ${inline(report.reason)}` : "";
  return `# ${inline(report.environment)}: ${report.status}${reason}`;
}

function commitLines(report: CheckReport): string {
  const lines = [`- Stack ${inline(report.stack)}, branch ${inline(report.branch)}`];
  lines.push(report.desired ? `- Commit ${commitLine(report.desired)}` : "- Commit: unknown");
  const deployed = report.deployed?.commit;
  lines.push(`- Deployed: ${deployed ? shortSha(deployed) : "unknown"}`);
  return lines.join("\n");
}

function commitLine(commit: CommitInfo): string {
  const subject = commit.message.split(/\r?\n/, 1)[0] ?? "";
  return `${shortSha(commit.sha)} by ${inline(commit.author)}, ${inline(commit.date)}: ${inline(subject)}`;
}

function shortSha(sha: string): string {
  return inline(sha.slice(0, 7));
}

function changeSection(kind: ChangeSet["kind"], changes: ChangeSet | undefined): string {
  const section = SECTIONS[kind];
  const title = `## ${section.title}`;
  // Absent means the check stopped before this preview; that is not the same as "nothing".
  if (!changes) return `${title}\n\nNot checked.`;
  if (changes.resources.length === 0) return `${title}\n\n${section.empty}`;
  const blocks = [title, summaryLine(changes)];
  for (const resource of changes.resources) blocks.push(resourceBlock(resource, section.columns));
  return blocks.join("\n\n");
}

function summaryLine(changes: ChangeSet): string {
  const counts = Object.entries(countByAction(changes)).map(([action, n]) => `${n} ${action}`);
  const total = changes.resources.length;
  return `${total} ${total === 1 ? "resource" : "resources"}: ${counts.join(", ")}.`;
}

function resourceBlock(resource: ResourceChange, columns: readonly string[]): string {
  const heading = `### ${inline(resource.name)} (${inline(resource.type)}): ${resource.action}`;
  if (resource.properties.length === 0) return `${heading}\n\n${WITHOUT_PROPERTIES[resource.action]}`;
  const rows = resource.properties.map((p) => tableRow([propertyCell(p), value(p.old), value(p.new)]));
  const table = [tableRow([...columns]), tableRow(columns.map(() => "---")), ...rows].join("\n");
  return `${heading}\n\n${table}`;
}

function propertyCell(change: PropertyChange): string {
  return change.replaces ? `${change.path} (forces replacement)` : change.path;
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

function syncSection(report: CheckReport): string {
  if (!report.sync) return "";
  const { applied, summary } = report.sync;
  const counts = Object.entries(summary ?? {})
    .filter(([, n]) => n > 0)
    .map(([op, n]) => `${n} ${inline(op)}`);
  const detail = counts.length > 0 ? `: ${counts.join(", ")}` : "";
  return `## Sync\n\n${applied ? "Applied" : "Not applied"}${detail}.`;
}

function footer(report: CheckReport): string {
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

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
