import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json";
import { joinChangeSets } from "./changes";
import type { Plan } from "./gates";
import type { EnvironmentStatus } from "./model";

// The stacks of one environment and the order between them: which may run side by side, which
// wait for which, and what a failure stops. Pure, so the config checks and the run share it.

/** One stack of an environment, as far as ordering goes. */
export interface StackNode {
  name: string;
  /** Names of stacks of the same environment that must be applied first. */
  dependsOn: readonly string[];
}

/**
 * A dependency cycle among the stacks, as the names along it with the first repeated at the end
 * ("a → b → a"), or undefined when there is none. Unknown names in dependsOn are ignored here
 * (the config reports them on their own).
 */
export function findStackCycle(stacks: readonly StackNode[]): string[] | undefined {
  const byName = new Map(stacks.map((stack) => [stack.name, stack]));
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const at = path.indexOf(name);
    if (at >= 0) return [...path.slice(at), name];
    if (done.has(name)) return undefined;
    const stack = byName.get(name);
    if (!stack) return undefined;
    path.push(name);
    for (const next of stack.dependsOn) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(name);
    return undefined;
  };
  for (const stack of stacks) {
    const cycle = visit(stack.name);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * The stacks in layers: each layer's stacks depend only on those of earlier layers, so a layer's
 * stacks may run side by side. Within a layer the stacks keep their written order. Throws on a
 * cycle or an unknown dependency (a resolved configuration has neither).
 */
export function stackLayers<T extends StackNode>(stacks: readonly T[]): T[][] {
  const names = new Set(stacks.map((stack) => stack.name));
  for (const stack of stacks) {
    const unknown = stack.dependsOn.find((name) => !names.has(name));
    if (unknown !== undefined) throw new Error(`stack ${stack.name} depends on unknown stack ${unknown}`);
  }
  const placed = new Set<string>();
  const layers: T[][] = [];
  let rest = [...stacks];
  while (rest.length > 0) {
    const layer = rest.filter((stack) => stack.dependsOn.every((name) => placed.has(name)));
    if (layer.length === 0) {
      const cycle = findStackCycle(rest) ?? rest.map((stack) => stack.name);
      throw new Error(`the stacks depend on each other in a cycle: ${cycle.join(" → ")}`);
    }
    for (const stack of layer) placed.add(stack.name);
    layers.push(layer);
    rest = rest.filter((stack) => !placed.has(stack.name));
  }
  return layers;
}

/** Every stack that depends on `failed`, directly or through others: what a failure of it stops. */
export function stackDependents(stacks: readonly StackNode[], failed: string): string[] {
  const stopped = new Set<string>([failed]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const stack of stacks) {
      if (stopped.has(stack.name) || !stack.dependsOn.some((name) => stopped.has(name))) continue;
      stopped.add(stack.name);
      grew = true;
    }
  }
  return stacks.map((stack) => stack.name).filter((name) => name !== failed && stopped.has(name));
}

/**
 * Every stack `name` depends on, directly or through others, in the written order: the stacks
 * applied before it, so the ones whose outputs it may read through stack references.
 */
export function stackDependencies(stacks: readonly StackNode[], name: string): string[] {
  const byName = new Map(stacks.map((stack) => [stack.name, stack]));
  const needed = new Set<string>();
  const visit = (at: string): void => {
    for (const next of byName.get(at)?.dependsOn ?? []) {
      if (needed.has(next)) continue;
      needed.add(next);
      visit(next);
    }
  };
  visit(name);
  needed.delete(name);
  return stacks.map((stack) => stack.name).filter((other) => needed.has(other));
}

/** One stack's plan within an environment's plan. */
export interface StackPlan {
  /** The stack's name in the environment definition. */
  name: string;
  plan: Plan;
}

/**
 * The digest of an environment's whole plan, what an approval binds to. With one stack it is that
 * stack's own plan digest, unchanged, so approvals and reports of one-stack environments keep
 * their digests. With several it covers every stack's digest under its name (each already covers
 * the environment, commit, changes, drift and resolution), so a change in any stack's preview, a
 * stack added or removed, gives another digest.
 */
