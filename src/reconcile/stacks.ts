import { joinChangeSets } from "../domain/changes";
import { stackDependencies } from "../domain/stacks";
import type { Plan } from "../domain/gates";
import { shortSha } from "../domain/commit";
import { errorLine, errorRecord } from "../domain/errors";
import type { Logger } from "../log";
import { observedStatus } from "./classify";
import type { GatesInForce } from "./gating";
import { programTree } from "./gating";
import { judge } from "./judge";
import {
  checkoutHead,
  observeStack,
  type CheckedOut,
  type EnvironmentObservation,
  type Observation,
  type ObservedFacts,
  type ObserveRequest,
  type ObserveResult,
  type StackObservation,
} from "./observe";
import { recordJudgement, type RunMeta } from "./record";
import type { RunResult, StackRun } from "./report";
import type { RunContext } from "./run";
import { forEachStack, type StackOutcome } from "./stack-order";
import { sync, type SyncOutcome } from "./sync";
import type { RunEnvironment, RunStack, Timed } from "./types";

// A run of an environment of several stacks: one checkout, every stack observed (side by side,
// within the limit), the gates judging the whole plan once, then updates in dependency order.

/** Stacks of one environment previewed or updated at once, unless the context says otherwise. */
const DEFAULT_STACK_LIMIT = 2;

/** The environment as one of its stacks' runs sees it: that stack's project and Pulumi stack. */
export function stackEnvironment(env: RunEnvironment, stack: RunStack): RunEnvironment {
  const ignore = [...(env.drift.ignore ?? []), ...(stack.ignore ?? [])];
  return {
    ...env,
    project: stack.project,
    stack: stack.stack,
    current: stack.name,
    // The environment's expected drift and this stack's own.
    drift: { ...env.drift, ...(ignore.length > 0 ? { ignore } : {}) },
  };
}

export async function runStacks(ctx: RunContext, meta: RunMeta, timed: Timed): Promise<RunResult> {
  const { env, options } = meta;
  const limit = ctx.stackLimit ?? DEFAULT_STACK_LIMIT;
  const facts: ObservedFacts = {};
  let checkedOut: Awaited<ReturnType<typeof checkoutHead>>;
  try {
    checkedOut = await checkoutHead(ctx, env, { timed }, facts);
  } catch (error) {
    return { ended: "observe", observed: { kind: "failed", facts, error } };
  }
  if ("kind" in checkedOut) return { ended: "observe", observed: checkedOut };

  const observed = await observeAll(ctx, meta, timed, checkedOut, limit);
  const deferred = deferredStacks(env.stacks ?? [], observed);
  for (const [name, reason] of deferred) meta.log.info({ stack: name, reason }, "stack deferred");
  const shown = (o: (typeof observed)[number]): StackRun =>
    o.result.kind === "observed"
      ? { stack: o.stack, result: looked(o.result.observation) }
      : deferred.has(o.stack.name)
        ? waiting(o.stack, o.result.facts, deferred.get(o.stack.name)!)
        : { stack: o.stack, result: { ended: "observe", observed: o.result } };
  const stopped = observed.filter((o) => o.result.kind !== "observed" && !deferred.has(o.stack.name));
  if (stopped.length > 0) {
    const combined = combineFacts(
      checkedOut,
      observed.map((o) => observedFactsOf(o.result)),
    );
    const reason = `stack ${stopped[0]!.stack.name} could not be observed; nothing was changed`;
    return {
      ended: "observe",
      observed: { kind: "stopped", facts: combined, status: "Unknown", reason },
      stacks: observed.map(shown),
    };
  }
  const each: StackObservation[] = observed.flatMap(({ stack, env: stackEnv, result }) =>
    result.kind === "observed" ? [{ stack, env: stackEnv, observation: result.observation }] : [],
  );
  const observation = await combineObservations(ctx, env, checkedOut, each, [...deferred.keys()]);
  const judged = await judge(ctx, env, observation, {
    allowSync: options.allowSync,
    ...(options.resolve ? { resolve: options.resolve } : {}),
    timed,
  });
  const judgement = await recordJudgement(ctx, meta, observation, judged);
  if (judgement.kind !== "apply") {
    return { ended: "judge", observation, judgement, stacks: observed.map(shown) };
  }
  await ctx.store.setRunCommit(meta.runId, observation.head);
  const apply: Apply = {
    ctx,
    meta,
    timed,
    checkedOut,
    judgement,
    plans: new Map((judgement.plan.stacks ?? []).map((entry) => [entry.name, entry.plan])),
    updated: new Set<string>(),
    log: meta.log.child({ commit: shortSha(observation.head) }),
  };
  const nodes = observed.map((o) => ({ ...o, name: o.stack.name, dependsOn: o.stack.dependsOn }));
  const outcomes = await timed("sync", () =>
    forEachStack(nodes, { limit, ordered: true }, async (node) => {
      const result =
        node.result.kind === "observed"
          ? await applyStack(apply, node.stack, node.env, node.result.observation)
          : await applyDeferred(apply, node.stack, node.env);
      return { ok: succeeded(result), value: result };
    }),
  );
  const byName = new Map(outcomes.map((outcome) => [outcome.name, outcome]));
  const stackRuns = observed.map((o) => stackRun(o, byName.get(o.stack.name)!, deferred));
  return { ended: "sync", observation, judgement, outcome: combineOutcomes(stackRuns), stacks: stackRuns };
}

