import type { ChangeSet, ResourceChange } from "../domain/changes";
import { judgeApprovals } from "./approval";
import { listOf } from "./text";
import type { Approval, GateVerdict, Plan, ProtectedOperations } from "../domain/gates";

// Protected operations: deletes and replacements of matching resources are refused outright, or
// need an approval of their own (scope "protected") for exactly this plan.

export interface ProtectedFacts {
  plan: Plan;
  approvals: readonly Approval[];
  /** Authors of the change: when given, their own protected approvals do not count. */
  authors?: readonly string[];
  /** Who may approve (the approval gate's list); absent or empty: anyone. */
  approvers?: readonly string[];
}

export interface ProtectedResult {
  verdict: GateVerdict;
  /** The protected approval that counts, if one is needed and given. */
  counted: Approval[];
}

/**
 * Whether `text` matches `pattern`: "*" stands for any text (also "/" and ":"), "?" for one
 * character, everything else for itself.
 */
export function matchesGlob(pattern: string, text: string): boolean {
  const source = pattern
    .split("")
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, "s").test(text);
}

/**
 * The pending changes `rule` protects: its operations, on resources matching a pattern by type or
 * name, and, when the rule names stacks, only in those (read from the plan's `stacks`).
 */
export function protectedChanges(
  rule: ProtectedOperations,
  pending?: ChangeSet,
  stacks?: Plan["stacks"],
): ResourceChange[] {
  if (!pending) return [];
  const operations: readonly string[] = rule.operations;
  const named = rule.stacks;
  const candidates =
    named && named.length > 0
      ? (stacks ?? [])
          .filter((stack) => named.includes(stack.name))
          .flatMap((stack) => stack.plan.pending?.resources ?? [])
      : pending.resources;
  return candidates.filter(
    (change) =>
      operations.includes(change.action) &&
      (rule.resources.length === 0 ||
        rule.resources.some(
          (pattern) => matchesGlob(pattern, change.type) || matchesGlob(pattern, change.name),
        )),
  );
}

export function evaluateProtected(rule: ProtectedOperations, facts: ProtectedFacts): ProtectedResult {
  const changes = protectedChanges(rule, facts.plan.pending, facts.plan.stacks);
  if (changes.length === 0) {
    return {
      verdict: { gate: "protected", verdict: "pass", reason: "no protected operations" },
      counted: [],
    };
  }
  const listed = listOf(changes.map(describeChange));
  if (rule.action === "refuse") {
    return {
      verdict: {
        gate: "protected",
        verdict: "block",
        reason: `refused: ${listed} (protected operations are never applied here; change the program so it keeps them)`,
      },
      counted: [],
    };
  }
  const { counted, notes } = judgeApprovals(
    {
      approvers: facts.approvers ?? [],
      allowSelfApproval: facts.authors === undefined,
      scopes: ["protected"],
    },
    { plan: facts.plan, approvals: facts.approvals, authors: facts.authors ?? [] },
  );
  if (counted.length > 0) {
    const first = counted.slice(0, 1);
    return {
      verdict: { gate: "protected", verdict: "pass", reason: `${listed} approved by ${first[0].approver}` },
      counted: first,
    };
  }
  return {
    verdict: {
      gate: "protected",
      verdict: "wait",
      reason: [
        `${listed} ${changes.length === 1 ? "needs its" : "need their"} own approval (tidegate approve ${facts.plan.environment} --protected)`,
        ...notes,
      ].join("; "),
    },
    counted: [],
  };
}

/** "delete of logs (aws:s3/bucket:Bucket)". */
function describeChange(change: ResourceChange): string {
  return `${change.action} of ${change.name} (${change.type})`;
}
