import { resourceName } from "../../../domain/changes";
import type { CommandResult, PolicyViolation } from "../../../domain/gates";
import type { CommitInfo, RunReport } from "../../../domain/model";
import { shortDigest } from "../../../domain/plan";
import { shortSha } from "../../../render/format";
import { checkOutcome, duration } from "../../../render/markdown";
import { ago } from "./ages";
import { changeSection } from "./changes";
import { gatesSection } from "./gates";
import { html, type Html } from "./markup";

// The parts of a report a page shows: the same facts as the Markdown report, in the same order
// (gates first, the long parts last). Shared by the environment page and a past run's page.

export function reportSections(report: RunReport, now: Date): Html {
  return html`${gatesSection(report, now)} ${changeSection("pending", report.pending)}
  ${changeSection("drift", report.drift)} ${policySection(report.policy)}
  ${checksSection(report.checks, report.desired?.sha, now)} ${syncSection(report.sync)}`;
}

/** The commit the branch head is at and the one deployed. */
export function commitsBlock(
  desired: CommitInfo | undefined,
  headSha: string | undefined,
  deployed: string | undefined,
  now: Date,
): Html {
  return html`<dl class="commits">
    <dt>Head</dt>
    <dd data-testid="head">
      ${desired ? commitLine(desired, now) : headSha ? html`<code>${shortSha(headSha)}</code>` : "unknown"}
    </dd>
    <dt>Deployed</dt>
    <dd data-testid="deployed">${deployed ? html`<code>${shortSha(deployed)}</code>` : "nothing yet"}</dd>
  </dl>`;
}

/** `4f1c2a9e0b7d` by Dana Ops, 3h ago: Raise the queue's visibility timeout */
export function commitLine(commit: CommitInfo, now: Date): Html {
  const subject = commit.message.split(/\r?\n/, 1)[0] ?? "";
  return html`<code title="${commit.sha}">${shortSha(commit.sha)}</code> by
    <span class="author">${commit.author}</span>,
    <time datetime="${commit.date}" title="${commit.date}">${ago(commit.date, now)}</time>:
    <span class="message">${subject}</span>`;
}

/** The plan the gates judged, its digest printed in full (what an approval binds to). */
export function planLine(plan: RunReport["plan"]): Html {
  if (!plan)
    return html`<p class="plan" data-testid="plan">
      No plan: nothing for a sync to apply, or the check did not get that far.
    </p>`;
  return html`<p class="plan" data-testid="plan">
    Plan at <code>${shortSha(plan.commit)}</code>${plan.remediate ? " (restores drift)" : ""}, digest
    <code data-testid="digest" title="${shortDigest(plan.digest)}">${plan.digest}</code>
  </p>`;
}

function policySection(violations: readonly PolicyViolation[] | undefined): Html | string {
  if (!violations || violations.length === 0) return "";
  const ordered = [...violations].sort(
    (a, b) => Number(a.level === "advisory") - Number(b.level === "advisory"),
  );
  return html`<section class="policy" data-testid="policy" aria-labelledby="policy-title">
    <h2 id="policy-title">Policy</h2>
    <ul>
      ${ordered.map(
        (v) =>
          html`<li class="level-${v.level}" data-testid="finding">
            <span class="level">${v.level}</span> on ${v.urn ? resourceName(v.urn) : "the stack"}:
            <code>${v.pack}/${v.policy}</code>: ${v.message}
          </li>`,
      )}
    </ul>
  </section>`;
}

function checksSection(
  checks: readonly CommandResult[] | undefined,
  desiredSha: string | undefined,
  now: Date,
): Html | string {
  if (!checks || checks.length === 0) return "";
  return html`<section class="checks" data-testid="checks" aria-labelledby="checks-title">
    <h2 id="checks-title">Checks</h2>
    ${checks.map((check) => {
      const passed = check.exitCode === 0 && !check.timedOut;
      const output = check.output.replace(/^(?:[ \t]*\r?\n)+|\s+$/g, "");
      return html`<details
        class="check ${passed ? "passed" : "failed"}"
        data-testid="check"
        data-check="${check.name}"
        ${passed ? "" : html` open`}
      >
        <summary>
          <span class="verdict">${passed ? "✔" : "✖"}</span> <strong>${check.name}</strong>:
          ${checkOutcome(check)}
        </summary>
        <p>
          Command:
          <code>${check.command}</code
          >${check.commit === desiredSha ? "" : html`, at commit <code>${shortSha(check.commit)}</code>`},
          <time datetime="${check.at}" title="${check.at}">${ago(check.at, now)}</time>
        </p>
        ${output === "" ? html`<p class="empty">No output.</p>` : html`<pre>${output}</pre>`}
      </details>`;
    })}
  </section>`;
}

function syncSection(sync: RunReport["sync"]): Html | string {
  if (!sync) return "";
  return html`<section class="sync" data-testid="sync" aria-labelledby="sync-title">
    <h2 id="sync-title">Sync</h2>
    <p>${sync.applied ? "Applied" : "Not applied"}${syncCounts(sync.summary)}.</p>
    ${sync.windowClosedDuringUpdate ? html`<p class="warning">${sync.windowClosedDuringUpdate}</p>` : ""}
  </section>`;
}

/** ": 2 update, 1 create" from an update's summary (unchanged resources left out). */
export function syncCounts(summary: Record<string, number> | undefined): string {
  const counts = Object.entries(summary ?? {})
    .filter(([op, n]) => n > 0 && op !== "same")
    .map(([op, n]) => `${n} ${op}`);
  return counts.length > 0 ? `: ${counts.join(", ")}` : "";
}

/** When the run ran, how long it took, its stages and versions. */
export function runFooter(report: RunReport, now: Date): Html {
  const total = Date.parse(report.endedAt) - Date.parse(report.startedAt);
  const stages = Object.entries(report.timings).map(([stage, ms]) => `${stage} ${duration(ms)}`);
  const v = report.versions;
  return html`<footer class="run-facts">
    <p>
      Run <code>${report.runId}</code>, started
      <time datetime="${report.startedAt}" title="${report.startedAt}">${ago(report.startedAt, now)}</time
      >${Number.isFinite(total) && total >= 0 ? `, took ${duration(total)}` : ""}.
    </p>
    <p>
      Timings: ${stages.length > 0 ? stages.join(", ") : "none recorded"}. Versions: tidegate ${v.tidegate},
      Pulumi ${v.pulumi}, Node ${v.node}.
    </p>
  </footer>`;
}
