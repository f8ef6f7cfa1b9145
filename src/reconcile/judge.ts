import type { GateEvaluation, GatingContext } from "./gating";
import { evaluatePlan, programTree } from "./gating";
import type { DriftResolution, Plan, SyncWindow } from "../domain/gates";
import type { EnvironmentStatus } from "../domain/model";
import { makePlan } from "../domain/plan";
import { decideResolution, decideSync, observedStatus } from "./classify";
import type { EnvironmentObservation, Observation } from "./observe";
import { combinePlans } from "../domain/stacks";
import type { RunEnvironment, Timed } from "./types";

export type JudgeContext = GatingContext;

export interface JudgeRequest {
  /** Let the gates and policy sync or remediate; false reports only. */
  allowSync: boolean;
  /** A person's restore or accept of drift, judged as its own plan (see decideResolution). */
  resolve?: DriftResolution;
  timed: Timed;
}

export type Judgement =
  /** Nothing is applied: the status and why (the plan and the gates' verdicts when they were reached). */
  | { kind: "stop"; status: EnvironmentStatus; reason?: string; plan?: Plan; gates?: GateEvaluation }
  /** Every gate passes and a sync may apply this plan. */
  | {
      kind: "apply";
      plan: Plan;
      gates: GateEvaluation;
      /** The head's program tree: a successful sync records it. */
      programTree: string;
      /** The sync windows in force, to say whether one closed while the update ran. */
      windows: SyncWindow[];
    }
  | { kind: "failed"; error: unknown; plan?: Plan };

/**
 * classify → plan and digest → gates. What an update of the head would do, as the gates judge it
 * and approvals bind to it.
 */
export async function judge(
  ctx: JudgeContext,
  env: RunEnvironment,
  observation: EnvironmentObservation,
  request: JudgeRequest,
): Promise<Judgement> {
  const { pending, drift, head } = observation;
  const { resolve } = request;
  const decision = resolve
    ? decideResolution(resolve, pending, drift)
    : decideSync({ drift: env.drift.policy }, pending, drift);
  if (!decision.sync) {
    return {
      kind: "stop",
      status: observedStatus(pending, drift),
      ...(decision.reason ? { reason: decision.reason } : {}),
    };
  }
  // An accept applies nothing of the program: its plan is the drift at the deployed commit.
  const accept = resolve === "accept-drift";
  const commit = accept ? (observation.deployedCommit ?? head) : head;
  const plan = observation.stacks
    ? stacksPlan(env, observation, commit, decision.remediate, accept, resolve)
    : planOf(env, commit, decision.remediate, accept ? undefined : pending, drift, resolve);
  try {
    const tree =
      commit === head && observation.programTree
        ? observation.programTree
        : await programTree(ctx.git, env, commit);
    const gates = await request.timed("judge", () =>
      evaluatePlan(ctx, env, observation.inForce, {
        plan,
        deployed: observation.deployedCommit,
        projectDir: observation.projectDir,
        programTree: tree,
        policy: observation.policy ?? [],
      }),
    );
    if (gates.outcome === "block")
      return { kind: "stop", status: "Blocked", reason: gates.reason, plan, gates };
    if (gates.outcome === "wait") {
      return { kind: "stop", status: "AwaitingApproval", reason: gates.reason, plan, gates };
    }
    if (!request.allowSync) {
      return {
        kind: "stop",
        status: observedStatus(pending, drift),
        reason: "every gate passes; a sync would apply this plan",
        plan,
        gates,
      };
    }
    const windows = observation.inForce.sets.flatMap((g) => g.windows);
    return { kind: "apply", plan, gates, programTree: tree, windows };
  } catch (error) {
    return { kind: "failed", error, plan };
  }
}

/** The plan an update of `head` would apply: what the gates judge and approvals bind to. */
export function planOf(
  env: Pick<RunEnvironment, "name" | "stack">,
  head: string,
  remediate: boolean,
  pending: Observation["pending"],
  drift: Observation["drift"],
  resolve?: DriftResolution,
): Plan {
  return makePlan({
    environment: env.name,
    stack: env.stack,
    commit: head,
    ...(pending ? { pending } : {}),
    drift,
    remediate,
    ...(resolve ? { resolve } : {}),
  });
}

/**
 * The plan of an environment of several stacks: each stack's own plan (a remediation updates only
 * the stacks that drifted), combined under one digest (see combinePlans).
 */
function stacksPlan(
  env: RunEnvironment,
  { stacks = [], deferred = [] }: EnvironmentObservation,
  commit: string,
  remediate: boolean,
  accept: boolean,
  resolve: DriftResolution | undefined,
): Plan {
  // A stack previewed only later is in the digest by name: what it changes is judged when known.
  const later = deferred.map((name) => ({
    name,
    plan: planOf({ name: env.name, stack: `${name} (previewed later)` }, commit, false, undefined, {
      kind: "drift" as const,
      resources: [],
    }),
  }));
  return combinePlans([
    ...later,
    ...stacks.map(({ stack, env, observation }) => ({
      name: stack.name,
      plan: planOf(
        env,
        commit,
        remediate && observation.drift.resources.length > 0,
        accept ? undefined : observation.pending,
        observation.drift,
        resolve,
      ),
    })),
  ]);
}
