import * as path from "node:path";
import { CommitNotFoundError } from "../adapters/git/errors";
import type { DependencyResult } from "../adapters/pulumi/dependencies";
import type { StackPort } from "../adapters/pulumi/port";
import { assertProgramPaths } from "../adapters/pulumi/program-paths";
import type { PreviewOptions } from "../adapters/pulumi/stack";
import type { ChangeSet } from "../domain/changes";
import type { PolicyViolation } from "../domain/gates";
import type { CommitInfo, EnvironmentStatus, RunKind } from "../domain/model";
import type { Logger } from "../log";
import { gatesInForce, programTree, type GatesInForce, type GatingContext, type GatingGit } from "./gating";
import type { RunEnvironment, RunStack, Timed } from "./types";
import { shortSha } from "../domain/commit";
import { ignoreChangesSpec, splitDrift, type IgnoreChangesSpec } from "../domain/ignore";
import type { RunReport } from "../domain/model";

/** The Git operations observing an environment uses (see src/adapters/git/port.ts for the full port). */
export interface RunGit {
  heads(branches: string[]): Promise<Record<string, string>>;
  checkout(branch: string, sha: string, dir: string): Promise<void>;
  commit(sha: string): Promise<CommitInfo>;
  isAncestor(ancestor: string, descendant: string): Promise<boolean>;
}

export interface ObserveContext extends Pick<GatingContext, "gatesAt"> {
  git: RunGit & Pick<GatingGit, "treeHash">;
  workspaceDir(env: RunEnvironment): string;
  installDependencies(projectDir: string): Promise<DependencyResult>;
  /** `ignoreChanges`: what the program must leave as it is (drift.ignore rules in force). */
  openStack(
    env: RunEnvironment,
    projectDir: string,
    options?: { ignoreChanges?: IgnoreChangesSpec[] },
  ): Promise<StackPort>;
  now(): Date;
  /** Policy pack folders (repository-relative, in the checkout at `workDir`) → absolute, dependencies installed. */
  preparePolicyPacks(packs: string[], workDir: string): Promise<string[]>;
}

export interface ObserveRequest {
  kind: RunKind;
  /** The run may apply what it finds: its pending preview keeps Pulumi's update plan for the sync. */
  savePlan?: boolean;
  /** The deployed commit the store knew before this run: the answer until the stack gives one. */
  deployedBefore?: string;
  log: Logger;
  timed: Timed;
}

/** What was learned about the environment, as far as observing got. */
export interface ObservedFacts {
  head?: string;
  desired?: CommitInfo;
  deployedCommit?: string;
  dependencies?: { key: string; installed: boolean };
  /** How the head would change the environment's gates, in lines; absent when it does not. */
  gatesChange?: string[];
  pending?: ChangeSet;
  drift?: ChangeSet;
  /** Drift the drift.ignore rules took out of `drift`, and the rules that expired; absent without rules. */
  ignoredDrift?: RunReport["ignoredDrift"];
  /** Policy pack findings on the pending preview (set whenever it ran). */
  policy?: PolicyViolation[];
}

/** What the gates judge: the desired and deployed state, pending changes and drift of the whole environment. */
export interface EnvironmentObservation extends ObservedFacts {
  head: string;
  desired: CommitInfo;
  drift: ChangeSet;
  inForce: GatesInForce;
  /** The head's program tree when nothing is pending: the deployed state is what it makes, a success here. */
  programTree?: string;
  workDir: string;
  /** Where check commands run: the project folder, or the checkout's root with several stacks. */
  projectDir: string;
  /** An environment of several stacks: each one's own observation, in dependency order. */
  stacks?: StackObservation[];
  /** Stacks whose preview waits for the stacks they depend on to be deployed (see stacks.ts). */
  deferred?: string[];
}

/** One stack of an environment of several, as observed. */
export interface StackObservation {
  stack: RunStack;
  /** The environment as this stack's run sees it (see stackEnvironment). */
  env: RunEnvironment;
  observation: Observation;
}

/** A complete observation of one stack: what the gates judge, and the stack to sync. */
export interface Observation extends EnvironmentObservation {
  /** How the pending preview ran (the policy packs in force, whether it saved an update plan), for the sync. */
  previewOptions: PreviewOptions;
  /** The digest of the stack's state the previews started from; undefined where it cannot be told. */
  checkpoint?: string;
  stack: StackPort;
}

export type ObserveResult =
  | { kind: "observed"; observation: Observation }
  /** Stopped on purpose with a clear status; nothing was changed. */
  | { kind: "stopped"; facts: ObservedFacts; status: EnvironmentStatus; reason: string }
  | { kind: "failed"; facts: ObservedFacts; error: unknown };

/** The facts any observation result carries. */
export function observedFacts(result: ObserveResult): ObservedFacts {
  return result.kind === "observed" ? result.observation : result.facts;
}

/**
 * poll → check out → program path checks → install → open the stack → secrets → pending operations
 * → deployed commit and history → gates in force → preview → drift preview. A missing branch,
 * rewritten history or an interrupted earlier update stop here with a clear status.
 */
