import type { Page } from "../../../app/overview";
import type { HistoryEntry } from "../../../app/read";
import { shortSha } from "../../../render/format";
import { duration } from "../../../render/markdown";
import { ago, statusClass } from "./ages";
import { layout, type PageContext } from "./layout";
import { envPath, html, type Html, table } from "./markup";
import { syncCounts } from "./report";

// An environment's runs, newest first, each linking to its report.

export function historyPage(environment: string, page: Page<HistoryEntry>, ctx: PageContext): Html {
  const body = html`<p class="crumbs"><a href="${envPath(environment)}">${environment}</a></p>
    <h1>History of ${environment}</h1>
    ${
      page.items.length === 0
        ? html`<p class="empty">No runs${page.page > 1 ? " on this page" : " yet"}.</p>`
        : table(
            "history",
            ["Run", "Started", "Trigger", "Kind", "Mode", "Commit", "Status", "Duration", "Applied"],
            page.items.map((entry) => row(environment, entry, ctx.now)),
          )
    }
    ${pager(page, (n) => `${envPath(environment, "/runs")}?page=${n}`, "runs")}`;
  return layout({ title: `${environment} history`, kind: "history", environment, body }, ctx);
}

function row(environment: string, entry: HistoryEntry, now: Date): Html {
  const took = entry.endedAt === undefined ? NaN : Date.parse(entry.endedAt) - Date.parse(entry.startedAt);
  return html`<tr data-testid="run" data-run="${entry.runId}">
    <td>
      <a href="${envPath(environment, `/runs/${encodeURIComponent(entry.runId)}`)}"
        ><code>${entry.runId}</code></a
      >
    </td>
    <td>
      <time datetime="${entry.startedAt}" title="${entry.startedAt}">${ago(entry.startedAt, now)}</time>
    </td>
    <td>${entry.trigger ?? "-"}</td>
    <td>${entry.kind ?? "-"}</td>
    <td>${entry.mode ?? "-"}</td>
    <td>${entry.commit ? html`<code>${shortSha(entry.commit)}</code>` : "-"}</td>
    <td>
      <span class="status ${statusClass(entry.status)}">${entry.status}</span
      >${entry.outcome ? html` <span class="outcome">${entry.outcome}</span>` : ""}
    </td>
    <td>${Number.isFinite(took) && took >= 0 ? duration(took) : "-"}</td>
    <td>
      ${entry.sync ? (entry.sync.applied ? `applied${syncCounts(entry.sync.summary)}` : "not applied") : "-"}
    </td>
  </tr>`;
}

/** "Page 2 of 5 (123 runs)" with links to the pages before and after. */
export function pager(page: Page<unknown>, href: (page: number) => string, noun: string): Html {
  const pages = Math.max(1, Math.ceil(page.total / Math.max(1, page.limit)));
  return html`<nav class="pager" data-testid="pager" aria-label="Pages">
    ${page.page > 1 ? html`<a href="${href(page.page - 1)}" rel="prev">← Previous</a>` : ""}
    <span>Page ${page.page} of ${pages} (${page.total} ${noun})</span>
    ${page.page < pages ? html`<a href="${href(page.page + 1)}" rel="next">Next →</a>` : ""}
  </nav>`;
}
