import type { CommitInfo } from "../domain/model";
import { describeGatesChange, evaluateGates } from "../gates";
import { evaluateApproval } from "../gates/approval";
import type {
  Approval,
  GateCommand,
  CommandResult,
  GateVerdict,
  Gates,
  Plan,
  PolicyViolation,
  Verdict,
} from "../domain/gates";
import type { PathSelection } from "../adapters/git/port";
import { environmentProgram } from "../domain/program";
import type { Store } from "../adapters/store/port";

// The I/O around the pure gates: which gates are in force, and the facts they judge (approvals,
// authors, the program tree, where it succeeded before, check results).

/** The part of an environment the gates need. */
export interface GatedEnvironment {
  name: string;
  project: string;
  /** With several stacks, every stack's project folder: the program tree covers them all. */
  stacks?: readonly { project: string }[];
  /** Policy pack folders the program tree covers besides the project (see programSelection). */
  programPolicyPacks?: readonly string[];
  /** The gates of the environment definition at the config ref (the engine's own configuration). */
  gates: Gates;
}

export interface GatingGit {
  treeHash(sha: string, options?: PathSelection): Promise<string>;
  commitsBetween(from: string | undefined, to: string): Promise<CommitInfo[]>;
  commit(sha: string): Promise<CommitInfo>;
}

export interface GatingContext {
  git: GatingGit;
  store: Pick<Store, "approvals" | "success">;
  /** The environment's gates as defined at a commit; undefined when that commit defines none (or not validly). */
  gatesAt(env: GatedEnvironment, commit: string): Promise<Gates | undefined>;
  runCommand(
    command: GateCommand,
    options: { environment: string; cwd: string; commit: string },
  ): Promise<CommandResult>;
  now(): Date;
}

export interface GatesInForce {
  /**
   * Every gate set in force: the config ref's definition and the one at the deployed commit (one
   * entry when they are equal). All must pass, so neither a commit to the config ref nor the commit
   * being deployed can weaken the gates that judge it.
   */
  sets: Gates[];
  /** How the commit being deployed would change the gates, in lines; empty when it does not. */
  change: string[];
}

export async function gatesInForce(
  ctx: Pick<GatingContext, "gatesAt">,
  env: GatedEnvironment,
  deployed: string | undefined,
  head: string,
): Promise<GatesInForce> {
  const atDeployed = deployed ? await ctx.gatesAt(env, deployed) : undefined;
  const atHead = await ctx.gatesAt(env, head);
  const sets = uniqueSets([env.gates, ...(atDeployed ? [atDeployed] : [])]);
  const change = describeGatesChange(atDeployed ?? env.gates, atHead ?? env.gates);
  return { sets, change };
}

/**
 * The tree digest of the program at `commit`: every stack's project folder and the policy packs
 * (stacksProgramSelection; with one stack, programSelection as before).
 */
export function programTree(
  git: Pick<GatingGit, "treeHash">,
  env: Pick<GatedEnvironment, "project" | "stacks" | "programPolicyPacks">,
  commit: string,
): Promise<string> {
  return git.treeHash(commit, environmentProgram(env));
}

export interface GateEvaluation {
  outcome: Verdict;
  reason: string;
  verdicts: GateVerdict[];
  /** The approvals that count for this plan. */
  approvals: Approval[];
  checks: CommandResult[];
  /** Whether the plan was judged by somebody (approval, protected operations): then the sync applies exactly it (see sync.ts verifyPlan). */
  bound: boolean;
}

