import type { EnvironmentOverview } from "../../../app/overview";
import { replicaName } from "../../../app/replicas";
import type { RunReport } from "../../../domain/model";
import { DRIFT_RESOLUTIONS, type DriftResolution } from "../../../domain/gates";
import { allows, allowsAny } from "../../../domain/token";
import { staleLine } from "../../../render/format";
import { statusAge, statusClass } from "./ages";
import { layout, type PageContext, postForm } from "./layout";
import { envPath, html, type Html } from "./markup";
import { changeSection } from "./changes";
import { commitsBlock, planLine, reportSections, runFooter } from "./report";

// One environment: its status, the plan and what may be done about it (as the viewer's scopes
// allow), then the latest report. A past run's page shows the same report without the controls.

export interface EnvironmentView {
  overview: EnvironmentOverview;
  report?: RunReport;
  /** The environment a promotion into this one comes from, when it has one. */
  promotableFrom?: string;
}

export function environmentPage(view: EnvironmentView, ctx: PageContext): Html {
  const { overview, report } = view;
  const name = overview.environment;
  const plan = report?.plan ?? overview.plan;
  const since = statusAge(overview.status, overview.statusSince, ctx.now);
  const body = html`<h1>${name}</h1>
    <p class="status-line">
      <span class="status ${statusClass(overview.status)}" data-testid="status">${overview.status}</span
      >${since ? html` <span class="since">${since}</span>` : ""}
    </p>
    ${overview.reason ? html`<p class="reason" data-testid="reason">${overview.reason}</p>` : ""}
    ${overview.stale ? html`<p class="warning" data-testid="stale">${staleLine(overview.stale, ctx.now)}</p>` : ""}
    <p class="meta">
      Branch <code>${overview.branch}</code>, stack <code>${overview.stack}</code>.
      ${overview.owner ? html`Owned by replica <code data-testid="owner">${replicaName(overview.owner)}</code>.` : ""}
      <a href="${envPath(name, "/runs")}">History</a
      >${report ? html` · <a href="${envPath(name, `/runs/${encodeURIComponent(report.runId)}`)}">This report</a>` : ""}
    </p>
    ${commitsBlock(report?.desired ?? overview.head, overview.headCommit, report?.deployed?.commit ?? overview.deployedCommit, ctx.now)}
    ${planLine(plan)}
    ${actions(name, plan, view.promotableFrom, report, report?.drift?.resources.length ?? overview.driftCount, ctx)}
    ${
      report
        ? html`${reportSections(report, ctx.now)}${runFooter(report, ctx.now)}`
        : html`<p class="empty" data-testid="no-report">
              No report yet: the environment has not been checked.
            </p>
            ${changeSection("pending", undefined)} ${changeSection("drift", undefined)}`
    }`;
  return layout({ title: name, kind: "environment", environment: name, body }, ctx);
}

/** The forms the viewer's scopes allow; nothing for an anonymous viewer. */
function actions(
  env: string,
  plan: RunReport["plan"],
  promotableFrom: string | undefined,
  report: RunReport | undefined,
  driftCount: number,
  ctx: PageContext,
): Html | string {
  const scopes = ctx.viewer?.scopes;
  if (!scopes) return "";
  const forms: Html[] = [];
  if (plan && allows(scopes, `approve:${env}`)) {
    forms.push(
      approveForm(env, plan, report, ctx),
      postForm(
        ctx,
        envPath(env, "/revoke"),
        "revoke",
        html`<button type="submit">Revoke my approval</button>`,
      ),
    );
  }
  if (allows(scopes, `sync:${env}`)) {
    forms.push(
      postForm(ctx, envPath(env, "/check"), "check", html`<button type="submit">Check now</button>`),
      postForm(ctx, envPath(env, "/sync"), "sync", html`<button type="submit">Sync</button>`),
    );
  }
  forms.push(...driftResolutionForms(env, driftCount, ctx));
  if (promotableFrom !== undefined && allows(scopes, `promote:${env}`)) {
    forms.push(
      postForm(
        ctx,
        envPath(env, "/promote"),
        "promote",
        html`<input type="hidden" name="from" value="${promotableFrom}" />
          <label class="check"><input type="checkbox" name="dryRun" value="1" /> Dry run</label>
          <button type="submit">Promote from ${promotableFrom}</button>`,
      ),
    );
  }
  if (forms.length === 0) return "";
  return html`<section class="actions" data-testid="actions" aria-label="Actions">${forms}</section>`;
}

/** Approve the plan shown, bound to its digest (and to the restore or accept of drift it is, if so). */
export function approveForm(
  env: string,
  plan: NonNullable<RunReport["plan"]>,
  report: RunReport | undefined,
  ctx: PageContext,
  label = "Approve",
): Html {
  const protectedGate = (report?.gates ?? []).some((g) => g.gate === "protected");
  return postForm(
    ctx,
    envPath(env, "/approve"),
    "approve",
    html`<input type="hidden" name="digest" value="${plan.digest}" />
      ${plan.resolve ? html`<input type="hidden" name="resolve" value="${plan.resolve}" />` : ""}
      <label for="approve-comment">Comment</label>
      <input type="text" id="approve-comment" name="comment" maxlength="500" />
      ${protectedGate ? html`<label class="check"><input type="checkbox" name="protected" value="1" /> Also approve its protected operations</label>` : ""}
      <button type="submit">${label}</button>`,
  );
}

export function runPage(report: RunReport, ctx: PageContext): Html {
  const env = report.environment;
  const body = html`<p class="crumbs">
      <a href="${envPath(env)}">${env}</a> › <a href="${envPath(env, "/runs")}">History</a>
    </p>
    <h1>Run <code>${report.runId}</code> of ${env}</h1>
    <p class="status-line">
      <span class="status ${statusClass(report.status)}" data-testid="status">${report.status}</span>
    </p>
    ${report.reason ? html`<p class="reason" data-testid="reason">${report.reason}</p>` : ""}
    <p class="meta">Branch <code>${report.branch}</code>, stack <code>${report.stack}</code>.</p>
    ${commitsBlock(report.desired, undefined, report.deployed?.commit, ctx.now)} ${planLine(report.plan)}
    ${reportSections(report, ctx.now)} ${runFooter(report, ctx.now)}`;
  return layout({ title: `${env} run ${report.runId}`, kind: "run", environment: env, body }, ctx);
}

/** The button's verb for each way out of drift. */
export const RESOLUTION_VERBS: Record<DriftResolution, string> = {
  "restore-drift": "Restore",
  "accept-drift": "Accept",
};

/** Restore and Accept drift, for a viewer who may preview them (sync or approve): see drift-resolution.ts. */
function driftResolutionForms(env: string, driftCount: number, ctx: PageContext): Html[] {
  const scopes = ctx.viewer?.scopes;
  if (driftCount === 0 || !scopes) return [];
  if (!allowsAny(scopes, [`sync:${env}`, `approve:${env}`])) return [];
  return DRIFT_RESOLUTIONS.map((resolve) =>
    postForm(
      ctx,
      envPath(env, "/resolve-drift/preview"),
      resolve,
      html`<input type="hidden" name="resolve" value="${resolve}" />
        <button type="submit">${RESOLUTION_VERBS[resolve]} drift</button>`,
    ),
  );
}
