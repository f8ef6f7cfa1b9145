import * as path from "node:path";
import { stackDependencies } from "../../domain/stacks";

/** A stack another one may read: its project folder (with Pulumi.yaml) and its Pulumi stack. */
export interface StackReferenceTarget {
  projectDir: string;
  stack: string;
}

/** The stack being opened, as the run gives it: its project folder, Pulumi stack, and its environment's stacks. */
export interface OpenedStack {
  /** Project folder relative to the repository root ("." or "stacks/app"). */
  project: string;
  stack: string;
  stacks?: ReadonlyArray<{ name: string; project: string; stack: string; dependsOn: readonly string[] }>;
}

/**
 * The stacks of its own environment that the stack checked out in `projectDir` may read through
 * stack references: those it depends on, directly or through others (applied before it). The
 * environment is the trust boundary (one backend, credentials and secrets provider); no stack of
 * another environment is ever listed.
 */
export function readableStacks(opened: OpenedStack, projectDir: string): StackReferenceTarget[] {
  const stacks = opened.stacks ?? [];
  const self = stacks.find((s) => s.project === opened.project && s.stack === opened.stack);
  if (!self) return [];
  // projectDir is <checkout root>/<project>.
  const root = path.resolve(projectDir, path.relative(path.resolve("/", opened.project), "/"));
  const byName = new Map(stacks.map((s) => [s.name, s]));
  return stackDependencies(stacks, self.name).flatMap((name) => {
    const stack = byName.get(name);
    return stack ? [{ projectDir: path.join(root, stack.project), stack: stack.stack }] : [];
  });
}