export function environmentPlanDigest(stacks: readonly StackPlan[]): string {
  if (stacks.length === 0) throw new Error("an environment's plan needs at least one stack");
  if (stacks.length === 1) return stacks[0]!.plan.digest;
  const environments = new Set(stacks.map((stack) => stack.plan.environment));
  const commits = new Set(stacks.map((stack) => stack.plan.commit));
  if (environments.size !== 1 || commits.size !== 1) {
    throw new Error("an environment's plan covers one environment at one commit");
  }
  const canonical = {
    environment: stacks[0]!.plan.environment,
    commit: stacks[0]!.plan.commit,
    stacks: [...stacks]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((stack) => ({ name: stack.name, digest: stack.plan.digest })),
  };
  return `sha256:${createHash("sha256").update(canonicalJson(canonical)).digest("hex")}`;
}

/**
 * An environment's whole plan, what its gates judge: every stack's pending changes and drift in
 * one change set each (a URN names its project and stack, so resources never collide), remediate
 * when any stack's update would restore drift, and the digest over every stack. With one stack it
 * is that stack's plan, unchanged. `stacks` keeps each stack's own plan for the updates.
 */
export function combinePlans(stacks: readonly StackPlan[]): Plan & { stacks?: StackPlan[] } {
  const digest = environmentPlanDigest(stacks);
  if (stacks.length === 1) return stacks[0]!.plan;
  const plans = stacks.map((stack) => stack.plan);
  const resolutions = new Set(plans.map((plan) => plan.resolve));
  if (resolutions.size !== 1) throw new Error("an environment's stacks are resolved the same way in one run");
  const [resolve] = resolutions;
  const pending = joinChangeSets(plans.map((plan) => plan.pending));
  const drift = joinChangeSets(plans.map((plan) => plan.drift));
  return {
    environment: plans[0]!.environment,
    stack: stacks.map((stack) => stack.name).join(", "),
    commit: plans[0]!.commit,
    digest,
    ...(pending ? { pending } : {}),
    ...(drift ? { drift } : {}),
    remediate: plans.some((plan) => plan.remediate),
    ...(resolve ? { resolve } : {}),
    stacks: [...stacks],
  };
}

/** One stack's status, as the roll-up reads it. */
export interface StackStatus {
  name: string;
  status: EnvironmentStatus;
  reason?: string;
}

/**
 * Statuses from most to least in need of a person: the worst of an environment's stacks is the
 * environment's. Unknown ranks just above Synced: nothing known is wrong, but nothing is known.
 */
const SEVERITY: readonly EnvironmentStatus[] = [
  "Stalled",
  "Failed",
  "Interrupted",
  "Blocked",
  "AwaitingApproval",
  "Progressing",
  "OutOfSync+Drifted",
  "Drifted",
  "OutOfSync",
  "Unknown",
  "Synced",
];

/**
 * An environment's status from its stacks': the worst wins, and the reason names the stack (and
 * how many others share that status). One stack pending and another drifted make
 * OutOfSync+Drifted, as one stack with both would.
 */
export function rollUpStatus(stacks: readonly StackStatus[]): { status: EnvironmentStatus; reason?: string } {
  if (stacks.length === 0) return { status: "Unknown", reason: "no stacks" };
  if (stacks.length === 1) {
    const only = stacks[0]!;
    return { status: only.status, ...(only.reason === undefined ? {} : { reason: only.reason }) };
  }
  const rank = (status: EnvironmentStatus) => SEVERITY.indexOf(status);
  const worst = [...stacks].sort((a, b) => rank(a.status) - rank(b.status))[0]!;
  if (worst.status === "Synced") return { status: "Synced" };
  const has = (status: EnvironmentStatus) => stacks.some((stack) => stack.status === status);
  if ((worst.status === "Drifted" && has("OutOfSync")) || (worst.status === "OutOfSync" && has("Drifted"))) {
    const pending = stacks.filter((stack) => stack.status === "OutOfSync").map((stack) => stack.name);
    const drifted = stacks.filter((stack) => stack.status === "Drifted").map((stack) => stack.name);
    return {
      status: "OutOfSync+Drifted",
      reason: `pending changes in ${pending.join(", ")}; drift in ${drifted.join(", ")}`,
    };
  }
  const same = stacks.filter((stack) => stack.status === worst.status);
  const others = same.length - 1;
  const also = others === 0 ? "" : ` (and ${others} other stack${others === 1 ? "" : "s"})`;
  const why = worst.reason === undefined ? "" : `: ${worst.reason}`;
  return { status: worst.status, reason: `stack ${worst.name}${also}${why}` };
}