/** Runs the check commands the gates need and judges the plan against every gate set in force. */
export async function evaluatePlan(
  ctx: GatingContext,
  env: GatedEnvironment,
  inForce: GatesInForce,
  facts: {
    plan: Plan;
    deployed?: string;
    projectDir: string;
    /** The program tree at the plan's commit (see programTree). */
    programTree: string;
    policy: PolicyViolation[];
  },
): Promise<GateEvaluation> {
  const { plan } = facts;
  const commands = uniqueBy(
    inForce.sets.flatMap((g) => g.checks),
    (c) => `${c.name}\0${c.run}\0${c.timeoutMs}`,
  );
  const checks: CommandResult[] = [];
  for (const command of commands) {
    checks.push(
      await ctx.runCommand(command, { environment: env.name, cwd: facts.projectDir, commit: plan.commit }),
    );
  }
  const authors = await deployedAuthors(ctx.git, facts.deployed, plan.commit);
  const approvals = await ctx.store.approvals(env.name);
  const now = ctx.now();

  const verdicts: GateVerdict[] = [];
  const counted = new Map<string, Approval>();
  let bound = false;
  for (const gates of inForce.sets) {
    const promotionFrom = gates.promotion?.from;
    const result = evaluateGates(gates, {
      plan,
      approvals,
      authors,
      programTree: facts.programTree,
      ...(promotionFrom ? { success: await ctx.store.success(promotionFrom, facts.programTree) } : {}),
      now,
      checks,
      policy: facts.policy,
    });
    for (const verdict of result.verdicts) {
      if (!verdicts.some((v) => v.gate === verdict.gate && v.reason === verdict.reason))
        verdicts.push(verdict);
    }
    for (const approval of result.approvals) counted.set(approval.id, approval);
    bound ||= gates.approval !== undefined || gates.protect?.action === "approve";
  }
  const outcome: Verdict = verdicts.some((v) => v.verdict === "block")
    ? "block"
    : verdicts.some((v) => v.verdict === "wait")
      ? "wait"
      : "pass";
  const reason = verdicts
    .filter((v) => v.verdict !== "pass")
    .map((v) => `${v.gate}: ${v.reason}`)
    .join("; ");
  return { outcome, reason, verdicts, approvals: [...counted.values()], checks, bound };
}

/** Names and emails of the authors of the commits being deployed (for the self-approval rule). */
async function deployedAuthors(
  git: GatingGit,
  deployed: string | undefined,
  head: string,
): Promise<string[]> {
  // Never deployed: only the head's author, not everybody in the repository's history.
  const commits = deployed ? await git.commitsBetween(deployed, head) : [await git.commit(head)];
  return [...new Set(commits.flatMap((c) => [c.author, c.authorEmail]).filter(Boolean))];
}

function uniqueSets(sets: Gates[]): Gates[] {
  return uniqueBy(sets, (g) => JSON.stringify(g));
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Why an approval would not count, checked before it is recorded: an approver not on the list, or
 * an author approving their own change. Undefined when it counts (the gates judge it again anyway).
 */
export async function approvalProblem(
  ctx: GatingContext,
  env: GatedEnvironment,
  candidate: Approval,
  plan: Plan,
  deployed: string | undefined,
  /** With several stacks, each one's deployed commit: the gates at each of them are in force. */
  stacksDeployed: readonly (string | undefined)[] = [],
): Promise<string | undefined> {
  const inForce = await gatesInForce(ctx, env, deployed, plan.commit);
  for (const commit of new Set(stacksDeployed)) {
    if (commit === deployed) continue;
    const more = await gatesInForce(ctx, env, commit, plan.commit);
    inForce.sets = uniqueSets([...inForce.sets, ...more.sets]);
  }
  const authors = await deployedAuthors(ctx.git, deployed, plan.commit);
  const wanted = inForce.sets.some((g) =>
    candidate.scope === "protected" ? g.protect?.action === "approve" : g.approval !== undefined,
  );
  if (!wanted) {
    return candidate.scope === "protected"
      ? `no gate in force for ${env.name} takes an approval of protected operations`
      : `no gate in force for ${env.name} needs an approval`;
  }
  for (const gates of inForce.sets) {
    if (!gates.approval) continue;
    const { counted, verdict } = evaluateApproval(
      { ...gates.approval, required: 1 },
      { plan, approvals: [{ ...candidate, scope: "sync" }], authors },
    );
    if (counted.length === 0) return verdict.reason;
  }
  return undefined;
}