export async function observe(
  ctx: ObserveContext,
  env: RunEnvironment,
  request: ObserveRequest,
): Promise<ObserveResult> {
  const facts: ObservedFacts = { deployedCommit: request.deployedBefore };
  try {
    const checkedOut = await checkoutHead(ctx, env, request, facts);
    return "kind" in checkedOut ? checkedOut : await look(ctx, env, request, facts, checkedOut);
  } catch (error) {
    return { kind: "failed", facts, error };
  }
}

/** The environment's head, checked out: what every stack of it is observed at. */
export interface CheckedOut {
  head: string;
  desired: CommitInfo;
  workDir: string;
}

/**
 * poll → check out → the head's commit: once per environment, however many stacks it has. A
 * missing branch stops here; `facts` takes what was learned.
 */
export async function checkoutHead(
  ctx: ObserveContext,
  env: RunEnvironment,
  request: Pick<ObserveRequest, "timed">,
  facts: ObservedFacts,
): Promise<CheckedOut | Extract<ObserveResult, { kind: "stopped" }>> {
  const { timed } = request;
  const heads = await timed("poll", () => ctx.git.heads([env.branch]));
  const head = heads[env.branch];
  if (!head) {
    const reason = `branch '${env.branch}' is not on the remote (deleted?); nothing was changed`;
    return { kind: "stopped", facts, status: "Unknown", reason };
  }
  facts.head = head;
  const workDir = ctx.workspaceDir(env);
  await timed("checkout", () => ctx.git.checkout(env.branch, head, workDir));
  const desired = await ctx.git.commit(head);
  facts.desired = desired;
  return { head, desired, workDir };
}

/**
 * One stack of an environment at its checked-out head (`env` with that stack's project and stack):
 * everything observe does after the checkout.
 */
export async function observeStack(
  ctx: ObserveContext,
  env: RunEnvironment,
  request: ObserveRequest,
  checkedOut: CheckedOut,
): Promise<ObserveResult> {
  const facts: ObservedFacts = {
    deployedCommit: request.deployedBefore,
    head: checkedOut.head,
    desired: checkedOut.desired,
  };
  try {
    return await look(ctx, env, request, facts, checkedOut);
  } catch (error) {
    return { kind: "failed", facts, error };
  }
}

/** observe after the checkout, filling `facts` as it learns them so that a failure still reports what was known. */
async function look(
  ctx: ObserveContext,
  env: RunEnvironment,
  request: ObserveRequest,
  facts: ObservedFacts,
  { head, desired, workDir }: CheckedOut,
): Promise<ObserveResult> {
  const { timed } = request;
  const stop = (status: EnvironmentStatus, reason: string): ObserveResult => ({
    kind: "stopped",
    facts,
    status,
    reason,
  });
  const log = request.log.child({ commit: shortSha(head) });
  // Before anything is installed or run: nothing may lead outside the folders the digest covers.
  assertProgramPaths(workDir, env);
  const projectDir = path.join(workDir, env.project);
  const deps = await timed("install", () => ctx.installDependencies(projectDir));
  facts.dependencies = { key: deps.key, installed: deps.installed };
  log.debug(facts.dependencies, "dependencies ready");
  const stack = await timed("stack", () => ctx.openStack(env, projectDir, stackOpenOptions(env, ctx.now())));
  // First, and alone: the Pulumi CLI writes a new salt into a stack settings file that lacks one,
  // so no other CLI call may load the stack before the deployed salt is pinned there.
  await timed("salt", () => stack.verifySecrets());

  const interrupted = await stack.pendingOperations();
  if (interrupted.length > 0) {
    const list = interrupted.map((op) => `${op.operation} ${op.urn}`).join(", ");
    return stop(
      "Failed",
      `an interrupted update left ${interrupted.length} pending operation(s) (${list}); confirm them in the cloud, then run \`tidegate recover ${env.name}${env.current ? ` --stack ${env.current}` : ""}\``,
    );
  }
  // The state just read, before any preview starts: a sync compares it under the lease (see sync.ts).
  const checkpoint = request.savePlan ? await stack.checkpoint() : undefined;
  const previewDrift = async () => {
    const split = expectedDrift(env, (await timed("drift", () => stack.previewDrift())).changes, ctx.now());
    if (split.ignoredDrift) facts.ignoredDrift = split.ignoredDrift;
    return split.drift;
  };
  // The drift preview needs neither the deployed commit nor the gates: it starts now, beside the
  // history read and the gates, and nothing returns or throws before it has ended.
  const driftRun = previewDrift();
  const driftEnded = driftRun.then(
    () => undefined,
    () => undefined,
  );
  let judged: Judged | ObserveResult;
  try {
    judged = await deployedAndGates({ ctx, env, timed, log, stack, head, workDir, facts, stop });
  } catch (error) {
    await driftEnded;
    throw error;
  }
  if ("kind" in judged) {
    await driftEnded;
    return judged;
  }
  const { inForce } = judged;
  const previewOptions = request.savePlan
    ? { ...judged.previewOptions, savePlan: true }
    : judged.previewOptions;
  const previewPending = async () => {
    const result = await timed("preview", () => stack.preview(previewOptions));
    facts.pending = result.changes;
    facts.policy = result.policy ?? [];
  };
  // Both previews only read the state and are mostly the CLI's waiting: they run side by side, and
  // the run goes on only once both have ended (a failure of one does not leave the other running).
  const drift = request.kind === "drift" ? await driftRun : (await bothEnded(previewPending(), driftRun))[1];
  facts.drift = drift;
  // A remediation is an update of the head too: its pending changes belong in the plan.
  if (request.kind === "drift" && env.drift.policy === "remediate" && drift.resources.length > 0) {
    await previewPending();
  }
  log.info({ pending: facts.pending?.resources.length ?? 0, drift: drift.resources.length }, "observed");

  // Nothing pending: the deployed state is what this commit's program makes (a commit that changes
  // nothing is never "deployed" by an update), so its program tree has succeeded here.
  const unchanged = facts.pending !== undefined && facts.pending.resources.length === 0;
  const tree = unchanged ? await programTree(ctx.git, env, head) : undefined;
  return {
    kind: "observed",
    observation: {
      ...facts,
      head,
      desired,
      drift,
      inForce,
      ...(tree ? { programTree: tree } : {}),
      workDir,
      projectDir,
      previewOptions,
      ...(checkpoint ? { checkpoint } : {}),
      stack,
    },
  };
}

