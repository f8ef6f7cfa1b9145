import { cliActor } from "./actor";
import { renderPlan } from "../render/plan";
import { type Command, ExitCode } from "./command";
import { CONFIG_HELP, CONFIG_OPTIONS, flag, stringOption, withConfigErrors } from "./context";
import { withEnvironmentEngine } from "./environment-session";
import { DEFAULT_LEASE_WAIT_MS } from "../app/environment-lease";
import { waitForHolder } from "./lease-wait";
import { RESOLVE_OPTIONS, RESOLVE_USAGE, resolveHelp, resolveOption } from "./drift-resolution";

// `tidegate approve <env>`: approve exactly the plan a sync would apply now.

export const command: Command = {
  usage: `approve <env> ${RESOLVE_USAGE} [--digest <digest>] [--protected] [--comment <text>] [--json] [--config <file>] [--data-dir <dir>]`,
  description: [
    "Previews the plan a sync of one environment would apply now, prints it with its digest, and",
    "records your approval of exactly that plan (environment, commit, digest). A new commit, new drift",
    "or any other change in the preview makes the approval stale. Refused when you are not an allowed",
    "approver, or when you wrote a commit being deployed (unless the gate allows self-approval).",
    "Your identity: $TIDEGATE_ACTOR, else `git config user.email`, else your user name.",
    "",
    "Options:",
    "  --digest <digest>   Approve only if the plan is still the one you reviewed (`tidegate plan`)",
    "  --protected         Also approve the plan's protected operations (deletes, replacements)",
    ...resolveHelp("Approve"),
    "  --comment <text>    Why; kept in the audit log",
    "  --json              Print the approval and the report (JSON)",
    "  --emulator          Point the stacks at the AWS emulator (always so for the embedded default)",
    ...CONFIG_HELP,
    "",
    "Exit codes: 0 approved, 1 refused (the reason says why), 2 bad command line or configuration.",
  ].join("\n"),
  options: {
    ...CONFIG_OPTIONS,
    digest: { type: "string" },
    protected: { type: "boolean" },
    ...RESOLVE_OPTIONS,
    comment: { type: "string" },
    json: { type: "boolean" },
    emulator: { type: "boolean" },
  },
  allowPositionals: true,
  run: (args, context) =>
    withConfigErrors(context, () =>
      withEnvironmentEngine(args, context, "approve", async (name, session) => {
        const digest = stringOption(args, "digest");
        const comment = stringOption(args, "comment");
        const resolve = resolveOption(args, "approve");
        session.progress.begin(`planning ${name}`, "check");
        const actor = cliActor(context.env);
        const result = await session.engine.approve(name, {
          actor,
          trigger: `cli:${actor.id}`,
          ...(digest !== undefined ? { digest } : {}),
          ...(comment !== undefined ? { comment } : {}),
          protected: flag(args, "protected"),
          ...(resolve ? { resolve } : {}),
          lease: waitForHolder(name, DEFAULT_LEASE_WAIT_MS, (text) => session.progress.stream.write(text)),
        });
        session.progress.end();
        if (flag(args, "json")) {
          context.stdout(`${JSON.stringify(result, null, 2)}\n`);
        } else {
          context.stdout(renderPlan(result.report));
          context.stdout(
            result.approval
              ? `\nApproved by ${result.approval.approver} (${result.approval.scope}): plan ${result.approval.planDigest}.\nThe next poll, or \`tidegate sync ${name}\`, applies it once every gate passes.\n`
              : `\nNot approved: ${result.refused ?? "refused"}\n`,
          );
        }
        return result.approval ? ExitCode.ok : ExitCode.failure;
      }),
    ),
};
