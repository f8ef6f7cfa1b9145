import type { CommitInfo } from "../model";
import type { BranchHeads } from "./port";
import type { TreeEntry } from "./paths";

/** Separates the fields of `COMMIT_FORMAT`; a NUL cannot occur in names, emails or messages. */
export const COMMIT_FORMAT = "%H%x00%an%x00%ae%x00%aI%x00%B";

/** A full object id: SHA-1 (40 hex digits) or SHA-256 (64). */
export function isObjectId(text: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(text);
}

/**
 * A conservative `git check-ref-format --branch`: also refuses a leading `-`, so a branch name can
 * never be read as an option.
 */
export function isBranchName(name: string): boolean {
  return (
    name.length > 0 &&
    !name.startsWith("-") &&
    !name.startsWith("/") &&
    !name.endsWith("/") &&
    !name.endsWith(".") &&
    !name.endsWith(".lock") &&
    !name.includes("..") &&
    !name.includes("//") &&
    !name.includes("@{") &&
    name !== "@" &&
    !name.split("/").some((segment) => segment.startsWith(".")) &&
    // Control characters, space, and ~ ^ : ? * [ \ are not allowed in refs.
    // eslint-disable-next-line no-control-regex
    !/[\x00-\x20\x7f~^:?*[\\]/.test(name)
  );
}

/** `git ls-remote --heads` output, keeping only the branches asked for (its patterns match by suffix). */
export function parseLsRemote(stdout: string, branches: string[]): BranchHeads {
  const wanted = new Set(branches);
  const heads: BranchHeads = {};
  for (const line of stdout.split("\n")) {
    const [sha, ref] = line.split("\t");
    if (!sha || !ref?.startsWith("refs/heads/")) continue;
    const branch = ref.slice("refs/heads/".length);
    if (wanted.has(branch)) heads[branch] = sha;
  }
  return heads;
}

/** `git ls-tree -r -z` output: `<mode> <type> <oid>\t<path>\0` per entry. */
export function parseLsTree(stdout: string): TreeEntry[] {
  return stdout
    .split("\0")
    .filter((record) => record !== "")
    .map((record) => {
      const tab = record.indexOf("\t");
      const [mode, type, oid] = record.slice(0, tab).split(" ");
      return { mode, type, oid, path: record.slice(tab + 1) };
    });
}

/** `git log -1 --format=<COMMIT_FORMAT>` output. */
export function parseCommit(stdout: string): CommitInfo {
  const [sha, author, authorEmail, date, ...message] = stdout.split("\0");
  return {
    sha,
    author,
    authorEmail,
    date: new Date(date).toISOString(),
    // The message keeps its own line breaks; Git adds one more at the end.
    message: message.join("\0").replace(/\n+$/, ""),
  };
}

/** `-z` name lists, e.g. `git diff --name-only -z`. */
export function parseNameList(stdout: string): string[] {
  return stdout.split("\0").filter((name) => name !== "");
}

/** Git's way of saying that a fetched branch does not exist on the remote. */
export function isMissingRemoteRef(stderr: string): boolean {
  return /couldn't find remote ref/i.test(stderr);
}