/** What the updates of one run share. */
interface Apply {
  ctx: RunContext;
  meta: RunMeta;
  timed: Timed;
  checkedOut: CheckedOut;
  judgement: Extract<RunResult, { ended: "sync" }>["judgement"];
  /** Each stack's own plan, under the environment's digest. */
  plans: Map<string, Plan>;
  /** The stacks this run has updated so far. */
  updated: Set<string>;
  log: Logger;
}

/** One observed stack's update of its judged plan; a stack with nothing to apply is left alone. */
async function applyStack(
  apply: Apply,
  stack: RunStack,
  stackEnv: RunEnvironment,
  observation: Observation,
): Promise<RunResult> {
  const { ctx, meta, judgement, plans, updated, log } = apply;
  const plan = plans.get(stack.name);
  if (!plan || !hasWork(plan)) return looked(observation);
  const upstream = stackDependencies(meta.env.stacks ?? [], stack.name).filter((name) => updated.has(name));
  const outcome = await sync(ctx, {
    env: stackEnv,
    // Its stack references now read what this run deployed upstream: the plan saved before
    // cannot hold it, so a judged plan is previewed again in full (see sync.ts verifyPlan).
    observation: upstream.length > 0 ? previewAgain(observation) : observation,
    judgement: { ...judgement, plan },
    runId: meta.runId,
    log: log.child({ stack: stack.stack }),
  });
  if (outcome.kind === "applied") updated.add(stack.name);
  const said =
    outcome.kind === "blocked" && upstream.length > 0
      ? {
          ...outcome,
          reason: `${outcome.reason} (its plan was previewed before ${upstream.join(", ")}, which this run updated, so this can be expected: its new plan needs its own approval)`,
        }
      : outcome;
  return { ended: "sync", observation, judgement: { ...judgement, plan }, outcome: said };
}

/**
 * A stack whose preview had to wait for the stacks it depends on, now deployed: previewed now and
 * judged on its own plan. A plan somebody must judge (an approval, protected operations) is never
 * applied here: the environment's next plan, with this stack's changes in it, is approved as usual.
 */
