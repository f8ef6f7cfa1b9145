import { createHash } from "node:crypto";
import { GitInputError } from "./errors";
import type { PathSelection } from "../../domain/program";

export type { PathSelection };

/** One entry of `git ls-tree -r`: a file (blob), or a submodule (commit). */
export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  path: string;
}

/** Checks a repository-relative path or pattern and drops a trailing `/`; `""` and `.` mean the root. */
export function normalizePath(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "" || trimmed === ".") return "";
  const segments = trimmed.split("/");
  if (path.startsWith("/") || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new GitInputError("path", path, 'a repository-relative path without "." or ".." segments');
  }
  return trimmed;
}

export function matchesPattern(path: string, pattern: string): boolean {
  return pathMatcher(pattern)(path);
}

/** A compiled pattern: true for the paths it matches and everything under them. */
export function pathMatcher(pattern: string): (path: string) => boolean {
  const regex = patternRegex(normalizePath(pattern));
  return (path) => {
    // The path itself, or one of its folders.
    const segments = path.split("/");
    for (let i = segments.length; i > 0; i--) {
      if (regex.test(segments.slice(0, i).join("/"))) return true;
    }
    return false;
  };
}

export function selectPaths<T extends { path: string }>(items: T[], selection: PathSelection = {}): T[] {
  const include = (selection.include ?? []).map(pathMatcher);
  const exclude = (selection.exclude ?? []).map(pathMatcher);
  return items.filter(
    (item) =>
      (include.length === 0 || include.some((matches) => matches(item.path))) &&
      !exclude.some((matches) => matches(item.path)),
  );
}

/** A stable digest of tree entries: independent of their order, dependent on every path, mode and content. */
export function digestEntries(entries: TreeEntry[]): string {
  const hash = createHash("sha256");
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const e of sorted) hash.update(`${e.mode} ${e.type} ${e.oid}\t${e.path}\0`);
  return hash.digest("hex");
}

function patternRegex(pattern: string): RegExp {
  if (pattern === "") return /^.*$/s;
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (pattern.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 2;
    } else if (pattern.startsWith("**", i)) {
      source += ".*";
      i += 1;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[\\^$.|+(){}[\]]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "s");
}

/**
 * A pattern of this module as Git pathspecs with `:(glob)` magic, which reads `*`, `?` and `**` as
 * here, for commands that filter by path themselves (`git log -- <pathspecs>`). `exclude` makes them
 * negative. Glob pathspecs match a folder's contents only through `<pattern>/**`, so both are given.
 */
export function globPathspecs(pattern: string, options: { exclude?: boolean } = {}): string[] {
  const magic = options.exclude ? ":(glob,exclude)" : ":(glob)";
  const normalized = normalizePath(pattern);
  if (normalized === "") return [`${magic}**`];
  // Git's glob treats `[` and `\` specially; here they are plain characters.
  const escaped = normalized.replace(/[[\\]/g, "\\$&");
  return [`${magic}${escaped}`, `${magic}${escaped}/**`];
}
