// The dashboard's only stylesheet and script, served same-origin from /assets/ (the CSP forbids
// inline ones). No build step: they are small enough to keep as text.

const CSS = `:root {
  color-scheme: light;
  --fg: #1d2430;
  --muted: #5b6472;
  --bg: #f6f7f9;
  --card: #ffffff;
  --line: #d8dce3;
  --link: #0b57d0;
  --focus: #1a73e8;
  --ok: #1e7b34;
  --ok-bg: #e6f4ea;
  --warn: #8a5a00;
  --warn-bg: #fff4d6;
  --bad: #b3261e;
  --bad-bg: #fce8e6;
  --info: #174ea6;
  --info-bg: #e8f0fe;
  --neutral: #4a4f57;
  --neutral-bg: #eceff3;
}
* { box-sizing: border-box; }
body {
  margin: 0;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: var(--fg);
  background: var(--bg);
}
a { color: var(--link); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible,
textarea:focus-visible, summary:focus-visible {
  outline: 3px solid var(--focus);
  outline-offset: 2px;
}
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
pre {
  background: #f0f2f5;
  border: 1px solid var(--line);
  padding: 0.75rem;
  overflow: auto;
  max-height: 30rem;
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.top {
  display: flex; gap: 1.5rem; align-items: center; flex-wrap: wrap;
  padding: 0.6rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line);
}
.brand { font-weight: 700; text-decoration: none; color: var(--fg); }
header nav a { margin-right: 1rem; }
.viewer { margin-left: auto; display: flex; gap: 0.75rem; align-items: center; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 0.5rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.25rem; }
.meta, .since, .crumbs, .counts, .hint, .empty { color: var(--muted); }
button {
  font: inherit; padding: 0.35rem 0.9rem; border-radius: 4px; cursor: pointer;
  border: 1px solid #9aa3af; background: var(--card); color: var(--fg);
}
button:hover { background: var(--neutral-bg); }
form.inline { display: inline; }
input[type="text"], input[type="password"], select {
  font: inherit; padding: 0.3rem 0.5rem; border: 1px solid #9aa3af; border-radius: 4px;
}
.flash { padding: 0.6rem 0.9rem; border-radius: 4px; border: 1px solid; }
.flash-ok { color: var(--ok); background: var(--ok-bg); }
.flash-error { color: var(--bad); background: var(--bad-bg); }
.warning { color: var(--warn); background: var(--warn-bg); padding: 0.5rem 0.75rem; border-radius: 4px; }
.reason { margin: 0.25rem 0; }

/* Statuses: green in sync, amber waiting on a person or Git, red needs attention, grey unknown. */
.status {
  display: inline-block; padding: 0.1rem 0.55rem; border-radius: 999px; font-weight: 600;
  font-size: 0.9rem; border: 1px solid currentColor;
}
.status-synced { color: var(--ok); background: var(--ok-bg); }
.status-out-of-sync, .status-awaiting-approval { color: var(--warn); background: var(--warn-bg); }
.status-drifted, .status-out-of-sync-drifted { color: #9c4a00; background: #fde9d9; }
.status-progressing { color: var(--info); background: var(--info-bg); }
.status-failed, .status-blocked, .status-stalled, .status-interrupted { color: var(--bad); background: var(--bad-bg); }
.status-unknown { color: var(--neutral); background: var(--neutral-bg); }

.pipeline { list-style: none; padding: 0; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); }
.card { background: var(--card); border: 1px solid var(--line); border-top-width: 4px; border-radius: 6px; padding: 0.75rem 1rem; }
.card-status-synced { border-top-color: var(--ok); }
.card-status-out-of-sync, .card-status-awaiting-approval { border-top-color: #e0a800; }
.card-status-drifted, .card-status-out-of-sync-drifted { border-top-color: #d26a00; }
.card-status-progressing { border-top-color: var(--info); }
.card-status-failed, .card-status-blocked, .card-status-stalled, .card-status-interrupted { border-top-color: var(--bad); }
.card h2 { margin: 0 0 0.25rem; }
dl.commits { display: grid; grid-template-columns: max-content 1fr; gap: 0.15rem 0.75rem; margin: 0.5rem 0; }
dl.commits dt { color: var(--muted); }
dl.commits dd { margin: 0; overflow-wrap: anywhere; }

.gates { list-style: none; padding: 0; margin: 0.5rem 0; }
.gate { padding: 0.15rem 0; }
.verdict-pass .verdict { color: var(--ok); }
.verdict-wait .verdict { color: var(--warn); }
.verdict-block .verdict { color: var(--bad); }
.verdict { font-weight: 600; }

.actions { display: flex; flex-wrap: wrap; gap: 0.75rem 1.5rem; align-items: center; margin: 1rem 0;
  padding: 0.75rem 1rem; background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
.actions form { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
form[data-testid="approve"] button { background: var(--ok); color: #fff; border-color: var(--ok); }

section.changes, section.gates-section, section.checks, section.policy, section.sync {
  background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 0.25rem 1rem 0.75rem; margin: 1rem 0;
}
details.resource { border-top: 1px solid var(--line); padding: 0.4rem 0; }
details > summary { cursor: pointer; }
.resource .action { font-weight: 600; text-transform: uppercase; font-size: 0.8rem; padding: 0 0.35rem; border-radius: 3px; background: var(--neutral-bg); }
.action-create .action { color: var(--ok); background: var(--ok-bg); }
.action-update .action, .action-drifted .action { color: var(--warn); background: var(--warn-bg); }
.action-replace .action, .action-delete .action, .action-missing .action { color: var(--bad); background: var(--bad-bg); }
.resource .type { color: var(--muted); font-family: ui-monospace, monospace; font-size: 0.9em; }
.resource .name { font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0; }
th, td { text-align: left; vertical-align: top; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--line); }
thead th { color: var(--muted); font-weight: 600; font-size: 0.9rem; }
td.old, td.new { overflow-wrap: anywhere; white-space: pre-wrap; }
td.old code { color: var(--bad); }
td.new code { color: var(--ok); }
td.arrow { color: var(--muted); width: 1.5rem; }
.unset { color: var(--muted); font-style: italic; }
.replaces { color: var(--bad); font-size: 0.85rem; }
.unchanged { color: var(--muted); font-style: italic; margin: 0.25rem 0; }
.check.failed > summary .verdict, .level-mandatory .level { color: var(--bad); }
.check.passed > summary .verdict { color: var(--ok); }
.level-advisory .level { color: var(--warn); }
.level { font-weight: 600; }
.verify-ok { color: var(--ok); }
.verify-broken { color: var(--bad); background: var(--bad-bg); padding: 0.5rem 0.75rem; border-radius: 4px; }
.filter { display: flex; flex-wrap: wrap; gap: 0.4rem 0.75rem; align-items: center; margin: 1rem 0; }
.pager { display: flex; gap: 1rem; margin: 1rem 0; }
.login { display: flex; flex-direction: column; gap: 0.5rem; max-width: 24rem; }
label.check { display: inline-flex; gap: 0.3rem; align-items: center; }
`;

