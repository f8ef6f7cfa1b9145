import type { ChangeSet } from "../domain/changes";
import type { Plan } from "../domain/gates";
import { shortSha } from "../domain/commit";
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
  return { ...env, project: stack.project, stack: stack.stack, current: stack.name };
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
  const stopped = observed.filter((o) => o.result.kind !== "observed");
  if (stopped.length > 0) {
    const combined = combineFacts(
      checkedOut,
      observed.map((o) => observedFactsOf(o.result)),
    );
    const stackRuns: StackRun[] = observed.map(({ stack, result }) =>
      result.kind === "observed"
        ? { stack, result: looked(result.observation) }
        : { stack, result: { ended: "observe", observed: result } },
    );
    const first = stopped[0]!;
    const reason = `stack ${first.stack.name} could not be observed; nothing was changed`;
    return {
      ended: "observe",
      observed: { kind: "stopped", facts: combined, status: "Unknown", reason },
      stacks: stackRuns,
    };
  }
  const each: StackObservation[] = observed.map(({ stack, env: stackEnv, result }) => ({
    stack,
    env: stackEnv,
    observation: (result as Extract<ObserveResult, { kind: "observed" }>).observation,
  }));
  const observation = await combineObservations(ctx, env, checkedOut, each);
  const judged = await judge(ctx, env, observation, {
    allowSync: options.allowSync,
    ...(options.resolve ? { resolve: options.resolve } : {}),
    timed,
  });
  const judgement = await recordJudgement(ctx, meta, observation, judged);
  if (judgement.kind !== "apply") {
    const stacksRun = each.map(({ stack, observation: o }) => ({ stack, result: looked(o) }));
    return { ended: "judge", observation, judgement, stacks: stacksRun };
  }
  await ctx.store.setRunCommit(meta.runId, observation.head);
  const plans = new Map((judgement.plan.stacks ?? []).map((entry) => [entry.name, entry.plan]));
  const log = meta.log.child({ commit: shortSha(observation.head) });
  const nodes = each.map((entry) => ({ ...entry, name: entry.stack.name, dependsOn: entry.stack.dependsOn }));
  const updated = new Set<string>();
  const outcomes = await timed("sync", () =>
    forEachStack(nodes, { limit, ordered: true }, async ({ stack, env: stackEnv, observation: o }) => {
      const plan = plans.get(stack.name);
      if (!plan || !hasWork(plan)) return { ok: true, value: undefined as SyncOutcome | undefined };
      const upstream = stackAncestors(env.stacks ?? [], stack.name).filter((name) => updated.has(name));
      const outcome = await sync(ctx, {
        env: stackEnv,
        // Its stack references now read what this run deployed upstream: the plan saved before
        // cannot hold it, so a judged plan is previewed again in full (see sync.ts verifyPlan).
        observation: upstream.length > 0 ? previewAgain(o) : o,
        judgement: { ...judgement, plan },
        runId: meta.runId,
        log: log.child({ stack: stack.stack }),
      });
      if (outcome.kind === "applied") updated.add(stack.name);
      const value =
        outcome.kind === "blocked" && upstream.length > 0
          ? {
              ...outcome,
              reason: `${outcome.reason} (its plan was previewed before ${upstream.join(", ")}, which this run updated, so this can be expected: its new plan needs its own approval)`,
            }
          : outcome;
      return { ok: value.kind === "applied", value: value as SyncOutcome | undefined };
    }),
  );
  const byName = new Map(outcomes.map((outcome) => [outcome.name, outcome]));
  const stackRuns = each.map((entry) => stackRun(entry, byName.get(entry.stack.name)!, judgement, plans));
  return { ended: "sync", observation, judgement, outcome: combineOutcomes(stackRuns), stacks: stackRuns };
}