/** How a run opens the environment's stack: the drift.ignore rules in force as ignoreChanges. */
export function stackOpenOptions(
  env: RunEnvironment,
  now: Date,
): { ignoreChanges?: IgnoreChangesSpec[] } | undefined {
  const ignoreChanges = ignoreChangesSpec(env.drift.ignore ?? [], now);
  return ignoreChanges.length > 0 ? { ignoreChanges } : undefined;
}

/** Drift less what the environment's drift.ignore rules expect; the rest for the report. */
export function expectedDrift(
  env: RunEnvironment,
  drift: ChangeSet,
  now: Date,
): { drift: ChangeSet; ignoredDrift?: RunReport["ignoredDrift"] } {
  const rules = env.drift.ignore ?? [];
  if (rules.length === 0) return { drift };
  const split = splitDrift(drift, rules, now);
  const said = split.ignored.length > 0 || split.expired.length > 0;
  return {
    drift: split.drift,
    ...(said ? { ignoredDrift: { properties: split.ignored, expiredRules: split.expired } } : {}),
  };
}

interface Judged {
  inForce: GatesInForce;
  previewOptions: PreviewOptions;
}

/** The deployed commit (refusing a rewritten history) and the gates in force for it and the head. */
async function deployedAndGates(input: {
  ctx: ObserveContext;
  env: RunEnvironment;
  timed: Timed;
  log: Logger;
  stack: StackPort;
  head: string;
  workDir: string;
  facts: ObservedFacts;
  stop: (status: EnvironmentStatus, reason: string) => ObserveResult;
}): Promise<Judged | ObserveResult> {
  const { ctx, env, timed, log, stack, head, workDir, facts, stop } = input;
  const deployed = await timed("deployed", () => stack.deployed());
  const deployedCommit = deployed?.commit;
  facts.deployedCommit = deployedCommit;
  if (deployedCommit && deployedCommit !== head && !(await isAncestorSafe(ctx.git, deployedCommit, head))) {
    return stop(
      "Blocked",
      `history rewritten: ${shortSha(head)} on '${env.branch}' does not descend from the deployed ${shortSha(deployedCommit)}; nothing was changed. Restore the branch, or deploy the new history deliberately.`,
    );
  }
  const inForce = await timed("gates", () => gatesInForce(ctx, env, deployedCommit, head));
  if (inForce.change.length > 0) {
    facts.gatesChange = inForce.change;
    log.warn({ changes: inForce.change }, "this commit changes the environment's gates");
  }
  const packs = [...new Set(inForce.sets.flatMap((g) => g.policyPacks))];
  const packDirs =
    packs.length > 0 ? await timed("policy", () => ctx.preparePolicyPacks(packs, workDir)) : [];
  return { inForce, previewOptions: packDirs.length > 0 ? { policyPacks: packDirs } : {} };
}

async function isAncestorSafe(git: RunGit, ancestor: string, descendant: string): Promise<boolean> {
  try {
    return await git.isAncestor(ancestor, descendant);
  } catch (err) {
    // The deployed commit is unknown to the repository: it cannot be shown to precede the head.
    if (err instanceof CommitNotFoundError) return false;
    throw err;
  }
}

/** Both values once both promises have ended; the first failure, if any, after both have ended. */
export async function bothEnded<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === "rejected") throw x.reason;
  if (y.status === "rejected") throw y.reason;
  return [x.value, y.value];
}
