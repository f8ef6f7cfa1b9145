import { count, listOf, sameIdentity, shortCommit, shortDigest } from "./text";
import type { Approval, ApprovalGate, GateVerdict, Plan } from "../domain/gates";

// The approval gate: N distinct people from the allowed list approved exactly this plan (the
// environment, the commit and the plan's digest). Everything else is named in the reason, so the
// person reading it knows why an approval they expected does not count.

export interface ApprovalFacts {
  plan: Plan;
  approvals: readonly Approval[];
  /** Emails and names of the authors of the commits being deployed. */
  authors: readonly string[];
}

export interface ApprovalResult {
  verdict: GateVerdict;
  /** The approvals that count, one per approver, oldest first. */
  counted: Approval[];
}

/** Who may approve, and which approvals are looked at: what the approval and protected gates share. */
export interface ApprovalRule {
  /** Empty: anyone. */
  approvers: readonly string[];
  allowSelfApproval: boolean;
  scopes: readonly Approval["scope"][];
}

export interface JudgedApprovals {
  /** The approvals of this plan that count, one per approver, oldest first. */
  counted: Approval[];
  /** Why the others do not count: revoked, not allowed, self-approval, another plan. */
  notes: string[];
}

/** The approvals that count for `facts.plan` under `rule`, and why the others do not. */
export function judgeApprovals(rule: ApprovalRule, facts: ApprovalFacts): JudgedApprovals {
  const { plan } = facts;
  const allowed = (who: string) =>
    rule.approvers.length === 0 || rule.approvers.some((approver) => sameIdentity(approver, who));
  const isAuthor = (who: string) => facts.authors.some((author) => sameIdentity(author, who));
  const isCurrent = (approval: Approval) =>
    approval.commit === plan.commit && approval.planDigest === plan.digest;
  const relevant = [...facts.approvals]
    .filter((approval) => approval.environment === plan.environment && rule.scopes.includes(approval.scope))
    .sort((a, b) => a.at.localeCompare(b.at));

  const counted: Approval[] = [];
  const problems = new Map<string, string>();
  const note = (who: string, text: string) => {
    if (!problems.has(who.toLowerCase())) problems.set(who.toLowerCase(), text);
  };
  for (const approval of relevant.filter(isCurrent)) {
    const who = personOf(approval);
    const named = label(approval);
    if (counted.some((c) => sameIdentity(personOf(c), who))) continue;
    if (approval.revokedAt !== undefined) {
      note(who, `approval by ${named} was revoked${approval.revokedBy ? ` by ${approval.revokedBy}` : ""}`);
    } else if (!allowed(approval.approver) && !allowed(who)) {
      note(who, `${named} is not an allowed approver`);
    } else if (!rule.allowSelfApproval && (isAuthor(who) || isAuthor(approval.approver))) {
      note(who, `self-approval by ${named} does not count (an author of the change)`);
    } else {
      counted.push(approval);
    }
  }
  // An approval of an earlier plan: the newest per person, when nothing of theirs counts now.
  for (const approval of [...relevant].reverse()) {
    if (isCurrent(approval) || approval.revokedAt !== undefined) continue;
    const who = personOf(approval);
    if (counted.some((c) => sameIdentity(personOf(c), who))) continue;
    note(
      who,
      `approval by ${label(approval)} is for plan ${shortDigest(approval.planDigest)} (commit ${shortCommit(approval.commit)}), not the current plan`,
    );
  }
  for (const approval of counted) problems.delete(personOf(approval).toLowerCase());
  return { counted, notes: [...problems.values()] };
}

/**
 * Who is behind an approval: an API token's owner, else the approver. Self-approval and "N distinct
 * people" are judged on this, so a person's token is not a second person, nor a way around the rule.
 */
function personOf(approval: Approval): string {
  return approval.owner ?? approval.approver;
}

function label(approval: Approval): string {
  return approval.owner ? `${approval.approver} (token of ${approval.owner})` : approval.approver;
}

/** The approval gate: pass with enough approvals of this plan; wait for more; block when nobody left may give them. */
export function evaluateApproval(gate: ApprovalGate, facts: ApprovalFacts): ApprovalResult {
  const { counted, notes } = judgeApprovals({ ...gate, scopes: ["sync", "protected"] }, facts);
  const names = counted.map(label);
  const done = (reason: string, verdict: GateVerdict["verdict"]): ApprovalResult => ({
    verdict: { gate: "approval", verdict, reason: [reason, ...notes].join("; ") },
    counted,
  });
  if (counted.length >= gate.required) {
    return done(`approved by ${listOf(names)} (${counted.length} of ${gate.required} needed)`, "pass");
  }

  const missing = gate.required - counted.length;
  const so = counted.length > 0 ? ` (approved so far by ${listOf(names)})` : "";
  if (gate.approvers.length === 0) {
    const from = gate.allowSelfApproval ? "anyone" : "anyone but the authors of the change";
    return done(`needs ${count(missing, "more approval")} from ${from}${so}`, "wait");
  }
  const isAuthor = (who: string) => facts.authors.some((author) => sameIdentity(author, who));
  const open = gate.approvers.filter(
    (who) => !counted.some((c) => sameIdentity(personOf(c), who) || sameIdentity(c.approver, who)),
  );
  const eligible = gate.allowSelfApproval ? open : open.filter((who) => !isAuthor(who));
  if (eligible.length < missing) {
    const authored = open.filter(isAuthor);
    const why = authored.length > 0 ? `: ${listOf(authored)} authored the change and may not approve it` : "";
    const left =
      eligible.length === 0 ? "no allowed approver is left" : `only ${listOf(eligible)} can still approve`;
    return done(`needs ${count(missing, "more approval")}, but ${left}${why}${so}`, "block");
  }
  return done(`needs ${count(missing, "more approval")} from ${listOf(eligible, "or")}${so}`, "wait");
}
