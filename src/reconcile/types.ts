import type { DriftResolution, Gates } from "../domain/gates";
import type { DriftIgnoreRule } from "../domain/ignore";
import type { RunKind, Timings } from "../domain/model";
import { inSpan } from "./trace";

/** The part of an environment definition a run needs. */
export interface RunEnvironment {
  name: string;
  branch: string;
  stack: string;
  /** Pulumi project folder, relative to the repository root. */
  project: string;
  /** Every stack, in dependency order; absent or one: the project and stack above (see ResolvedStack). */
  stacks?: readonly RunStack[];
  /** With several stacks, the one this part of the run is about (see stackEnvironment). */
  current?: string;
  sync: { policy: "auto" | "gated" };
  /** ignore: expected drift, from the definition at the config ref; absent: none. */
  drift: { policy: "report" | "remediate"; ignore?: readonly DriftIgnoreRule[] };
  /** The gates of the definition at the config ref; see gatesInForce for the ones that apply. */
  gates: Gates;
}

/** One Pulumi stack of an environment of several. */
export interface RunStack {
  name: string;
  project: string;
  stack: string;
  dependsOn: readonly string[];
  /** Drift this stack expects besides the environment's rules. */
  ignore?: readonly DriftIgnoreRule[];
}

export interface RunOptions {
  /** "check": poll, pending changes and drift; "drift": drift only; "sync": as check, then sync. */
  kind: RunKind;
  trigger: string;
  /** Who asked, for the audit log: the person for a CLI command; default the engine itself. */
  actor?: string;
  /** Let the environment's gates and policy sync or remediate; false reports only. */
  allowSync: boolean;
  /** A person's one-off way out of drift for this run, whatever the drift policy (see decideResolution). */
  resolve?: DriftResolution;
}

/** Runs one stage of a run and keeps how long it took under `stage` in the run's timings. */
export type Timed = <T>(stage: string, work: () => Promise<T>) => Promise<T>;

/** A run's stage timer: `timed` fills `timings` (milliseconds per stage, rounded). */
export function stageTimer(): { timings: Timings; timed: Timed } {
  const timings: Timings = {};
  const timed: Timed = async (stage, work) => {
    const start = performance.now();
    // Keyed at the start, so stages that overlap keep the order they began in.
    timings[stage] ??= 0;
    try {
      // Each stage is a child span of the run's (see reconcile/trace.ts).
      return await inSpan(`tidegate.${stage}`, { "tidegate.phase": stage }, () => work());
    } finally {
      timings[stage] = Math.round(performance.now() - start);
    }
  };
  return { timings, timed };
}
