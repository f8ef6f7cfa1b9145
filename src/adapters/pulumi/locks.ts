import * as fs from "node:fs";
import * as path from "node:path";
import { fileBackendRoot } from "./file-state";
import { z } from "zod";

// Pulumi's own lock on a stack of a file backend: one JSON file per holder, left behind when the
// holder is killed. Other backends do not show their locks; there only `pulumi cancel` tells.

/** Who holds Pulumi's lock on a stack, as its lock file says. */
export interface StackLock {
  file: string;
  pid?: number;
  user?: string;
  host?: string;
  /** ISO 8601, as Pulumi wrote it. */
  since?: string;
}

const LockFile = z.looseObject({
  pid: z.number().optional(),
  username: z.string().optional(),
  hostname: z.string().optional(),
  timestamp: z.string().optional(),
});

/** The lock files of a stack in a file:// backend (project layout); undefined for other backends. */
export function fileBackendLocks(
  backendUrl: string,
  project: string,
  stack: string,
): StackLock[] | undefined {
  const root = fileBackendRoot(backendUrl);
  if (root === undefined) return undefined;
  const dir = path.join(root, ".pulumi", "locks", "organization", project, stack);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((name) => name.endsWith(".json"));
  } catch {
    return []; // no folder: never locked
  }
  return names.sort().map((name) => {
    const file = path.join(dir, name);
    let parsed: z.infer<typeof LockFile> | undefined;
    try {
      const result = LockFile.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
      parsed = result.success ? result.data : undefined;
    } catch {
      parsed = undefined; // half-written by a holder that died: still a lock
    }
    return {
      file,
      ...(parsed?.pid === undefined ? {} : { pid: parsed.pid }),
      ...(parsed?.username === undefined ? {} : { user: parsed.username }),
      ...(parsed?.hostname === undefined ? {} : { host: parsed.hostname }),
      ...(parsed?.timestamp === undefined ? {} : { since: parsed.timestamp }),
    };
  });
}
