import type { Scope } from "../../../domain/token";
import { html, type Html } from "./markup";

// The page shell every view shares: head (stylesheet, the one script, the CSRF token for scripts),
// navigation, who is signed in, and the outcome of the last form post.

export interface PageContext {
  /** Undefined: anonymous read (server.anonymousRead). */
  viewer?: { name: string; scopes: Scope[] };
  /** The session's CSRF token; every form carries it as hidden `_csrf`. */
  csrf?: string;
  /** The outcome of the last form post, shown once. */
  flash?: { kind: "ok" | "error"; text: string };
  now: Date;
}

/** Which page this is: dashboard.js decides from it (and the environment) whether a run reloads it. */
export type PageKind = "pipeline" | "environment" | "run" | "history" | "audit" | "login" | "error";

export interface Shell {
  title: string;
  kind: PageKind;
  /** The environment the page shows, if one. */
  environment?: string;
  body: Html;
}

export function layout(shell: Shell, ctx: PageContext): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${shell.title} · tidegate</title>
        ${ctx.viewer && ctx.csrf !== undefined ? html`<meta name="csrf-token" content="${ctx.csrf}" />` : ""}
        <link rel="stylesheet" href="/assets/dashboard.css" />
        <script src="/assets/dashboard.js" defer></script>
      </head>
      <body
        data-page="${shell.kind}"
        ${shell.environment === undefined ? "" : html` data-environment="${shell.environment}"`}
      >
        <header class="top">
          <a class="brand" href="/">tidegate</a>
          <nav aria-label="Main"><a href="/">Pipeline</a> <a href="/audit">Audit</a></nav>
          ${viewerBox(shell.kind, ctx)}
        </header>
        <main>${flash(ctx)} ${shell.body}</main>
      </body>
    </html> `;
}

function viewerBox(kind: PageKind, ctx: PageContext): Html | string {
  if (!ctx.viewer) {
    return kind === "login" ? "" : html`<div class="viewer"><a href="/login">Sign in</a></div>`;
  }
  return html`<div class="viewer">
    <span data-testid="viewer">Signed in as <strong>${ctx.viewer.name}</strong></span>
    <form method="post" action="/logout" class="inline">
      ${csrfField(ctx)}<button type="submit">Sign out</button>
    </form>
  </div>`;
}

function flash(ctx: PageContext): Html | string {
  if (!ctx.flash) return "";
  const { kind, text } = ctx.flash;
  return html`<p
    class="flash flash-${kind}"
    data-testid="flash"
    role="${kind === "error" ? "alert" : "status"}"
  >
    ${text}
  </p>`;
}

/** The hidden CSRF field every form posts. */
export function csrfField(ctx: PageContext): Html | string {
  return ctx.csrf === undefined ? "" : html`<input type="hidden" name="_csrf" value="${ctx.csrf}" />`;
}

/** A form that posts to `action` with the CSRF token, and `inner` (fields and its button). */
export function postForm(ctx: PageContext, action: string, testid: string, inner: Html): Html {
  return html`<form method="post" action="${action}" data-testid="${testid}" class="action">
    ${csrfField(ctx)}${inner}
  </form>`;
}
