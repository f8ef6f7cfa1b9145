import { evaluateApproval } from "./approval";
import { evaluateCommands } from "./checks";
import { evaluatePolicy } from "./policy";
import { evaluatePromotion, type PromotionSuccess } from "./promotion";
import { evaluateProtected } from "./protected";
import { shortCommit } from "./text";
import type {
  Approval,
  CommandResult,
  GateVerdict,
  Gates,
  Plan,
  PolicyViolation,
  Verdict,
} from "../domain/gates";
import { evaluateWindows } from "./windows";

// All gates of an environment on one plan. Only the configured gates speak; any block blocks, else
// any wait waits. Pure: the reconcile loop gathers the facts (I/O) and acts on the outcome.

export { describeGatesChange } from "./change";

/** Everything the gates look at. */
export interface GateFacts {
  plan: Plan;
  /** The environment's approvals (any plan; the gates pick those of this plan). */
  approvals: readonly Approval[];
  /** Emails and names of the authors of the commits being deployed. */
  authors: readonly string[];
  /** The program tree at the plan's commit; needed with a promotion gate. */
  programTree?: string;
  /** Where that tree succeeded in the promotion gate's `from` environment, if it did. */
  success?: PromotionSuccess;
  now: Date;
  /** The check commands' results (run elsewhere). */
  checks: readonly CommandResult[];
  /** Policy pack findings on the preview. */
  policy: readonly PolicyViolation[];
}

export interface GatesEvaluation {
  /** One per configured gate, in evaluation order. */
  verdicts: GateVerdict[];
  outcome: Verdict;
  /** The non-passing reasons, each after its gate's name; or why everything passes. */
  reason: string;
  /** The approvals that count for this plan (the approval gate's and the protected one). */
  approvals: Approval[];
}

export function evaluateGates(gates: Gates, facts: GateFacts): GatesEvaluation {
  const verdicts: GateVerdict[] = [];
  const approvals: Approval[] = [];
  const { plan } = facts;

  if (gates.promotion) {
    verdicts.push(
      facts.programTree === undefined
        ? {
            gate: "promotion",
            verdict: "block",
            reason: `the program tree at commit ${shortCommit(plan.commit)} is unknown`,
          }
        : evaluatePromotion(gates.promotion, {
            programTree: facts.programTree,
            ...(facts.success ? { success: facts.success } : {}),
            now: facts.now,
          }),
    );
  }
  if (gates.windows.length > 0) verdicts.push(evaluateWindows(gates.windows, facts.now));
  if (gates.checks.length > 0) verdicts.push(evaluateCommands(gates.checks, facts.checks, plan.commit));
  if (gates.policyPacks.length > 0) verdicts.push(evaluatePolicy(facts.policy));
  if (gates.protect) {
    // Protected approvals follow the approval gate's rules on who may approve.
    const result = evaluateProtected(gates.protect, {
      plan,
      approvals: facts.approvals,
      ...(gates.approval?.allowSelfApproval ? {} : { authors: facts.authors }),
      ...(gates.approval ? { approvers: gates.approval.approvers } : {}),
    });
    verdicts.push(result.verdict);
    approvals.push(...result.counted);
  }
  if (gates.approval) {
    const result = evaluateApproval(gates.approval, {
      plan,
      approvals: facts.approvals,
      authors: facts.authors,
    });
    verdicts.push(result.verdict);
    approvals.push(...result.counted.filter((a) => !approvals.some((b) => b.id === a.id)));
  }

  const outcome: Verdict = verdicts.some((v) => v.verdict === "block")
    ? "block"
    : verdicts.some((v) => v.verdict === "wait")
      ? "wait"
      : "pass";
  const failing = verdicts.filter((v) => v.verdict !== "pass");
  const reason =
    failing.length > 0
      ? failing.map((v) => `${v.gate}: ${v.reason}`).join("; ")
      : verdicts.length > 0
        ? "every gate passes"
        : "no gates";
  return { verdicts, outcome, reason, approvals };
}
