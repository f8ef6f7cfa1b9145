import type { DriftResolution } from "../domain/gates";
import { UsageError, type CommandArgs } from "./command";
import { flag } from "./context";

// --restore-drift and --accept-drift: a person's one-off way out of drift, on `sync` (to do it) and
// on `plan` and `approve` (to see and approve exactly that plan, whose digest is its own).

export const RESOLVE_OPTIONS = {
  "restore-drift": { type: "boolean" },
  "accept-drift": { type: "boolean" },
} as const;

export const RESOLVE_USAGE = "[--restore-drift | --accept-drift]";

export function resolveHelp(verb: string): string[] {
  return [
    `  --restore-drift     ${verb} the restore of the drift, once, whatever the drift policy: a sync`,
    "                      that puts the deployed values back on the live resources",
    `  --accept-drift      ${verb} the accept of the drift: the live values are taken into the`,
    "                      deployed state (a Pulumi refresh); nothing of the program is applied",
  ];
}

/** The resolution the flags ask for; both at once is a usage error. */
export function resolveOption(args: CommandArgs, command: string): DriftResolution | undefined {
  const restore = flag(args, "restore-drift");
  const accept = flag(args, "accept-drift");
  if (restore && accept) {
    throw new UsageError("--restore-drift and --accept-drift exclude each other: choose one", command);
  }
  return restore ? "restore-drift" : accept ? "accept-drift" : undefined;
}
