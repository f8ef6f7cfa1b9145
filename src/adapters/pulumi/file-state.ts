import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

// A file:// backend keeps each stack's checkpoint as one JSON file that Pulumi replaces whole (a
// temporary file renamed over it). Reading it is what `pulumi stack export` does, without starting
// the CLI: a run reads the state once before anything else, so this is on every check's path.

/** The folder a file:// backend keeps its `.pulumi` tree in; undefined for other backends. */
export function fileBackendRoot(backendUrl: string): string | undefined {
  return backendUrl.startsWith("file://") ? fileURLToPath(backendUrl.replace(/\?.*$/, "")) : undefined;
}

/** The stack's checkpoint file in a file:// backend (project layout); undefined for other backends. */
export function fileStatePath(backendUrl: string, project: string, stack: string): string | undefined {
  const root = fileBackendRoot(backendUrl);
  if (root === undefined || stack.includes("/")) return undefined;
  return path.join(root, ".pulumi", "stacks", project, `${stack}.json`);
}

/**
 * The stack's state as `pulumi stack export` gives it ({ version, deployment }), read from the
 * checkpoint file; undefined whenever the file is not plainly there and whole (no file, gzip, a
 * stack never updated, unreadable JSON), so that the caller asks the CLI, which names the problem.
 */
export function readFileState(
  backendUrl: string,
  project: string,
  stack: string,
): { version: number; deployment: unknown } | undefined {
  const file = fileStatePath(backendUrl, project, stack);
  if (file === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { version, checkpoint } = parsed as { version?: unknown; checkpoint?: { latest?: unknown } };
  const latest = checkpoint?.latest;
  if (typeof version !== "number" || typeof latest !== "object" || latest === null) return undefined;
  return { version, deployment: latest };
}

/** One update as the backend's history records it (what `pulumi stack history` lists). */
export interface FileUpdate {
  kind: string;
  result: string;
  message: string;
  environment: Record<string, string>;
  version: number;
  endTime: Date;
}

/**
 * The stack's newest `limit` updates, newest first, read from a file backend's history folder (one
 * `<stack>-<unix ns>.history.json` per update); undefined when it is not plainly there and readable.
 */
export function readFileHistory(
  backendUrl: string,
  project: string,
  stack: string,
  limit: number,
): FileUpdate[] | undefined {
  const root = fileBackendRoot(backendUrl);
  if (root === undefined || stack.includes("/")) return undefined;
  const dir = path.join(root, ".pulumi", "history", project, stack);
  const pattern = new RegExp(`^${stack.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(\\d+)\\.history\\.json$`);
  let names: Array<{ name: string; at: bigint }>;
  try {
    names = fs
      .readdirSync(dir)
      .flatMap((name) => {
        const at = pattern.exec(name)?.[1];
        return at === undefined ? [] : [{ name, at: BigInt(at) }];
      })
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
      .slice(0, limit);
  } catch {
    return undefined;
  }
  const updates: FileUpdate[] = [];
  for (const { name } of names) {
    try {
      const raw = JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as Record<string, unknown>;
      const { kind, result, message, environment, version, endTime } = raw;
      if (typeof kind !== "string" || typeof result !== "string" || typeof version !== "number")
        return undefined;
      updates.push({
        kind,
        result,
        message: typeof message === "string" ? message : "",
        environment: isStrings(environment) ? environment : {},
        version,
        endTime: new Date(typeof endTime === "number" ? endTime * 1000 : 0),
      });
    } catch {
      return undefined;
    }
  }
  return updates;
}

function isStrings(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" && value !== null && Object.values(value).every((v) => typeof v === "string")
  );
}
