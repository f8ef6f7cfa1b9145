import * as fs from "node:fs";
import * as path from "node:path";

/** What a checkout directory holds, from the mirror's point of view. */
export type WorkspaceState =
  /** Missing or empty: a worktree can be added there. */
  | { kind: "absent" }
  /** A live worktree of this mirror. */
  | { kind: "worktree" }
  /** Was a worktree of this mirror, but the mirror no longer knows it (e.g. the mirror was recreated). */
  | { kind: "stale" }
  /** Anything else, such as a user's own clone: never touched. */
  | { kind: "foreign" };

/**
 * Classifies `dir` by its `.git` file: a worktree's `.git` is a file `gitdir: <mirror>/worktrees/<id>`,
 * and that admin folder points back with its own `gitdir` file.
 */
export function inspectWorkspace(dir: string, mirrorDir: string): WorkspaceState {
  if (!fs.existsSync(dir)) return { kind: "absent" };
  if (!fs.statSync(dir).isDirectory()) return { kind: "foreign" };
  if (fs.readdirSync(dir).length === 0) return { kind: "absent" };

  const dotGit = path.join(dir, ".git");
  if (!fs.existsSync(dotGit) || !fs.statSync(dotGit).isFile()) return { kind: "foreign" };
  const match = /^gitdir:\s*(.+?)\s*$/m.exec(fs.readFileSync(dotGit, "utf8"));
  if (!match) return { kind: "foreign" };
  const adminDir = path.resolve(dir, match[1]);
  const worktreesDirs = [path.resolve(mirrorDir), realpath(mirrorDir)].map((m) => path.join(m, "worktrees"));
  const parents = [path.dirname(adminDir), realpath(path.dirname(adminDir))];
  if (!worktreesDirs.some((w) => parents.includes(w))) return { kind: "foreign" };

  const backLink = path.join(adminDir, "gitdir");
  if (!fs.existsSync(backLink)) return { kind: "stale" };
  const pointsBack = path.resolve(adminDir, fs.readFileSync(backLink, "utf8").trim());
  return realpath(pointsBack) === realpath(dotGit) ? { kind: "worktree" } : { kind: "stale" };
}

function realpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
