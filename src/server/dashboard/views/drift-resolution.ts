import type { DriftResolution } from "../../../domain/gates";
import type { RunReport } from "../../../domain/model";
import { allows } from "../../../domain/token";
import { approveForm, RESOLUTION_VERBS } from "./environment";
import { layout, type PageContext, postForm } from "./layout";
import { envPath, html, type Html } from "./markup";
import { planLine, reportSections } from "./report";

// A person's ways out of drift (README "Resolving drift"): on a drifted environment, Restore and
// Accept each lead to a preview of their own plan (its digest is not a plain sync's), from which it
// is approved or run, as the viewer's scopes allow. The routes check the scopes again.

const WHAT: Record<DriftResolution, string> = {
  "restore-drift": "puts the deployed values back on the live resources (a sync that restores drift, once).",
  "accept-drift":
    "takes the live values into the deployed state (a Pulumi refresh); nothing of the program is applied, and the values to commit are shown after.",
};

/** The preview of a restore or an accept: its plan, digest and gates, then approve or run it. */
export function driftResolutionPage(resolve: DriftResolution, report: RunReport, ctx: PageContext): Html {
  const env = report.environment;
  const scopes = ctx.viewer?.scopes ?? [];
  const verb = RESOLUTION_VERBS[resolve];
  const plan = report.plan;
  const forms: Html[] = [];
  if (plan && allows(scopes, `approve:${env}`)) {
    forms.push(approveForm(env, plan, report, ctx, `Approve this ${verb.toLowerCase()}`));
  }
  if (plan && allows(scopes, `sync:${env}`)) {
    forms.push(
      postForm(
        ctx,
        envPath(env, "/resolve-drift"),
        "resolve",
        html`<input type="hidden" name="resolve" value="${resolve}" />
          <button type="submit">${verb} drift now</button>`,
      ),
    );
  }
  const body = html`<p class="crumbs"><a href="${envPath(env)}">${env}</a> › ${verb} drift</p>
    <h1>${verb} the drift of ${env}: preview</h1>
    <p class="meta" data-testid="resolution" data-resolve="${resolve}">${verb} ${WHAT[resolve]}</p>
    ${planLine(plan)}
    ${forms.length > 0 ? html`<section class="actions" data-testid="actions" aria-label="Actions">${forms}</section>` : ""}
    ${reportSections(report, ctx.now)}`;
  return layout({ title: `${env}: ${verb.toLowerCase()} drift`, kind: "run", environment: env, body }, ctx);
}
