import type { CommitInfo } from "../../domain/model";
import type { PathSelection } from "./paths";

/** Branch name → head commit sha. */
export interface BranchHeads {
  [branch: string]: string;
}

/**
 * Which paths count, for tree digests and for the commits `commitsBetween` lists; patterns are
 * repository-relative (`stacks/aws`, `Pulumi.*.yaml`), see `src/git/paths.ts`.
 */
export type { PathSelection };

/** Who a merge commit is by (author and committer). */
export interface GitIdentity {
  name: string;
  email: string;
}

export interface MergeOptions {
  /** The branch merged into; its head is fetched first. */
  target: string;
  /** The commit merged (full sha). */
  source: string;
  /**
   * A scratch folder for the merge: missing, empty, or a worktree this adapter made (replaced);
   * anything else is refused. It holds the result afterwards, for `push`; the caller removes it.
   */
  dir: string;
  identity: GitIdentity;
  /** The merge commit's message (used only when a merge commit is made). */
  message: string;
}

/**
 * What merging gave. `targetHead` is the target's head the merge started from (fetched just then).
 * up-to-date: the source is already in the target (`sha` is the target's head); fast-forward: the
 * target's head is an ancestor of the source (`sha` is the source); merge: a new merge commit
 * `sha`; conflict: the merge was aborted, with the conflicting files.
 */
export type MergeResult =
  | { kind: "up-to-date" | "fast-forward" | "merge"; sha: string; targetHead: string }
  | { kind: "conflict"; files: string[]; targetHead: string };

export interface RepoFile {
  /** Repository-relative path. */
  file: string;
  text: string;
}

/**
 * What the engine needs from Git, for one repository. The core depends on this, never on
 * simple-git. Commits are named by full object ids (40 hex digits): an abbreviated sha or a branch
 * name would resolve against whatever was fetched last, and the engine must always know which
 * commit it looked at. Methods given a commit not fetched yet fetch the remote's branches once,
 * then fail with `CommitNotFoundError` if it is still unknown (e.g. force-pushed away).
 *
 * Errors: `BranchNotFoundError`, `CommitNotFoundError`, `PushRejectedError`, `AuthenticationError`,
 * `GitTimeoutError` (a call to the remote went past a limit of repository.timeouts and was
 * stopped), `RemoteClosedError` (the remote cut the connection mid-transfer), otherwise `GitError`
 * (all from ./errors); none of them carries credentials. After a timeout or a cut connection the
 * mirror holds what it held before: Git moves a ref only once its objects are complete.
 */
export interface HeadsOptions {
  /**
   * Any listing of every branch that started at or after this time answers (the polls of one
   * schedule tick share one `ls-remote`); without it the remote is asked now.
   */
  notBefore?: Date;
}

export interface GitPort {
  /** Cheap poll (`git ls-remote --heads`): no fetch, no checkout. Branches absent from the remote are absent from the result. */
  heads(branches: string[], options?: HeadsOptions): Promise<BranchHeads>;

  /** Fetches one branch into the shared mirror and returns its head, e.g. before reading config from it. */
  fetch(branch: string): Promise<string>;

  /**
   * Makes `dir` a detached checkout of exactly `sha`, which must be on `branch` (fetched first).
   * A second call with the same sha does no fetch and no checkout. A different sha updates the
   * files and removes untracked ones, except `node_modules` folders (the dependency cache).
   * `dir` must be missing, empty or a checkout this adapter made: anything else (a user's own
   * working copy) is refused, never cleaned.
   */
  checkout(branch: string, sha: string, dir: string): Promise<void>;

  /** Author, email, date (ISO 8601, UTC) and full message of a commit. */
  commit(sha: string): Promise<CommitInfo>;

  /** True when `ancestor` is an ancestor of, or equal to, `descendant`; false after a history rewrite. */
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;

  /**
   * A digest (sha256 hex, not a Git object id) over the files selected at a commit: equal for two
   * commits exactly when the selected paths, modes and contents are equal.
   */
  treeHash(sha: string, options?: PathSelection): Promise<string>;

  /**
   * The files at `path` in a commit, without a checkout: one file, or every file under a folder,
   * sorted by path. A path absent from the commit gives an empty list.
   */
  readFiles(sha: string, path: string): Promise<RepoFile[]>;

  /** Paths added, modified or deleted between two commits (a rename counts as both paths). */
  changedPaths(from: string, to: string): Promise<string[]>;

  /**
   * The commits reachable from `to` and not from `from` (every ancestor of `to` when `from` is
   * undefined), newest first. With a filter, only those changing the selected files, under Git's
   * default history simplification: a merge whose selected files equal one parent's is not listed,
   * and only that parent's side is followed (so merging the source into the target earlier does not
   * count as a target commit).
   */
  commitsBetween(from: string | undefined, to: string, filter?: PathSelection): Promise<CommitInfo[]>;

  /**
   * Merges `source` into the head of `target` in the scratch worktree `dir`: a fast-forward when
   * possible, else a merge commit by `identity`. A conflict aborts the merge and is reported, not
   * thrown. Nothing reaches the remote; `push` does that.
   */
  merge(options: MergeOptions): Promise<MergeResult>;

  /**
   * Pushes the HEAD of a worktree `merge` made to `refs/heads/<branch>` on the remote, never forced:
   * when the branch moved meanwhile the remote refuses, and this fails with `PushRejectedError`.
   */
  push(dir: string, branch: string): Promise<void>;
}
