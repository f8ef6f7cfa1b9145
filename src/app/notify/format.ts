import type { NotifyEvent } from "./event";

// One event as each kind of sink wants it: Slack blocks, a Teams Adaptive Card (Workflows), and the
// generic JSON (the event itself, versioned). Everything here was redacted before it was queued.

export type SinkKind = "slack" | "teams" | "webhook";

/** The lines under the title: why, the commit, the top changes, what was applied. */
export function detailLines(event: NotifyEvent): string[] {
  const lines: string[] = [];
  if (event.reason) lines.push(`Why: ${event.reason}`);
  if (event.actor) lines.push(`By: ${event.actor}`);
  if (event.commit) {
    const { sha, author, message } = event.commit;
    lines.push(
      `Commit: ${sha.slice(0, 12)}${author ? ` by ${author}` : ""}${message ? ` — ${message}` : ""}`,
    );
  }
  if (event.applied) {
    const ops = Object.entries(event.applied).map(([op, n]) => `${n} ${op}`);
    if (ops.length > 0) lines.push(`Applied: ${ops.join(", ")}`);
  }
  if (event.changes) {
    lines.push(event.changes.kind === "drift" ? "Drifted resources:" : "Pending changes:");
    for (const r of event.changes.resources) {
      lines.push(`• ${r.action} ${r.name} (${r.type})`);
      for (const p of r.properties) lines.push(`    ${p}`);
    }
    if (event.changes.more > 0) lines.push(`…and ${event.changes.more} more`);
  }
  return lines;
}

export function slackMessage(event: NotifyEvent): unknown {
  const details = detailLines(event);
  return {
    text: event.title,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${escapeSlack(event.title)}*` } },
      ...(details.length > 0
        ? [
            {
              type: "section",
              text: { type: "mrkdwn", text: escapeSlack(details.join("\n")).slice(0, 2900) },
            },
          ]
        : []),
      {
        type: "context",
        elements: [
          { type: "mrkdwn", text: `<${event.link}|Open ${escapeSlack(event.environment)} in tidegate>` },
        ],
      },
    ],
  };
}

export function teamsMessage(event: NotifyEvent): unknown {
  return {
    type: "message",
    attachments: [
      {
        contentType: "application/vnd.microsoft.card.adaptive",
        contentUrl: null,
        content: {
          $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
          type: "AdaptiveCard",
          version: "1.4",
          body: [
            { type: "TextBlock", text: event.title, weight: "Bolder", size: "Medium", wrap: true },
            ...detailLines(event).map((line) => ({
              type: "TextBlock",
              text: line,
              wrap: true,
              spacing: "None",
            })),
          ],
          actions: [{ type: "Action.OpenUrl", title: `Open ${event.environment}`, url: event.link }],
        },
      },
    ],
  };
}

/** The generic webhook's body: the event, with a version for receivers. */
export function webhookMessage(event: NotifyEvent): unknown {
  return { version: 1, ...event };
}

export function render(kind: SinkKind, event: NotifyEvent): string {
  const body =
    kind === "slack" ? slackMessage(event) : kind === "teams" ? teamsMessage(event) : webhookMessage(event);
  return JSON.stringify(body);
}

/** Slack's three control characters in mrkdwn. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
