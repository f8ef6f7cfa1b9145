import { cliActor } from "./actor";
import { renderPlan } from "../render/plan";
import { type Command, ExitCode } from "./command";
import { CONFIG_HELP, CONFIG_OPTIONS, flag, withConfigErrors } from "./context";
import { withEnvironmentEngine } from "./environment-session";
import { DEFAULT_LEASE_WAIT_MS } from "../app/environment-lease";
import { waitForHolder } from "./lease-wait";
import { RESOLVE_OPTIONS, RESOLVE_USAGE, resolveHelp, resolveOption } from "./drift-resolution";

// `tidegate plan <env>`: the preview a sync would apply, with every gate's verdict and the digest
// an approval binds to. Changes nothing.

export const command: Command = {
  usage: `plan <env> ${RESOLVE_USAGE} [--json] [--emulator] [--config <file>] [--data-dir <dir>]`,
  description: [
    "Previews what a sync of one environment would apply now (pending changes, and drift it would",
    "restore), judges it against every gate in force and prints the verdicts and the plan digest.",
    "Changes nothing. Approve exactly this plan with `tidegate approve <env> --digest <digest>`.",
    "",
    "Options:",
    ...resolveHelp("Plan"),
    "  --json              Print the check report (JSON) on stdout",
    "  --emulator          Point the stacks at the AWS emulator (always so for the embedded default)",
    ...CONFIG_HELP,
    "",
    "Exit codes: 0 the plan passes every gate or there is nothing to do, 3 it waits for an approval,",
    "1 a gate blocks it or the check failed, 2 bad command line or configuration.",
  ].join("\n"),
  options: {
    ...CONFIG_OPTIONS,
    ...RESOLVE_OPTIONS,
    json: { type: "boolean" },
    emulator: { type: "boolean" },
  },
  allowPositionals: true,
  run: (args, context) =>
    withConfigErrors(context, () =>
      withEnvironmentEngine(args, context, "plan", async (name, session) => {
        const resolve = resolveOption(args, "plan");
        session.progress.begin(`planning ${name}`, "check");
        const actor = cliActor(context.env);
        const lease = waitForHolder(name, DEFAULT_LEASE_WAIT_MS, (text) =>
          session.progress.stream.write(text),
        );
        const report = await session.engine.plan(name, {
          actor,
          trigger: `cli:${actor.id}`,
          lease,
          ...(resolve ? { resolve } : {}),
        });
        session.progress.end();
        context.stdout(flag(args, "json") ? `${JSON.stringify(report, null, 2)}\n` : renderPlan(report));
        if (report.status === "AwaitingApproval") return 3;
        if (report.status === "Blocked" || report.status === "Failed" || report.status === "Unknown")
          return ExitCode.failure;
        return ExitCode.ok;
      }),
    ),
};
