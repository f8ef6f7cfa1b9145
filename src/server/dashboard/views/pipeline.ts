import type { EnvironmentOverview } from "../../../app/overview";
import { replicaName } from "../../../app/replicas";
import type { WebhookDeliveryStats } from "../../../app/webhooks";
import { shortSha, staleLine } from "../../../render/format";
import { ago, statusAge, statusClass } from "./ages";
import { gateList } from "./gates";
import { layout, type PageContext } from "./layout";
import { envPath, html, type Html } from "./markup";
import { commitLine } from "./report";

// Every environment side by side, in promotion order: status and since when, head vs deployed,
// pending and drift counts, and what each gate says.

export function pipelinePage(
  envs: readonly EnvironmentOverview[],
  ctx: PageContext,
  webhooks: readonly WebhookDeliveryStats[] = [],
): Html {
  const body = html`<h1>Pipeline</h1>
    ${
      envs.length === 0
        ? html`<p class="empty">No environments are configured.</p>`
        : html`<ol class="pipeline">
            ${envs.map((env) => card(env, ctx.now))}
          </ol>`
    }
    ${webhooks.length === 0 ? "" : webhookSection(webhooks, ctx.now)}`;
  return layout({ title: "Pipeline", kind: "pipeline", body }, ctx);
}

function card(env: EnvironmentOverview, now: Date): Html {
  const name = env.environment;
  const since = statusAge(env.status, env.statusSince, now);
  const checked = env.lastRunAt !== undefined;
  return html`<li class="card card-${statusClass(env.status)}" data-testid="env-${name}">
    <h2><a href="${envPath(name)}">${name}</a></h2>
    <p class="status-line">
      <span class="status ${statusClass(env.status)}" data-testid="status">${env.status}</span
      >${since ? html` <span class="since" data-testid="since">${since}</span>` : ""}
    </p>
    ${env.reason ? html`<p class="reason">${env.reason}</p>` : ""}
    ${env.stale ? html`<p class="warning">${staleLine(env.stale, now)}</p>` : ""}
    <dl class="commits">
      <dt>Head</dt>
      <dd data-testid="head">
        ${env.head ? commitLine(env.head, now) : html`<code>${shortSha(env.headCommit)}</code>`}
      </dd>
      <dt>Deployed</dt>
      <dd data-testid="deployed"><code>${shortSha(env.deployedCommit)}</code></dd>
    </dl>
    <p class="counts">
      <span data-testid="pending-count">${checked ? env.pendingCount : "-"} pending</span> ·
      <span data-testid="drift-count">${checked ? env.driftCount : "-"} drifted</span> · last run
      ${env.lastRunAt === undefined ? "never" : html`<time datetime="${env.lastRunAt}" title="${env.lastRunAt}">${ago(env.lastRunAt, now)}</time>`}
    </p>
    ${gateList(env.gates)}
    ${env.owner ? html`<p class="owner" data-testid="owner">Owned by ${replicaName(env.owner)}</p>` : ""}
  </li>`;
}

/** Per provider and repository: the last verified delivery and the refused count. */
function webhookSection(webhooks: readonly WebhookDeliveryStats[], now: Date): Html {
  return html`<section class="webhooks" data-testid="webhooks">
    <h2>Webhooks</h2>
    <ul>
      ${webhooks.map(
        (w) =>
          html`<li>
            ${w.provider}${w.repository ? html` <code>${w.repository}</code>` : ""}: last verified
            ${
              w.lastVerifiedAt
                ? html`<time datetime="${w.lastVerifiedAt}" title="${w.lastVerifiedAt}"
                    >${ago(w.lastVerifiedAt, now)}</time
                  >`
                : "never"
            },
            <span data-testid="refused">${w.refused}</span> refused
          </li>`,
      )}
    </ul>
  </section>`;
}
