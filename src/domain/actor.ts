import * as os from "node:os";

// Who is acting: a person (named by the entry point that serves them) or tidegate itself. The
// identity is what the audit log and approvals record.

const ENGINE_NAME = "tidegate";

/** `tidegate@<hostname>`: the engine on this machine (two daemons on two hosts stay apart). */
export function engineActor(hostname: string = os.hostname()): string {
  return `${ENGINE_NAME}@${hostname || "localhost"}`;
}

/** The actor of decisions the engine takes itself (a scheduled run, an auto-sync): this host's. */
export const ENGINE_ACTOR = engineActor();
