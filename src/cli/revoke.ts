import { cliActor } from "./actor";
import { type Command, ExitCode } from "./command";
import { CONFIG_HELP, CONFIG_OPTIONS, flag, stringOption, withConfigErrors } from "./context";
import { withEnvironmentEngine } from "./environment-session";
import { shortSha } from "../domain/commit";

// `tidegate revoke <env>`: withdraw approvals before they are used.

export const command: Command = {
  usage: "revoke <env> [--approver <id> | --all] [--json] [--config <file>] [--data-dir <dir>]",
  description: [
    "Revokes your active approvals of one environment's plans (or another approver's, or all), so a",
    "sync waits again. Revocations are kept in the audit log.",
    "",
    "Options:",
    "  --approver <id>     Revoke this approver's approvals instead of your own",
    "  --all               Revoke every active approval of the environment",
    "  --json              Print the revoked approvals (JSON)",
    ...CONFIG_HELP,
    "",
    "Exit codes: 0 revoked (or none active), 2 bad command line or configuration.",
  ].join("\n"),
  options: {
    ...CONFIG_OPTIONS,
    approver: { type: "string" },
    all: { type: "boolean" },
    json: { type: "boolean" },
    emulator: { type: "boolean" },
  },
  allowPositionals: true,
  run: (args, context) =>
    withConfigErrors(context, () =>
      withEnvironmentEngine(args, context, "revoke", async (name, session) => {
        const approver = stringOption(args, "approver");
        const revoked = await session.engine.revoke(name, {
          actor: cliActor(context.env),
          ...(approver !== undefined ? { approver } : {}),
          all: flag(args, "all"),
        });
        if (flag(args, "json")) context.stdout(`${JSON.stringify(revoked, null, 2)}\n`);
        else if (revoked.length === 0) context.stdout(`No active approval of ${name} to revoke.\n`);
        else
          context.stdout(
            revoked
              .map(
                (a) =>
                  `Revoked: ${a.approver}'s approval of plan ${a.planDigest} (commit ${shortSha(a.commit)})\n`,
              )
              .join(""),
          );
        return Promise.resolve(ExitCode.ok);
      }),
    ),
};