async function applyDeferred(apply: Apply, stack: RunStack, stackEnv: RunEnvironment): Promise<RunResult> {
  const { ctx, meta, timed, checkedOut, judgement, log } = apply;
  const observed = await observeStack(ctx, stackEnv, stackRequest(meta, timed, stack, "again"), checkedOut);
  if (observed.kind !== "observed") return { ended: "observe", observed };
  const { observation } = observed;
  if (judgement.gates.bound) {
    return {
      ended: "judge",
      observation,
      judgement: {
        kind: "stop",
        status: "AwaitingApproval",
        reason:
          "its changes could be previewed only once the stacks it depends on were deployed; approve the environment's next plan, which shows them",
      },
    };
  }
  const judged = await judge(ctx, stackEnv, observation, {
    allowSync: meta.options.allowSync,
    ...(meta.options.resolve ? { resolve: meta.options.resolve } : {}),
    timed,
  });
  const own = await recordJudgement(ctx, meta, observation, judged);
  if (own.kind !== "apply") return { ended: "judge", observation, judgement: own };
  if (!hasWork(own.plan)) return looked(observation);
  const outcome = await sync(ctx, {
    env: stackEnv,
    observation,
    judgement: own,
    runId: meta.runId,
    log: log.child({ stack: stack.stack }),
  });
  if (outcome.kind === "applied") apply.updated.add(stack.name);
  return { ended: "sync", observation, judgement: own, outcome };
}

/** Whether a stack's part of the run lets the stacks depending on it go on. */
function succeeded(result: RunResult): boolean {
  if (result.ended === "sync") return result.outcome.kind === "applied";
  if (result.ended === "judge") return result.judgement.kind === "stop" && isSettled(result.judgement.status);
  return false;
}

/** A stack left alone because it had nothing to apply. */
function isSettled(status: string): boolean {
  return status === "Synced" || status === "Drifted";
}

/**
 * Stacks whose preview failed while a stack they depend on has changes to deploy (or waits
 * itself): most often a stack reference to outputs not deployed yet (a stack never deployed has
 * none). Such a stack is previewed again once those are deployed; the reason keeps the failure.
 */
function deferredStacks(
  stacks: readonly RunStack[],
  observed: readonly { stack: RunStack; result: ObserveResult }[],
): Map<string, string> {
  const byName = new Map(observed.map((o) => [o.stack.name, o.result]));
  const deferred = new Map<string, string>();
  for (const stack of stacks) {
    const result = byName.get(stack.name);
    if (result?.kind !== "failed") continue;
    const waitsOn = stackDependencies(stacks, stack.name).filter((name) => {
      const upstream = byName.get(name);
      const pending =
        upstream?.kind === "observed" ? (upstream.observation.pending?.resources.length ?? 0) : 0;
      return pending > 0 || deferred.has(name);
    });
    if (waitsOn.length === 0) continue;
    const why = errorLine(errorRecord(result.error));
    deferred.set(
      stack.name,
      `previewed once ${waitsOn.join(", ")} ${waitsOn.length === 1 ? "is" : "are"} deployed: its preview failed before (${why})`,
    );
  }
  return deferred;
}

/** A deferred stack as a run that did not update it shows it. */
function waiting(stack: RunStack, facts: ObservedFacts, reason: string): StackRun {
  return {
    stack,
    result: { ended: "observe", observed: { kind: "stopped", facts, status: "OutOfSync", reason } },
    deferred: reason,
  };
}

/** Every stack observed at the environment's head, at most `limit` at once. */
async function observeAll(
  ctx: RunContext,
  meta: RunMeta,
  timed: Timed,
  checkedOut: CheckedOut,
  limit: number,
): Promise<{ stack: RunStack; env: RunEnvironment; result: ObserveResult }[]> {
  const { env } = meta;
  const stacks = env.stacks ?? [];
  const outcomes = await forEachStack(stacks, { limit, ordered: false }, async (stack) => {
    const result = await observeStack(
      ctx,
      stackEnvironment(env, stack),
      stackRequest(meta, timed, stack),
      checkedOut,
    );
    return { ok: true, value: result };
  });
  return outcomes.map((outcome) => {
    const stack = stacks.find((s) => s.name === outcome.name)!;
    // observeStack never throws: a failure is its result.
    const result = "value" in outcome && outcome.value ? outcome.value : failedObserve(outcome);
    return { stack, env: stackEnvironment(env, stack), result };
  });
}

