import type { Command } from "./command";
import { CONFIG_HELP, CONFIG_OPTIONS, flag, openForReading, withConfigErrors } from "./read-context";
import { status } from "../app/read";
import { replicaLines, replicasView, type ReplicasView } from "../app/replicas";
import { webhookLines, type WebhookDeliveryStats } from "../app/webhooks";
import { age, formatStatusTable, type StatusRow } from "../render/format";

// `tidegate status`: every environment at a glance, from the store alone: the environment list the
// engine last wrote there, and their states. It runs no Pulumi and no Git (see openForReading).

export const command: Command = {
  usage: "status [--json] [--config <file>] [--data-dir <dir>]",
  description: [
    "Shows every environment as its last check left it: status, branch head, deployed commit, how many",
    "resources have pending changes or drift, and when it was last checked, with the reason on the line",
    "below when there is one (which gate waits or blocks, and why), cut to the table's width; --json and",
    "`tidegate report <env>` have it whole. Environments never checked are Unknown. Reads the store",
    "only: no Pulumi, no branch polls. When several `tidegate run` replicas share the store, it lists",
    "them under the table: each one's last heartbeat and the environments it owns.",
    "",
    "Options:",
    "  --json              Print { environments: [{ environment, branch, stack, status, reason?,",
    "                      headCommit?, deployedCommit?, pendingCount, driftCount, lastRunId?, lastRunAt?, owner? }],",
    "                      replicas: [{ id, lastHeartbeat, alive, owns }] }",
    ...CONFIG_HELP,
    "",
    "Statuses: Synced, OutOfSync (pending change), Drifted, OutOfSync+Drifted, AwaitingApproval (the",
    "gates pass but for an approval: see `tidegate plan <env>`), Blocked (a gate or a rewritten history",
    "said no), Progressing, Failed (the reason says what to do), Interrupted (a run's process died:",
    "see `tidegate recover <env>`), Unknown (never checked, or the branch is gone).",
  ].join("\n"),
  options: { ...CONFIG_OPTIONS, json: { type: "boolean" } },
  run: (args, context) =>
    withConfigErrors(context, async () => {
      const read = await openForReading(args, "status", (message) =>
        context.stderr(`tidegate: warning: ${message}\n`),
      );
      let rows: StatusRow[];
      let webhooks: WebhookDeliveryStats[];
      let replicas: ReplicasView = { replicas: [], owners: new Map() };
      const now = new Date();
      try {
        rows = await status(read);
        webhooks = (await read.store?.webhookDeliveries()) ?? [];
        if (read.store) replicas = await replicasView(read.store, now);
      } finally {
        await read.close();
      }
      if (flag(args, "json")) {
        const environments = rows.map((row) => {
          const owner = replicas.owners.get(row.environment);
          return owner === undefined ? row : { ...row, owner };
        });
        const list = replicas.replicas.map(({ id, lastHeartbeat, alive, owns }) => ({
          id,
          lastHeartbeat,
          alive,
          owns,
        }));
        context.stdout(`${JSON.stringify({ environments, replicas: list }, null, 2)}\n`);
      } else {
        const lines = [...webhookLines(webhooks, now), ...replicaLines(replicas, now, age)];
        context.stdout(formatStatusTable(rows, now) + lines.map((line) => `${line}\n`).join(""));
      }
      return 0;
    }),
};
