import { formatDuration } from "./duration";
import { shortCommit } from "./text";
import type { GateVerdict, PromotionGate } from "../domain/gates";

// The promotion gate: the program at the head (its tree, environment-specific stack config
// excluded) must have been deployed successfully in the environment below, and have run there for
// the soak time. Trees, not commits, are compared: merging upwards makes a new commit.

/** Where and since when a program tree succeeded (the store's ProgramSuccess fits). */
export interface PromotionSuccess {
  environment: string;
  /** The commit of the latest success. */
  commit: string;
  programTree: string;
  /** ISO 8601: the first success of this tree there; the soak time counts from it. */
  firstAt: string;
}

export interface PromotionFacts {
  /** The program tree at the commit being deployed. */
  programTree: string;
  /** The success of that tree in `gate.from`, if any. */
  success?: PromotionSuccess;
  now: Date;
}

export function evaluatePromotion(gate: PromotionGate, facts: PromotionFacts): GateVerdict {
  const { success, programTree } = facts;
  const tree = programTree.slice(0, 12);
  if (!success || success.environment !== gate.from || success.programTree !== programTree) {
    return {
      gate: "promotion",
      verdict: "block",
      reason: `this program (tree ${tree}) has never been deployed successfully in ${gate.from}; promote it there first`,
    };
  }
  const where = `succeeded in ${gate.from} at commit ${shortCommit(success.commit)} (first at ${success.firstAt})`;
  const elapsed = facts.now.getTime() - Date.parse(success.firstAt);
  if (gate.soakMs > 0 && !(elapsed >= gate.soakMs)) {
    const left = Math.max(0, gate.soakMs - Math.max(0, elapsed));
    // Rounded up: "0s left" while it is still soaking would read as done.
    const shown = formatDuration(Math.ceil(left / 1000) * 1000);
    return {
      gate: "promotion",
      verdict: "block",
      reason: `${where}; soaking there for ${formatDuration(gate.soakMs)}, ${shown} left`,
    };
  }
  const soaked = gate.soakMs > 0 ? `; soaked ${formatDuration(gate.soakMs)}` : "";
  return { gate: "promotion", verdict: "pass", reason: `${where}${soaked}` };
}