/** How one stack of the run is observed; `again` names the stages of a deferred stack's second look. */
function stackRequest(meta: RunMeta, timed: Timed, stack: RunStack, again?: "again"): ObserveRequest {
  const prefix = again ? `${stack.name}.${again}` : stack.name;
  return {
    kind: meta.options.kind,
    ...(meta.options.allowSync ? { savePlan: true } : {}),
    log: meta.log.child({ stack: stack.stack }),
    // Each stack's stages under its own name, since the stacks' stages overlap.
    timed: (stage, work) => timed(`${prefix}.${stage}`, work),
  };
}

function failedObserve(outcome: StackOutcome<ObserveResult>): ObserveResult {
  const error =
    outcome.kind === "failed" ? outcome.error : new Error(`stack ${outcome.name} was not observed`);
  return { kind: "failed", facts: {}, error };
}

function observedFactsOf(result: ObserveResult): ObservedFacts {
  return result.kind === "observed" ? result.observation : result.facts;
}

/** A stack observed but not synced: its status is what was observed. */
function looked(observation: EnvironmentObservation, reason?: string): RunResult {
  return {
    ended: "judge",
    observation,
    judgement: {
      kind: "stop",
      status: observedStatus(observation.pending, observation.drift),
      ...(reason ? { reason } : {}),
    },
  };
}

/** Whether a stack's plan has anything for an update or a refresh to do. */
function hasWork(plan: Plan): boolean {
  const pending = plan.pending?.resources.length ?? 0;
  const drift = plan.drift?.resources.length ?? 0;
  return pending > 0 || ((plan.remediate || plan.resolve !== undefined) && drift > 0);
}

function stackRun(
  o: { stack: RunStack; result: ObserveResult },
  outcome: StackOutcome<RunResult>,
  deferred: Map<string, string>,
): StackRun {
  const { stack } = o;
  if (outcome.kind === "skipped") {
    const reason = `not applied: it depends on stack ${outcome.because}, which did not apply`;
    return o.result.kind === "observed"
      ? { stack, result: looked(o.result.observation, reason), waitedOn: outcome.because }
      : { ...waiting(stack, o.result.facts, deferred.get(stack.name) ?? reason), waitedOn: outcome.because };
  }
  if (outcome.value) return { stack, result: outcome.value };
  // The work threw (it catches what it expects): the stack failed, with what it knew.
  const facts = o.result.kind === "observed" ? o.result.observation : o.result.facts;
  const error =
    outcome.kind === "failed" ? outcome.error : new Error(`stack ${stack.name} ended without a result`);
  return { stack, result: { ended: "observe", observed: { kind: "failed", facts, error } } };
}

/**
 * The environment's sync outcome: applied when every stack applied or had nothing to apply (then
 * the head is deployed everywhere); otherwise the first stack that did not, named.
 */
function combineOutcomes(stacks: readonly StackRun[]): SyncOutcome {
  const applied: Extract<SyncOutcome, { kind: "applied" }>[] = [];
  for (const { stack, result, waitedOn } of stacks) {
    if (waitedOn !== undefined) return { kind: "skipped", reason: `stack ${stack.name} was not started` };
    if (result.ended === "sync") {
      const { outcome } = result;
      if (outcome.kind === "applied") applied.push(outcome);
      else if (outcome.kind === "failed") return outcome;
      else return { ...outcome, reason: `stack ${stack.name}: ${outcome.reason}` };
    } else if (!succeeded(result)) {
      const reason = result.ended === "judge" ? result.judgement.kind : result.observed.kind;
      return { kind: "skipped", reason: `stack ${stack.name} was not applied (${reason})` };
    }
  }
  const summary: Record<string, number> = {};
  for (const outcome of applied) {
    for (const [op, count] of Object.entries(outcome.sync.summary ?? {}))
      summary[op] = (summary[op] ?? 0) + count;
  }
  const closed = applied.find((o) => o.sync.windowClosedDuringUpdate)?.sync.windowClosedDuringUpdate;
  const after = joinChangeSets(applied.map((o) => o.after));
  const driftLeft = joinChangeSets(applied.map((o) => o.driftLeft));
  return {
    kind: "applied",
    sync: { applied: true, summary, ...(closed ? { windowClosedDuringUpdate: closed } : {}) },
    ...(after ? { after } : {}),
    ...(driftLeft ? { driftLeft } : {}),
  };
}

