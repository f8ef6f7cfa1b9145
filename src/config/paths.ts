import * as os from "node:os";
import * as path from "node:path";

/** The data directory's layout, in one place. */
export function dataPaths(dataDir: string) {
  return {
    store: path.join(dataDir, "tidegate.db"),
    state: path.join(dataDir, "state"),
    mirror: path.join(dataDir, "git", "mirror"),
    /** With several repositories, each one's mirror. */
    repositoryMirror: (name: string) => path.join(dataDir, "git", "repositories", name),
    workspaces: path.join(dataDir, "workspaces"),
    reports: path.join(dataDir, "reports"),
    pulumiHome: path.join(dataDir, "pulumi-home"),
    dependencies: path.join(dataDir, "cache", "deps"),
    /** Each environment's sandboxed Pulumi CLI wrapper and Pulumi home. */
    sandbox: path.join(dataDir, "sandbox"),
    /** The hash-chained audit log; its head anchor is `audit.head.json` beside it. */
    audit: path.join(dataDir, "audit.jsonl"),
  };
}

/** Per-user cache outside any data directory (reading config must not create one). */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.TIDEGATE_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "tidegate")
  );
}
