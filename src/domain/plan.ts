import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json";
import type { Plan } from "./gates";
import type { ChangeSet, ResourceChange } from "./changes";

/** The facts a plan digest covers: the environment, the commit, what the update would do. */
export type PlanContent = Omit<Plan, "digest">;

/**
 * The plan's digest: sha256 over a canonical form of the environment, stack, commit, the pending
 * changes, the drift and whether drift would be restored. Approvals bind to it, so any new commit,
 * new drift or other change in the preview makes an approval stale. Resources and properties are
 * sorted so two previews of the same thing give the same digest.
 */
export function planDigest(plan: PlanContent): string {
  const canonical = {
    environment: plan.environment,
    stack: plan.stack,
    commit: plan.commit,
    remediate: plan.remediate,
    pending: canonicalChanges(plan.pending),
    drift: canonicalChanges(plan.drift),
    // Only when present, so the digests of plain syncs stay what they were.
    ...(plan.resolve ? { resolve: plan.resolve } : {}),
  };
  return `sha256:${createHash("sha256").update(canonicalJson(canonical)).digest("hex")}`;
}

export function makePlan(content: PlanContent): Plan {
  return { ...content, digest: planDigest(content) };
}

/** "sha256:0123456789ab…" → "0123456789ab", for messages. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

function canonicalChanges(changes: ChangeSet | undefined): unknown {
  if (!changes) return null;
  return [...changes.resources].sort(byUrn).map((resource) => ({
    urn: resource.urn,
    action: resource.action,
    properties: [...resource.properties]
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((p) => ({
        path: p.path,
        kind: p.kind,
        old: p.old ?? null,
        new: p.new ?? null,
        replaces: p.replaces,
      })),
  }));
}

function byUrn(a: ResourceChange, b: ResourceChange): number {
  return a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0;
}