/** Every stack observed at the environment's head, at most `limit` at once. */
async function observeAll(
  ctx: RunContext,
  meta: RunMeta,
  timed: Timed,
  checkedOut: CheckedOut,
  limit: number,
): Promise<{ stack: RunStack; env: RunEnvironment; result: ObserveResult }[]> {
  const { env, options } = meta;
  const stacks = env.stacks ?? [];
  const outcomes = await forEachStack(stacks, { limit, ordered: false }, async (stack) => {
    const stackEnv = stackEnvironment(env, stack);
    const result = await observeStack(
      ctx,
      stackEnv,
      {
        kind: options.kind,
        ...(options.allowSync ? { savePlan: true } : {}),
        log: meta.log.child({ stack: stack.stack }),
        // Each stack's stages under its own name, since the stacks' stages overlap.
        timed: (stage, work) => timed(`${stack.name}.${stage}`, work),
      },
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
  { stack, observation }: StackObservation,
  outcome: StackOutcome<SyncOutcome | undefined>,
  judgement: Extract<RunResult, { ended: "sync" }>["judgement"],
  plans: Map<string, Plan>,
): StackRun {
  if (outcome.kind === "skipped") {
    return {
      stack,
      result: looked(observation, `not applied: it depends on stack ${outcome.because}, which did not apply`),
      waitedOn: outcome.because,
    };
  }
  const value: SyncOutcome | undefined =
    outcome.kind === "failed" && outcome.value === undefined
      ? { kind: "failed", error: outcome.error }
      : outcome.value;
  if (!value) return { stack, result: looked(observation) };
  const plan = plans.get(stack.name) ?? judgement.plan;
  return { stack, result: { ended: "sync", observation, judgement: { ...judgement, plan }, outcome: value } };
}

/**
 * The environment's sync outcome: applied when every stack applied or had nothing to apply (then
 * the head is deployed everywhere); otherwise the first stack that did not, named.
 */
function combineOutcomes(stacks: readonly StackRun[]): SyncOutcome {
  const synced = stacks.flatMap(({ stack, result }) =>
    result.ended === "sync" ? [{ name: stack.name, outcome: result.outcome }] : [],
  );
  const notApplied = synced.find((s) => s.outcome.kind !== "applied");
  if (notApplied) {
    const { name, outcome } = notApplied;
    if (outcome.kind === "failed") return outcome;
    if (outcome.kind === "applied") throw new Error("unreachable");
    return { ...outcome, reason: `stack ${name}: ${outcome.reason}` };
  }
  if (stacks.some((s) => s.waitedOn !== undefined)) {
    return { kind: "skipped", reason: "some stacks were not started" };
  }
  const applied = synced.flatMap((s) => (s.outcome.kind === "applied" ? [s.outcome] : []));
  const summary: Record<string, number> = {};
  for (const outcome of applied) {
    for (const [op, count] of Object.entries(outcome.sync.summary ?? {}))
      summary[op] = (summary[op] ?? 0) + count;
  }
  const closed = applied.find((o) => o.sync.windowClosedDuringUpdate)?.sync.windowClosedDuringUpdate;
  const after = mergeSets(applied.map((o) => o.after));
  const driftLeft = mergeSets(applied.map((o) => o.driftLeft));
  return {
    kind: "applied",
    sync: { applied: true, summary, ...(closed ? { windowClosedDuringUpdate: closed } : {}) },
    ...(after ? { after } : {}),
    ...(driftLeft ? { driftLeft } : {}),
  };
}

function mergeSets(sets: readonly (ChangeSet | undefined)[]): ChangeSet | undefined {
  const present = sets.filter((set): set is ChangeSet => set !== undefined);
  if (present.length === 0) return undefined;
  return { kind: present[0]!.kind, resources: present.flatMap((set) => set.resources) };
}

/** What the stacks' observations say together: facts joined, for a run that stopped observing. */
function combineFacts(checkedOut: CheckedOut, all: readonly ObservedFacts[]): ObservedFacts {
  const pending = mergeSets(all.map((f) => f.pending));
  const drift = mergeSets(all.map((f) => f.drift));
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
  const unchanged = observations.every((o) => o.programTree !== undefined);
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

/** Every stack `name` depends on, directly or through others. */
function stackAncestors(stacks: readonly RunStack[], name: string): string[] {
  const byName = new Map(stacks.map((stack) => [stack.name, stack]));
  const found = new Set<string>();
  const visit = (current: string) => {
    for (const dep of byName.get(current)?.dependsOn ?? []) {
      if (found.has(dep)) continue;
      found.add(dep);
      visit(dep);
    }
  };
  visit(name);
  return [...found];
}
