import type { CommitInfo } from "../../domain/model";
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
  for (const [branch, sha] of lsRemoteHeads(stdout)) if (wanted.has(branch)) heads[branch] = sha;
  return heads;
}

/** Every branch of `git ls-remote --heads` output, with its head. */
export function* lsRemoteHeads(stdout: string): Generator<[branch: string, sha: string]> {
  for (const line of stdout.split("\n")) {
    const [sha, ref] = line.split("\t");
    if (!sha || !ref?.startsWith("refs/heads/")) continue;
    yield [ref.slice("refs/heads/".length), sha];
  }
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

/** Git's words (LC_ALL=C) when the remote refused the credentials, or wanted some and got none. */
export function isAuthenticationFailure(stderr: string): boolean {
  return /Authentication failed for|could not read (?:Username|Password)|The requested URL returned error: 401/i.test(
    stderr,
  );
}

/**
 * `git log -z --format=<COMMIT_FORMAT>` output: the five fields of each commit and the commits
 * themselves are all NUL-separated, so the records are read five fields at a time.
 */
export function parseCommits(stdout: string): CommitInfo[] {
  const fields = stdout.split("\0");
  if (fields[fields.length - 1] === "") fields.pop();
  const commits: CommitInfo[] = [];
  for (let i = 0; i + 5 <= fields.length; i += 5)
    commits.push(parseCommit(fields.slice(i, i + 5).join("\0")));
  return commits;
}

/** One ref's line of `git push --porcelain`: `<flag>\t<from>:<to>\t<summary>`. */
export interface PushStatus {
  /** " " fast-forward, "*" new ref, "=" up to date, "!" rejected ("+" forced and "-" deleted never occur here). */
  flag: string;
  /** e.g. "[rejected]", "[remote rejected]", "[up to date]", "abc..def". */
  summary: string;
  /** The reason Git gives in parentheses, e.g. "non-fast-forward", "pre-receive hook declined". */
  reason?: string;
}

/** The status of the pushed ref `refs/heads/<branch>` in `git push --porcelain` output (stdout). */
export function parsePushStatus(stdout: string, branch: string): PushStatus | undefined {
  for (const line of stdout.split("\n")) {
    const [flag, refs, summary] = line.split("\t");
    if (flag === undefined || refs === undefined || summary === undefined || flag.length !== 1) continue;
    if (refs.slice(refs.lastIndexOf(":") + 1) !== `refs/heads/${branch}`) continue;
    const match = /^(.*?)\s*\((.*)\)\s*$/.exec(summary);
    return match ? { flag, summary: match[1], reason: match[2] } : { flag, summary: summary.trim() };
  }
  return undefined;
}