// Reloads the page when a run it shows has finished (server-sent events from /events), but never
// under the hands of someone typing in a form field: then it waits until the field loses focus.
const JS = `(function () {
  "use strict";
  var body = document.body;
  var page = body.getAttribute("data-page");
  var shown = body.getAttribute("data-environment");
  var everyRun = page === "pipeline" || page === "audit";
  var oneEnvironment = page === "environment" || page === "history";
  if ((!everyRun && !oneEnvironment) || typeof EventSource === "undefined") return;

  var waiting = false;
  function typing() {
    var el = document.activeElement;
    if (!el) return false;
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    if (el.tagName !== "INPUT") return false;
    var type = (el.getAttribute("type") || "text").toLowerCase();
    return ["button", "submit", "reset", "hidden", "image"].indexOf(type) < 0;
  }
  function reloadWhenIdle() {
    if (!typing()) {
      window.location.reload();
      return;
    }
    if (waiting) return;
    waiting = true;
    document.addEventListener("focusout", function later() {
      // Focus moves after focusout: look once it has landed.
      setTimeout(function () {
        if (typing()) return;
        document.removeEventListener("focusout", later);
        window.location.reload();
      }, 0);
    });
  }

  var events = new EventSource("/events");
  events.addEventListener("run", function (event) {
    var data;
    try {
      data = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (everyRun || (data && data.environment === shown)) reloadWhenIdle();
  });
})();
`;

export const ASSETS: Record<string, { type: string; body: string }> = {
  "dashboard.css": { type: "text/css; charset=utf-8", body: CSS },
  "dashboard.js": { type: "text/javascript; charset=utf-8", body: JS },
};
