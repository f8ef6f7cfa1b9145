import {
  changeSection,
  checkLines,
  clean,
  gateLines,
  gatesChangeLines,
  policyLines,
  reasonLine,
} from "./format";
import type { RunReport } from "../domain/model";
import { shortSha as shortOf } from "../domain/commit";
import { keptDriftClause } from "../domain/restorable";

// The plan as `tidegate plan <env>` and `tidegate approve <env>` show it: what a sync would apply,
// what the gates say about it, and the digest an approval binds to. Plain text for a terminal; the
// lines are the check summary's (src/cli/format.ts), so a change reads the same everywhere.

/** The plan of a report, for people deciding whether to approve it; ends with `plan digest: <digest>`. */
export function renderPlan(report: RunReport): string {
  const out = [
    `Plan for ${clean(report.environment)} (stack ${clean(report.stack)}, branch ${clean(report.branch)})`,
    ...aligned([
      ["commit", commitText(report)],
      ["deployed", report.deployed?.commit ? sha12(report.deployed.commit) : "nothing yet"],
      ["status", statusText(report)],
    ]),
  ];
  out.push("", ...changeSection("pending", report.pending));
  out.push("", ...changeSection("drift", report.drift));
  const restore = restoreLine(report);
  if (restore) out.push(restore);
  const gates = gateLines(report);
  if (gates.length > 0) out.push("", ...gates);
  if (report.gatesChange) out.push("", ...gatesChangeLines(report));
  const findings = [...checkLines(report.checks), ...policyLines(report.policy)];
  if (findings.length > 0) out.push("", ...findings);
  out.push("", digestLine(report));
  return `${out.join("\n")}\n`;
}

/** The plan's commit: sha12, and author and subject when the report knows that commit. */
function commitText(report: RunReport): string {
  const sha = report.plan?.commit ?? report.desired?.sha;
  if (!sha) return "unknown";
  const desired = report.desired;
  if (!desired || desired.sha !== sha) return sha12(sha);
  const subject = desired.message.split(/\r?\n/, 1)[0] ?? "";
  return `${sha12(sha)} by ${clean(desired.author)}: ${clean(subject)}`;
}

function statusText(report: RunReport): string {
  const reason = reasonLine(report.reason);
  return reason ? `${report.status}: ${reason}` : report.status;
}

/** Whether the sync puts drift back; said only when there is drift to speak of. */
function restoreLine(report: RunReport): string | undefined {
  if (!report.plan || (report.drift?.resources.length ?? 0) === 0) return undefined;
  return report.plan.remediate
    ? `A sync of this plan restores this drift${keptDriftClause(report.drift)} (drift policy remediate).`
    : "A sync of this plan leaves this drift as it is (drift policy report).";
}

function digestLine(report: RunReport): string {
  if (report.plan) return `plan digest: ${clean(report.plan.digest)}`;
  return "plan digest: none (nothing to apply, or the check stopped before a plan was made)";
}

function sha12(sha: string): string {
  return shortOf(clean(sha));
}

function aligned(rows: readonly [string, string][]): string[] {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, text]) => `  ${label.padEnd(width)}  ${text}`);
}
