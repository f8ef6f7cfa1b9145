import * as fs from "node:fs";
import { PushRejectedError } from "../adapters/git/errors";
import type {
  BranchHeads,
  GitIdentity,
  MergeOptions,
  MergeResult,
  PathSelection,
} from "../adapters/git/port";
import { environmentProgram } from "../domain/program";
import type { Logger } from "../log";
import type { CommitInfo } from "../domain/model";
import type { PromoteOutcome, PromoteResult } from "../domain/promotion";
import type { ChangeSet } from "../domain/changes";
import type { EnvironmentState } from "../adapters/store/port";
import { shortSha } from "../domain/commit";
import { judgeSource } from "../gates/promotion-source";

// `tidegate promote <from> <to>`: merge the lower environment's branch into the next one and push it.
// Everything is checked before anything is pushed, and the push is never forced: a promotion either
// moves the target branch to exactly the merge it checked, or changes nothing and says why.

/** The part of an environment definition a promotion needs. */
export interface PromotedEnvironment {
  name: string;
  /** Its repository when tidegate.yaml lists several: a promotion stays within one. */
  repository?: string;
  branch: string;
  /** Pulumi project folder, relative to the repository root. */
  project: string;
  /** With several stacks, every stack's project folder. */
  stacks?: readonly { project: string }[];
  /** Policy pack folders that belong to the program (see programSelection). */
  programPolicyPacks?: readonly string[];
  /** Promotion order: lower environments are promoted into higher ones. */
  order: number;
  /** The target's promotion gate: whether drift on the source refuses the promotion. */
  gates?: { promotion?: { requireNoDrift?: boolean } };
}

/** The Git operations a promotion uses (see src/git/port.ts). */
export interface PromoteGit {
  heads(branches: string[]): Promise<BranchHeads>;
  commitsBetween(from: string | undefined, to: string, filter?: PathSelection): Promise<CommitInfo[]>;
  merge(options: MergeOptions): Promise<MergeResult>;
  push(dir: string, branch: string): Promise<void>;
}

export interface PromoteContext {
  git: PromoteGit;
  store: { status(environment: string): Promise<EnvironmentState | undefined> };
  log: Logger;
  /** The environment of that name; throws for a name that is not configured. */
  environment(name: string): PromotedEnvironment;
  /** A new path for one promotion's scratch worktree; it is removed when the promotion ends. */
  scratchDir(): string;
  /** Who merge commits are by (the actor is named in the message). */
  identity: GitIdentity;
  /** For a dry run: the target's preview on the merged tree, checked out in `dir`. */
  preview(env: PromotedEnvironment, dir: string): Promise<ChangeSet>;
  now(): Date;
}

export interface PromoteRequest {
  from: string;
  to: string;
  /** Who asked, for the merge message and the audit trail. */
  actor: string;
  /** Promote even when the target has program commits the source lacks (they are kept, and listed). */
  allowTargetAhead?: boolean;
  /** Merge in a scratch worktree and preview the target there; push nothing. */
  dryRun?: boolean;
}

/** A promotion's options, once the two environments are named. */
export type PromoteOptions = Omit<PromoteRequest, "from" | "to">;

/** Who merge commits are by when the engine is not told otherwise. */
export const PROMOTION_IDENTITY: GitIdentity = { name: "tidegate", email: "tidegate@localhost" };

const LISTED_COMMITS = 3;

/**
 * Promotes `from` into `to`: the order → the source's live head is deployed (drift: a warning) → merge in a scratch
 * worktree → nothing to do when up to date → the target has no program commits the source lacks →
 * no conflict → push (or, for a dry run, preview the target there instead). Refusals are results,
 * not errors; Git and Pulumi failures are thrown. The scratch worktree is always removed.
 */
