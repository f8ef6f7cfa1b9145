import { cliActor } from "./actor";
import { formatPromoteResult } from "../render/promote";
import { type Command, type CommandArgs, type CommandContext, ExitCode, UsageError } from "./command";
import {
  assertEnvironment,
  CONFIG_HELP,
  CONFIG_OPTIONS,
  dataDirOption,
  flag,
  loadCliConfig,
  openEngine,
  requireConfig,
  withConfigErrors,
} from "./context";

// `tidegate promote <from> [<to>]`: merge one environment's branch into the next one's and push it.

export const command: Command = {
  usage:
    "promote <from> [<to>] [--dry-run] [--allow-target-ahead] [--json] [--config <file>] [--data-dir <dir>]",
  description: [
    "Merges the branch of <from> into the branch of <to> (default: the next environment in promotion",
    "order) and pushes it: a fast-forward when possible, a merge commit otherwise. Never a forced push.",
    "Refused, with the reason, when <from> is not Synced at its branch head (check it first), when",
    "<to>'s branch has commits touching the program that <from> lacks, or when the merge conflicts.",
    "The promoted commit then reaches <to> through <to>'s own checks and gates.",
    "Your identity (in the merge message and the audit log): $TIDEGATE_ACTOR, else",
    "`git config user.email`, else your user name.",
    "",
    "Options:",
    "  --dry-run              Merge in a scratch worktree and print <to>'s preview of the merged tree",
    "                         (what a sync of <to> would then apply); push nothing",
    "  --allow-target-ahead   Promote even when <to> has program commits <from> lacks (they are kept)",
    "  --json                 Print the result (JSON)",
    "  --emulator             Point the stacks at the AWS emulator (always so for the embedded default)",
    ...CONFIG_HELP,
    "",
    "Exit codes: 0 promoted, up to date or dry run; 1 refused (the reason says why) or failed;",
    "2 bad command line or configuration.",
  ].join("\n"),
  options: {
    ...CONFIG_OPTIONS,
    "dry-run": { type: "boolean" },
    "allow-target-ahead": { type: "boolean" },
    json: { type: "boolean" },
    emulator: { type: "boolean" },
  },
  allowPositionals: true,
  run: (args, context) => withConfigErrors(context, () => promoteCommand(args, context)),
};

async function promoteCommand(args: CommandArgs, context: CommandContext): Promise<number> {
  const [from, named, ...extra] = args.positionals;
  if (from === undefined)
    throw new UsageError("promote needs an environment: tidegate promote <from> [<to>]", "promote");
  if (extra.length > 0)
    throw new UsageError(`promote takes two environments, got ${args.positionals.length}`, "promote");
  const choice = requireConfig(args, "promote");
  const config = await loadCliConfig(choice.path, dataDirOption(args));
  assertEnvironment(config, from, "promote");
  const to = named ?? nextEnvironment(config.environments, from);
  assertEnvironment(config, to, "promote");

  const dryRun = flag(args, "dry-run");
  const session = await openEngine({
    config,
    context,
    // Only a dry run runs a stack (the preview); a promotion itself is Git alone.
    ...(dryRun && (choice.embedded || flag(args, "emulator")) ? { emulator: { reuse: true } } : {}),
  });
  try {
    session.progress.begin(`${dryRun ? "previewing the promotion of" : "promoting"} ${from} to ${to}`);
    const result = await session.engine.promote(from, to, {
      actor: cliActor(context.env),
      allowTargetAhead: flag(args, "allow-target-ahead"),
      dryRun,
    });
    session.progress.end();
    context.stdout(flag(args, "json") ? `${JSON.stringify(result, null, 2)}\n` : formatPromoteResult(result));
    return result.outcome === "refused" ? ExitCode.failure : ExitCode.ok;
  } finally {
    await session.close();
  }
}

/** The environment after `from` in promotion order (environments are sorted by it). */
function nextEnvironment(environments: readonly { name: string; order: number }[], from: string): string {
  const current = environments.find((env) => env.name === from);
  const next = environments.find((env) => current !== undefined && env.order > current.order);
  if (!next) {
    throw new UsageError(
      `${from} is the last environment in promotion order; name the one to promote into`,
      "promote",
    );
  }
  return next.name;
}
