import { resourceName } from "../domain/changes";
import { count } from "./text";
import type { GateVerdict, PolicyViolation } from "../domain/gates";

// The policy gate: a mandatory violation of a policy pack blocks; advisory findings are shown only.

export function evaluatePolicy(violations: readonly PolicyViolation[]): GateVerdict {
  const mandatory = violations.filter((violation) => violation.level === "mandatory");
  const advisory = violations.filter((violation) => violation.level === "advisory");
  if (mandatory.length > 0) {
    const also = advisory.length > 0 ? `; also ${count(advisory.length, "advisory finding")}` : "";
    return {
      gate: "policy",
      verdict: "block",
      reason: `${count(mandatory.length, "mandatory policy violation")}: ${perResource(mandatory)}${also}`,
    };
  }
  if (advisory.length > 0) {
    return {
      gate: "policy",
      verdict: "pass",
      reason: `${count(advisory.length, "advisory policy finding")} (not blocking): ${perResource(advisory)}`,
    };
  }
  return { gate: "policy", verdict: "pass", reason: "no policy violations" };
}

/** "logs: baseline/s3-no-public-read (Bucket is public); the stack: baseline/tags (…)". */
function perResource(violations: readonly PolicyViolation[]): string {
  const byResource = new Map<string, string[]>();
  for (const violation of violations) {
    const where = violation.urn ? resourceName(violation.urn) : "the stack";
    const found = `${violation.pack}/${violation.policy} (${violation.message})`;
    byResource.set(where, [...(byResource.get(where) ?? []), found]);
  }
  return [...byResource.entries()].map(([where, found]) => `${where}: ${found.join(", ")}`).join("; ");
}
