import type { ChangeSet, PropertyChange } from "../domain/changes";
import type { RunReport } from "../domain/model";
import { displayType, formatValue } from "./format";

// What a person reads after `tidegate sync --accept-drift`: the Git change that would codify the
// live values now in the deployed state, per resource and property, for them to commit.

/** One value to put in the program or its stack config so that it keeps what is live. */
export interface CodifiedValue {
  resource: string;
  type: string;
  path: string;
  /** What the program asked for (the deployed value before the accept). */
  program: unknown;
  /** The live value, now in the deployed state; undefined: removed live. */
  live: unknown;
  kind: PropertyChange["kind"];
}

/** The live values an accept took into the state, one per drifted property. */
export function codifiedValues(drift: ChangeSet | undefined): CodifiedValue[] {
  return (drift?.resources ?? []).flatMap((resource) =>
    resource.properties.map((p) => ({
      resource: resource.name,
      type: resource.type,
      path: p.path,
      program: p.old,
      live: p.new,
      kind: p.kind,
    })),
  );
}

/** The accept's outcome and the Git change that would keep the live values, as text. */
export function acceptLines(report: RunReport): string[] {
  if (report.plan?.resolve !== "accept-drift" || !report.sync?.applied) return [];
  const values = codifiedValues(report.drift);
  const lines = ["Drift accepted: the deployed state now holds the live values."];
  if (values.length > 0) {
    lines.push(`To keep them, change the program or its stack config on branch ${report.branch} and commit:`);
    for (const value of values) {
      const what =
        value.kind === "delete"
          ? "remove it (removed live)"
          : `set it to ${formatValue(value.live)} (the program says ${formatValue(value.program)})`;
      lines.push(`  ${displayType(value.type)} ${value.resource}: ${value.path}: ${what}`);
    }
  }
  const left = report.pending?.resources.length ?? 0;
  lines.push(
    left > 0
      ? `The program still differs from the live values (${left} pending resource change(s)): until it is changed, the next check is OutOfSync and a sync puts the program's values back.`
      : "The program matches the live values: the next check is Synced.",
  );
  return lines;
}
