import { changeSection, clean, reasonLine, shortSha } from "./format";
import type { PromoteResult } from "../domain/promotion";

// A promotion's result for people. Pure (unit-tested); text from outside goes through `clean`.

const HEADLINE: Record<PromoteResult["outcome"], string> = {
  promoted: "promoted",
  "up-to-date": "up to date",
  refused: "refused",
  "dry-run": "dry run",
};

/**
 * `promote test → stage: promoted (fast-forward)`, the reason, where the target is (or would be), the
 * target's program commits and conflicting files when there are any, and a dry run's preview.
 */
export function formatPromoteResult(result: PromoteResult): string {
  const kind = result.kind && result.outcome !== "refused" ? ` (${result.kind})` : "";
  const out = [
    `promote ${clean(result.from.environment)} → ${clean(result.to.environment)}: ${HEADLINE[result.outcome]}${kind}`,
    `  ${reasonLine(result.reason, 400) ?? ""}`,
    ...(result.warnings ?? []).map((w) => `  warning: ${clean(w)}`),
  ];
  const to = clean(result.to.environment);
  if (result.outcome === "promoted")
    out.push(`  ${to} (branch ${clean(result.to.branch)}) is now at ${shortSha(result.sha)}`);
  if (result.outcome === "dry-run") out.push(`  ${to} would be at ${shortSha(result.sha)}`);

  if (result.targetAhead?.length) {
    out.push("", `${to}'s commits touching the program that ${clean(result.from.environment)} lacks:`);
    for (const c of result.targetAhead) {
      const subject = c.message.split(/\r?\n/, 1)[0] ?? "";
      out.push(`  ${shortSha(c.sha)} by ${clean(c.author)} <${clean(c.authorEmail)}>: ${clean(subject)}`);
    }
  }
  if (result.conflicts?.length) {
    out.push("", "Conflicting files:", ...result.conflicts.map((file) => `  ${clean(file)}`));
  }
  if (result.outcome === "dry-run") {
    out.push("", `What a sync of ${to} would then apply, previewed on the merged tree:`);
    out.push(...changeSection("pending", result.preview));
  }
  if (result.outcome !== "promoted" && result.outcome !== "up-to-date") out.push("", "Nothing was pushed.");
  return `${out.join("\n")}\n`;
}
