import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { AuditEntry, VerifyResult } from "../../../adapters/audit";
import type { EnvironmentOverview, Page } from "../../../app/overview";
import type { HistoryEntry } from "../../../app/read";
import type { RunReport } from "../../../domain/model";
import type { Scope } from "../../../domain/token";

// PLACEHOLDER until the views slice lands: the contract's signatures with minimal bodies, so the
// routes compile and their tests run. The lead replaces this file with the views helper's version.

export interface PageContext {
  viewer?: { name: string; scopes: Scope[] };
  csrf?: string;
  flash?: { kind: "ok" | "error"; text: string };
  now: Date;
}

// `html` is synchronous when nothing interpolated is a promise, as here.
const sync = (value: HtmlEscapedString | Promise<HtmlEscapedString>) => value as HtmlEscapedString;

function layout(title: string, body: unknown, ctx: PageContext): HtmlEscapedString {
  return sync(
    html`<!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <title>${title} · tidegate</title>
          ${ctx.csrf ? html`<meta name="csrf-token" content="${ctx.csrf}" />` : ""}
          <link rel="stylesheet" href="/assets/dashboard.css" />
          <script src="/assets/dashboard.js" defer></script>
        </head>
        <body>
          <nav><a href="/">Pipeline</a> <a href="/audit">Audit</a></nav>
          ${
            ctx.viewer
              ? html`<span>${ctx.viewer.name}</span>
                  <form method="post" action="/logout">
                    <input type="hidden" name="_csrf" value="${ctx.csrf ?? ""}" /><button>Sign out</button>
                  </form>`
              : ""
          }
          ${ctx.flash ? html`<p data-testid="flash" class="${ctx.flash.kind}">${ctx.flash.text}</p>` : ""}
          <main>${body}</main>
        </body>
      </html>`,
  );
}

export function pipelinePage(envs: EnvironmentOverview[], ctx: PageContext): HtmlEscapedString {
  const cards = envs.map(
    (env) =>
      html`<a data-testid="env-${env.environment}" href="/environments/${env.environment}"
        ><span data-testid="status">${env.status}</span></a
      >`,
  );
  return layout("Pipeline", cards, ctx);
}

export function environmentPage(
  view: { overview: EnvironmentOverview; report?: RunReport; promotableFrom?: string },
  ctx: PageContext,
): HtmlEscapedString {
  const digest = view.report?.plan?.digest;
  const form =
    digest && ctx.csrf
      ? html`<form
          data-testid="approve"
          method="post"
          action="/environments/${view.overview.environment}/approve"
        >
          <input type="hidden" name="_csrf" value="${ctx.csrf}" /><input
            type="hidden"
            name="digest"
            value="${digest}"
          />
          <button>Approve</button>
        </form>`
      : "";
  return layout(
    view.overview.environment,
    html`<span data-testid="status">${view.overview.status}</span>${form}`,
    ctx,
  );
}

export function runPage(report: RunReport, ctx: PageContext): HtmlEscapedString {
  return layout(report.runId, html`<span data-testid="status">${report.status}</span>`, ctx);
}

export function historyPage(
  environment: string,
  page: Page<HistoryEntry>,
  ctx: PageContext,
): HtmlEscapedString {
  const rows = page.items.map((run) => html`<li data-testid="run">${run.runId}</li>`);
  return layout(
    `${environment} history`,
    html`<ul>
        ${rows}
      </ul>
      <p>${page.total}</p>`,
    ctx,
  );
}

export function auditPage(
  page: Page<AuditEntry> & { verification: VerifyResult },
  _filter: Record<string, string>,
  ctx: PageContext,
): HtmlEscapedString {
  const verdict = page.verification.ok ? "verified" : "broken";
  return layout("Audit", html`<p data-testid="audit-verify">${verdict}</p>`, ctx);
}

export function loginPage(ctx: PageContext & { error?: string; next?: string }): HtmlEscapedString {
  return layout(
    "Sign in",
    html`${ctx.error ? html`<p role="alert">${ctx.error}</p>` : ""}
      <form method="post" action="/login">
        <input type="hidden" name="next" value="${ctx.next ?? ""}" />
        <label for="token">Token</label><input name="token" id="token" type="password" />
        <button>Sign in</button>
      </form>`,
    ctx,
  );
}

export function errorPage(
  problem: { status: number; title: string; detail: string; recovery?: string },
  ctx: PageContext,
): HtmlEscapedString {
  return layout(
    problem.title,
    html`<h1>${problem.title}</h1>
      <p>${problem.detail}</p>
      ${problem.recovery ? html`<p>${problem.recovery}</p>` : ""}`,
    ctx,
  );
}

export const ASSETS: Record<string, { type: string; body: string }> = {
  "dashboard.css": { type: "text/css; charset=utf-8", body: "" },
  "dashboard.js": { type: "text/javascript; charset=utf-8", body: "" },
};
