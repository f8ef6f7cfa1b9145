import { cliActor, cliTrigger } from "./actor";
import type { RunKind } from "../domain/model";
import type { Command, CommandArgs, CommandContext } from "./command";
import { CONFIG_HELP, CONFIG_OPTIONS, flag, latestReportFiles, withConfigErrors } from "./context";
import { withEnvironmentEngine } from "./environment-session";
import { WAIT_HELP, WAIT_OPTION, waitForHolder, waitOption } from "./lease-wait";
import { interruptible, INTERRUPTED_EXIT_CODE } from "./interrupt";
import { acceptLines } from "../render/drift-resolution";
import { RESOLVE_OPTIONS, RESOLVE_USAGE, resolveHelp, resolveOption } from "./drift-resolution";
import { CHANGES_EXIT_CODE, checkExitCode, formatCheckSummary, reasonLine } from "../render/format";

// `tidegate check`, `drift` and `sync`: one run of the engine on one environment, from the command
// line. They differ only in the run's kind and in whether the environment's policy may act.

const ABOUT: Record<RunKind, { verb: string; summary: string[] }> = {
  check: {
    verb: "checking",
    summary: [
      "Checks one environment now: polls its branch, previews the head (pending changes: Git ≠ deployed)",
      "and refreshes a preview (drift: live ≠ deployed), and prints what differs, per resource and property.",
      "Reports only: nothing is changed, whatever the environment's policy.",
    ],
  },
  drift: {
    verb: "checking drift of",
    summary: [
      "Looks for drift only (live ≠ deployed) in one environment now, and prints what differs, per",
      "resource and property. Reports only: nothing is changed, whatever the environment's policy.",
    ],
  },
  sync: {
    verb: "syncing",
    summary: [
      "Checks one environment now and, when every gate in force passes (approvals of this exact plan,",
      "promotion, sync windows, checks, protected operations, policy packs), updates it to its branch",
      "head (and undoes its drift when its drift policy is remediate). No flag bypasses a gate.",
    ],
  },
};

export function observeCommand(kind: RunKind): Command {
  const detailed = kind !== "sync";
  return {
    usage: `${kind} <env>${detailed ? "" : ` ${RESOLVE_USAGE}`} [--json]${detailed ? " [--exit-code]" : ""} [--wait <duration>] [--config <file>] [--data-dir <dir>]`,
    description: [
      ...ABOUT[kind].summary,
      "",
      "Options:",
      ...(detailed ? [] : resolveHelp("Do")),
      "  --json              Print the check report (JSON, schema version 1) on stdout; logs go to stderr",
      ...(detailed
        ? [`  --exit-code         Exit ${CHANGES_EXIT_CODE} when the environment differs (see exit codes)`]
        : []),
      "  --emulator          Point the stacks at the AWS emulator (always so for the embedded default)",
      WAIT_HELP,
      ...CONFIG_HELP,
      "",
      "Exit codes:",
      ...(detailed
        ? [
            "  0  checked and Synced; without --exit-code also OutOfSync, Drifted, OutOfSync+Drifted and",
            "     AwaitingApproval",
            `  ${CHANGES_EXIT_CODE}  with --exit-code: OutOfSync, Drifted, OutOfSync+Drifted or AwaitingApproval`,
            "     (like `terraform plan -detailed-exitcode`)",
          ]
        : ["  0  Synced, or checked and left as the policy says (OutOfSync, Drifted, ...)"]),
      "  1  Failed, Blocked or Unknown (the reason says why), or tidegate itself failed",
      "  2  bad command line or configuration",
      "  130  interrupted (SIGINT or SIGTERM): the first lets the run finish, the second cancels an update",
      "     through Pulumi (the report says whether it left pending operations), the third exits at once",
      "",
      "The reports are kept in <dataDir>/reports/<env>/ (latest.md and latest.json are the newest).",
    ].join("\n"),
    options: {
      ...CONFIG_OPTIONS,
      json: { type: "boolean" },
      emulator: { type: "boolean" },
      ...WAIT_OPTION,
      ...(detailed ? { "exit-code": { type: "boolean" } } : RESOLVE_OPTIONS),
    },
    allowPositionals: true,
    run: (args, context) => withConfigErrors(context, () => observe(kind, args, context)),
  };
}

async function observe(kind: RunKind, args: CommandArgs, context: CommandContext): Promise<number> {
  const waitMs = waitOption(args, kind);
  const resolve = kind === "sync" ? resolveOption(args, kind) : undefined;
  return withEnvironmentEngine(args, context, kind, async (name, session) => {
    const what = `${ABOUT[kind].verb} ${name}`;
    session.progress.begin(what, kind);
    const { value: report, interrupted } = await interruptible(what, context.stderr, () =>
      session.engine.observe(kind, name, {
        actor: cliActor(context.env),
        trigger: cliTrigger(context.env),
        // Written above the progress line, which stays.
        lease: waitForHolder(name, waitMs, (text) => session.progress.stream.write(text)),
        ...(resolve ? { resolve } : {}),
      }),
    );
    session.progress.end();

    if (flag(args, "json")) {
      context.stdout(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const lines = [formatCheckSummary(report)];
      const accepted = acceptLines(report);
      if (accepted.length > 0) lines.push(`${accepted.join("\n")}\n`);
      if (kind === "sync" && !report.sync?.applied && report.status !== "Synced") {
        lines.push(`Not synced: ${reasonLine(report.reason) ?? "nothing to apply"}.\n`);
      }
      if (kind !== "sync" && (report.pending?.resources.length || report.drift?.resources.length)) {
        lines.push(`Nothing was changed (${kind} reports only).\n`);
      }
      const files = latestReportFiles(session.reportsDir, name);
      lines.push(`Report: ${files.markdown} (JSON: ${files.json})\n`);
      context.stdout(lines.join("\n"));
    }
    if (interrupted) return INTERRUPTED_EXIT_CODE;
    return checkExitCode(report.status, kind !== "sync" && flag(args, "exit-code"));
  });
}
