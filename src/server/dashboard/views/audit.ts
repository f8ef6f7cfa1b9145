import type { Page } from "../../../app/overview";
import { AUDIT_ACTIONS, type AuditEntry, type VerifyResult } from "../../../adapters/audit";
import { shortDigest } from "../../../domain/plan";
import { shortSha } from "../../../render/format";
import { ago } from "./ages";
import { pager } from "./history";
import { layout, type PageContext } from "./layout";
import { html, type Html, table } from "./markup";

// The audit log, filtered, with whether its hash chain verifies.

const FILTER_FIELDS = ["environment", "actor", "commit", "since", "until"] as const;

export function auditPage(
  page: Page<AuditEntry> & { verification: VerifyResult },
  filter: Record<string, string>,
  ctx: PageContext,
): Html {
  const body = html`<h1>Audit log</h1>
    ${verification(page.verification)} ${filterForm(filter)}
    ${
      page.items.length === 0
        ? html`<p class="empty">No entries match.</p>`
        : table(
            "audit",
            ["#", "Time", "Actor", "Action", "Environment", "Commit", "Plan", "Verdict", "Reason"],
            page.items.map((entry) => row(entry, ctx.now)),
          )
    }
    ${pager(page, (n) => `/audit?${new URLSearchParams({ ...filter, page: String(n) }).toString()}`, "entries")}`;
  return layout({ title: "Audit log", kind: "audit", body }, ctx);
}

function verification(result: VerifyResult): Html {
  if (result.ok) {
    return html`<p class="verify verify-ok" data-testid="audit-verify">
      ✔ Chain verified: ${result.entries} ${result.entries === 1 ? "entry" : "entries"}, head
      <code title="${result.head}">${result.head.slice(0, 12)}</code>
    </p>`;
  }
  const bad = result.firstBad;
  return html`<p class="verify verify-broken" data-testid="audit-verify" role="alert">
    ✖ Chain broken at line ${bad.line}${bad.seq === undefined ? "" : ` (seq ${bad.seq})`}: ${bad.problem}. The
    ${result.entries} ${result.entries === 1 ? "entry" : "entries"} before it verify.
  </p>`;
}

function filterForm(filter: Record<string, string>): Html {
  const action = filter.action ?? "";
  return html`<form method="get" action="/audit" class="filter" data-testid="audit-filter" role="search">
    ${FILTER_FIELDS.map(
      (field) =>
        html`<label for="filter-${field}">${field}</label>
          <input
            type="text"
            id="filter-${field}"
            name="${field}"
            value="${filter[field] ?? ""}"
            ${field === "since" || field === "until" ? html` placeholder="2025-03-04T09:00:00Z"` : ""}
          />`,
    )}
    <label for="filter-action">action</label>
    <select id="filter-action" name="action">
      <option value="" ${action === "" ? html` selected` : ""}>any</option>
      ${AUDIT_ACTIONS.map((a) => html`<option${a === action ? html` selected` : ""}>${a}</option>`)}
    </select>
    <button type="submit">Filter</button> <a href="/audit">Clear</a>
  </form>`;
}

function row(entry: AuditEntry, now: Date): Html {
  return html`<tr data-testid="audit-entry" data-seq="${entry.seq}">
    <td>${entry.seq}</td>
    <td><time datetime="${entry.time}" title="${entry.time}">${ago(entry.time, now)}</time></td>
    <td>${entry.actor}</td>
    <td>${entry.action}</td>
    <td>${entry.environment ?? "-"}</td>
    <td>${entry.commit ? html`<code>${shortSha(entry.commit)}</code>` : "-"}</td>
    <td>
      ${entry.planDigest ? html`<code title="${entry.planDigest}">${shortDigest(entry.planDigest)}</code>` : "-"}
    </td>
    <td>${entry.verdict ?? "-"}</td>
    <td>
      ${entry.reason ?? ""}${
        entry.details
          ? html`<details>
              <summary>details</summary>
              <pre>${JSON.stringify(entry.details, null, 2)}</pre>
            </details>`
          : ""
      }
    </td>
  </tr>`;
}
