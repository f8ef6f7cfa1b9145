import type { ListedEnvironment, StatusStore } from "../adapters/store/port";
import { errorLine, errorRecord } from "../domain/errors";
import type { Logger } from "../log";

// The configured environments, written to the store whenever an engine is built from the
// configuration: `tidegate status` lists them from there, without Git or the environment files.

/** An environment as configured: its stacks by name when it has several. */
export interface ConfiguredEnvironment extends Omit<ListedEnvironment, "stacks"> {
  stacks?: readonly { readonly name: string }[];
}

/** Records the list; a store that cannot take it is only logged (the engine's own calls will say more). */
export async function recordEnvironmentList(
  store: Pick<StatusStore, "setEnvironmentList">,
  environments: readonly ConfiguredEnvironment[],
  log: Pick<Logger, "warn">,
): Promise<void> {
  try {
    await store.setEnvironmentList(
      environments.map(({ name, branch, stack, stacks }) => ({
        name,
        branch,
        stack,
        ...(stacks && stacks.length > 1 ? { stacks: stacks.map((s) => ({ name: s.name })) } : {}),
      })),
    );
  } catch (error) {
    log.warn(
      { error: errorLine(errorRecord(error)) },
      "could not record the environment list in the store; `tidegate status` may list an older one",
    );
  }
}
