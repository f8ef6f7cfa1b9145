import { status } from "../app/read";
import { exampleClusterInUse } from "../devenv/demo/cluster";
import type { CommandArgs, CommandContext } from "./command";
import {
  assertEnvironment,
  dataDirOption,
  environmentArgument,
  flag,
  loadCliConfig,
  openEngine,
  requireConfig,
  type EngineSession,
} from "./context";

/**
 * The environment a command line names and an engine for it (with the AWS emulator for the
 * embedded default or `--emulator`), closed after `run`. Says so when a new emulator stands in for
 * the one earlier runs created their objects in.
 */
export async function withEnvironmentEngine(
  args: CommandArgs,
  context: CommandContext,
  command: string,
  run: (name: string, session: EngineSession) => Promise<number>,
): Promise<number> {
  const name = environmentArgument(args, command);
  const choice = requireConfig(args, command);
  const config = await loadCliConfig(choice.path, dataDirOption(args));
  assertEnvironment(config, name, command);
  const cluster = choice.embedded
    ? await exampleClusterInUse(context.repoRoot, config.dataDir, context.env)
    : undefined;
  const session = await openEngine({
    config,
    context,
    ...(choice.embedded || flag(args, "emulator") ? { emulator: { reuse: true } } : {}),
    ...(cluster ? { cluster } : {}),
  });
  try {
    const row = (await status(session.engine)).find((r) => r.environment === name);
    const deployed = row?.deployedCommit !== undefined;
    if (session.emulator?.origin === "started" && choice.embedded && deployed) {
      context.stderr(
        "tidegate: note: no `tidegate run` is running on this data directory, so a new AWS emulator was\n" +
          "started; it does not hold what earlier runs created, which then shows as drift (missing).\n",
      );
    }
    return await run(name, session);
  } finally {
    await session.close();
  }
}