/** What the stacks' observations say together: facts joined, for a run that stopped observing. */
function combineFacts(checkedOut: CheckedOut, all: readonly ObservedFacts[]): ObservedFacts {
  const pending = joinChangeSets(all.map((f) => f.pending));
  const drift = joinChangeSets(all.map((f) => f.drift));
  const policy = all.flatMap((f) => f.policy ?? []);
  const gatesChange = [...new Set(all.flatMap((f) => f.gatesChange ?? []))];
  const ignored = all.flatMap((f) => (f.ignoredDrift ? [f.ignoredDrift] : []));
  const deployed = [...new Set(all.map((f) => f.deployedCommit).filter((c): c is string => !!c))];
  return {
    head: checkedOut.head,
    desired: checkedOut.desired,
    ...(deployed.length === 1 ? { deployedCommit: deployed[0]! } : {}),
    ...(pending ? { pending } : {}),
    ...(drift ? { drift } : {}),
    ...(all.some((f) => f.policy) ? { policy } : {}),
    ...(gatesChange.length > 0 ? { gatesChange } : {}),
    ...(ignored.length > 0
      ? {
          ignoredDrift: {
            properties: ignored.flatMap((i) => i.properties),
            expiredRules: ignored.flatMap((i) => i.expiredRules),
          },
        }
      : {}),
  };
}

/**
 * The environment's observation: every stack's facts joined, the gate sets in force of all of them
 * (stacks may stand on different deployed commits after a partial failure: the strictest apply),
 * the oldest deployed commit (whose authors the self-approval rule must see), and the program tree
 * when nothing is pending anywhere.
 */
async function combineObservations(
  ctx: RunContext,
  env: RunEnvironment,
  checkedOut: CheckedOut,
  each: readonly StackObservation[],
  deferred: readonly string[],
): Promise<EnvironmentObservation> {
  const observations = each.map((e) => e.observation);
  const facts = combineFacts(checkedOut, observations);
  const deployedCommit = await oldest(
    ctx,
    observations.map((o) => o.deployedCommit),
  );
  const sets = new Map<string, GatesInForce["sets"][number]>();
  for (const o of observations) for (const set of o.inForce.sets) sets.set(JSON.stringify(set), set);
  const change = [...new Set(observations.flatMap((o) => o.inForce.change))];
  const unchanged = deferred.length === 0 && observations.every((o) => o.programTree !== undefined);
  const tree = unchanged ? await programTree(ctx.git, env, checkedOut.head) : undefined;
  return {
    ...facts,
    ...(deployedCommit ? { deployedCommit } : {}),
    head: checkedOut.head,
    desired: checkedOut.desired,
    drift: facts.drift ?? { kind: "drift", resources: [] },
    inForce: { sets: [...sets.values()], change },
    ...(tree ? { programTree: tree } : {}),
    workDir: checkedOut.workDir,
    projectDir: checkedOut.workDir,
    stacks: [...each],
    ...(deferred.length > 0 ? { deferred: [...deferred] } : {}),
  };
}

/**
 * The oldest of the stacks' deployed commits (each is an ancestor of the head, or the run stopped),
 * so that the commits being deployed cover every stack's; undefined when none was ever deployed.
 */
async function oldest(
  ctx: RunContext,
  commits: readonly (string | undefined)[],
): Promise<string | undefined> {
  const unique = [...new Set(commits.filter((c): c is string => c !== undefined))];
  for (const candidate of unique) {
    const before = await Promise.all(
      unique.map((other) =>
        other === candidate ? Promise.resolve(true) : ctx.git.isAncestor(candidate, other),
      ),
    );
    if (before.every(Boolean)) return candidate;
  }
  return unique[0];
}

/** A stack's observation without the saved update plan and checkpoint: a sync previews it again. */
function previewAgain(observation: Observation): Observation {
  const { savePlan: _saved, ...previewOptions } = observation.previewOptions;
  const { checkpoint: _checkpoint, ...rest } = observation;
  return { ...rest, previewOptions };
}
