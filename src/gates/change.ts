import { formatDuration } from "./duration";
import type { ApprovalGate, GateCommand, Gates, ProtectedOperations, PromotionGate } from "../domain/gates";
import { describeWindow } from "./windows";

// How a commit would change an environment's gates, in lines a reviewer reads in the report:
// "approval removed (was 1 of anyone)", "protect: action refuse → approve". Empty when equal.

export function describeGatesChange(inForce: Gates, proposed: Gates): string[] {
  return [
    ...optional("approval", inForce.approval, proposed.approval, describeApproval, approvalChanges),
    ...optional("promotion", inForce.promotion, proposed.promotion, describePromotion, promotionChanges),
    ...listChanges(inForce.windows.map(describeWindow), proposed.windows.map(describeWindow)),
    ...checkChanges(inForce.checks, proposed.checks),
    ...optional("protect", inForce.protect, proposed.protect, describeProtect, protectChanges),
    ...listChanges(
      inForce.policyPacks.map((pack) => `policy pack ${pack}`),
      proposed.policyPacks.map((pack) => `policy pack ${pack}`),
    ),
  ];
}

function optional<T>(
  name: string,
  before: T | undefined,
  after: T | undefined,
  describe: (gate: T) => string,
  changes: (before: T, after: T) => string[],
): string[] {
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [`${name} added (${describe(after as T)})`];
  if (after === undefined) return [`${name} removed (was ${describe(before)})`];
  return changes(before, after).map((change) => `${name}: ${change}`);
}

/** Items as text: those only before are removed, those only after added. */
function listChanges(before: readonly string[], after: readonly string[]): string[] {
  return [
    ...before.filter((item) => !after.includes(item)).map((item) => `${item} removed`),
    ...after.filter((item) => !before.includes(item)).map((item) => `${item} added`),
  ];
}

function change(what: string, before: string, after: string): string[] {
  return before === after ? [] : [`${what} ${before} → ${after}`];
}

function describeApproval(gate: ApprovalGate): string {
  const self = gate.allowSelfApproval ? ", self-approval allowed" : "";
  return `${gate.required} of ${approversText(gate.approvers)}${self}`;
}

function approvalChanges(before: ApprovalGate, after: ApprovalGate): string[] {
  return [
    ...change("required", String(before.required), String(after.required)),
    ...change("approvers", approversText(before.approvers), approversText(after.approvers)),
    ...change("self-approval", allowedText(before.allowSelfApproval), allowedText(after.allowSelfApproval)),
  ];
}

function approversText(approvers: readonly string[]): string {
  return approvers.length === 0 ? "anyone" : approvers.join(", ");
}

function allowedText(allowed: boolean): string {
  return allowed ? "allowed" : "not allowed";
}

function describePromotion(gate: PromotionGate): string {
  return `from ${gate.from}, soak ${formatDuration(gate.soakMs)}${gate.requireNoDrift ? ", no drift there" : ""}`;
}

function promotionChanges(before: PromotionGate, after: PromotionGate): string[] {
  return [
    ...change("from", before.from, after.from),
    ...change("soak", formatDuration(before.soakMs), formatDuration(after.soakMs)),
    ...change(
      "requireNoDrift",
      String(before.requireNoDrift === true),
      String(after.requireNoDrift === true),
    ),
  ];
}

function checkChanges(before: readonly GateCommand[], after: readonly GateCommand[]): string[] {
  const lines: string[] = [];
  for (const check of before) {
    const next = after.find((other) => other.name === check.name);
    if (!next) {
      lines.push(`check '${check.name}' removed (was ${describeCheck(check)})`);
      continue;
    }
    lines.push(
      ...[
        ...change("run", JSON.stringify(check.run), JSON.stringify(next.run)),
        ...change("timeout", formatDuration(check.timeoutMs), formatDuration(next.timeoutMs)),
      ].map((line) => `check '${check.name}': ${line}`),
    );
  }
  for (const check of after) {
    if (!before.some((other) => other.name === check.name)) {
      lines.push(`check '${check.name}' added (${describeCheck(check)})`);
    }
  }
  return lines;
}

function describeCheck(check: GateCommand): string {
  return `${JSON.stringify(check.run)}, timeout ${formatDuration(check.timeoutMs)}`;
}

function describeProtect(rule: ProtectedOperations): string {
  return `${rule.operations.join(", ")} of ${resourcesText(rule.resources)}${stacksText(rule.stacks)}: ${rule.action}`;
}

function stacksText(stacks: readonly string[] | undefined): string {
  return stacks && stacks.length > 0 ? ` in stacks ${stacks.join(", ")}` : "";
}

function protectChanges(before: ProtectedOperations, after: ProtectedOperations): string[] {
  return [
    ...change("operations", before.operations.join(", "), after.operations.join(", ")),
    ...change("resources", resourcesText(before.resources), resourcesText(after.resources)),
    ...change("action", before.action, after.action),
    ...change("stacks", before.stacks?.join(", ") ?? "all", after.stacks?.join(", ") ?? "all"),
  ];
}

function resourcesText(resources: readonly string[]): string {
  return resources.length === 0 ? "every resource" : resources.join(", ");
}