export async function promote(ctx: PromoteContext, request: PromoteRequest): Promise<PromoteResult> {
  const startedAt = ctx.now().toISOString();
  const from = ctx.environment(request.from);
  const to = ctx.environment(request.to);
  const log = ctx.log.child({ from: from.name, to: to.name, actor: request.actor });
  const result: Omit<PromoteResult, "outcome" | "reason" | "endedAt"> = {
    from: { environment: from.name, branch: from.branch },
    to: { environment: to.name, branch: to.branch },
    actor: request.actor,
    dryRun: request.dryRun === true,
    startedAt,
  };
  const finish = (outcome: PromoteOutcome, reason: string): PromoteResult => {
    const done = { ...result, outcome, reason, endedAt: ctx.now().toISOString() };
    log.info({ outcome, kind: done.kind, sha: done.sha, reason }, "promotion finished");
    return done;
  };

  if (to.order <= from.order) {
    return finish(
      "refused",
      `${to.name} does not come after ${from.name} in promotion order (${from.name}: ${from.order}, ${to.name}: ${to.order}); promotions go upwards`,
    );
  }
  if (to.repository !== from.repository) {
    return finish(
      "refused",
      `${from.name} and ${to.name} are in different repositories; a promotion merges branches of one repository`,
    );
  }
  if (to.branch === from.branch) {
    return finish(
      "refused",
      `${from.name} and ${to.name} share the branch '${to.branch}'; there is nothing to merge`,
    );
  }

  const heads = await ctx.git.heads([from.branch, to.branch]);
  const sourceHead = heads[from.branch];
  const targetHead = heads[to.branch];
  if (!sourceHead) return finish("refused", `branch '${from.branch}' of ${from.name} is not on the remote`);
  if (!targetHead) return finish("refused", `branch '${to.branch}' of ${to.name} is not on the remote`);
  result.from.head = sourceHead;
  result.to.head = targetHead;

  const state = await ctx.store.status(from.name);
  if (state?.deployedCommit) result.from.deployed = state.deployedCommit;
  const source = judgeSource(from, sourceHead, state, {
    name: to.name,
    ...(to.gates?.promotion?.requireNoDrift ? { requireNoDrift: true } : {}),
  });
  if (source.refusal) return finish("refused", source.refusal);
  if (source.warnings.length > 0) {
    result.warnings = source.warnings;
    for (const warning of source.warnings) log.warn({}, warning);
  }

  const dir = ctx.scratchDir();
  try {
    // Merged first (in the scratch worktree only) so everything below judges the target head that
    // would be pushed onto, even if the branch moved since the poll above.
    const merged = await ctx.git.merge({
      target: to.branch,
      source: sourceHead,
      dir,
      identity: ctx.identity,
      message: mergeMessage(from, to, sourceHead, request.actor),
    });
    const base = short(merged.targetHead);
    result.to.head = merged.targetHead;
    if (merged.kind === "up-to-date") {
      result.sha = merged.sha;
      return finish(
        "up-to-date",
        `${to.name} already contains ${from.name}'s ${short(sourceHead)}; nothing to promote`,
      );
    }

    const ahead = await ctx.git.commitsBetween(sourceHead, merged.targetHead, environmentProgram(to));
    if (ahead.length > 0) {
      result.targetAhead = ahead;
      if (!request.allowTargetAhead) {
        return finish(
          "refused",
          `${to.name} has ${count(ahead.length, "commit")} touching the program (${to.project}) that ${from.name} lacks: ${listCommits(ahead)}. Merge ${to.branch} into ${from.branch} first, or promote with --allow-target-ahead to keep them`,
        );
      }
    }
    if (merged.kind === "conflict") {
      result.conflicts = merged.files;
      return finish(
        "refused",
        `merging ${from.name}'s ${short(sourceHead)} into ${to.name}'s ${base} conflicts in ${count(merged.files.length, "file")} (${merged.files.join(", ")}); nothing was pushed. Resolve it on ${from.branch} (merge ${to.branch} into it), then promote again`,
      );
    }
    result.sha = merged.sha;
    result.kind = merged.kind;
    const fastForward = merged.kind === "fast-forward";
    const move = (verb: { ff: string; merge: string }): string =>
      (fastForward
        ? `${verb.ff} ${to.name} from ${base} to ${from.name}'s ${short(sourceHead)}`
        : `${verb.merge} ${from.name}'s ${short(sourceHead)} into ${to.name}'s ${base} as ${short(merged.sha)}`) +
      (result.targetAhead
        ? ` (keeping ${count(result.targetAhead.length, "program commit")} of ${to.name}, as allowed)`
        : "");

    if (request.dryRun) {
      result.preview = await ctx.preview(to, dir);
      return finish(
        "dry-run",
        `dry run: ${move({ ff: "would fast-forward", merge: "would merge" })}; nothing was pushed`,
      );
    }
    try {
      await ctx.git.push(dir, to.branch);
    } catch (err) {
      if (err instanceof PushRejectedError) {
        return finish("refused", `${err.message}${err.moved ? "; promote again" : ""}`);
      }
      throw err;
    }
    return finish("promoted", move({ ff: "fast-forwarded", merge: "merged" }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function mergeMessage(
  from: PromotedEnvironment,
  to: PromotedEnvironment,
  sha: string,
  actor: string,
): string {
  return [
    `Promote ${from.name} into ${to.name}`,
    "",
    `Merges ${from.branch} at ${sha} into ${to.branch}.`,
    "",
    `Promoted-by: ${oneLine(actor)}`,
  ].join("\n");
}

function listCommits(commits: CommitInfo[]): string {
  const listed = commits
    .slice(0, LISTED_COMMITS)
    .map((c) => `${short(c.sha)} by ${oneLine(c.author)} "${oneLine(c.message.split("\n", 1)[0] ?? "")}"`);
  const more = commits.length - listed.length;
  return `${listed.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function short(sha: string): string {
  return shortSha(sha);
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
}
