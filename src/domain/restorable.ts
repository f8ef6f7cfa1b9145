// Which drift a remediating update can put back. Some cannot (a Kubernetes field another field
// manager set is not Pulumi's to remove): a report must never say they were restored.
import type { ChangeSet, PropertyChange, ResourceChange } from "./changes";

export interface KeptDrift {
  resource: Pick<ResourceChange, "type" | "name">;
  property: PropertyChange;
}

/** Field managers whose fields a remediation takes over and removes: kubectl's (edit, label, patch, …). */
export const OVERRIDDEN_MANAGERS = /^(kubectl(-.+)?|before-first-apply)$/;

/** Whether a remediation takes fields from this field manager (see kubernetes-owners). */
export function overriddenManager(manager: string | undefined): boolean {
  return manager !== undefined && OVERRIDDEN_MANAGERS.test(manager);
}

/** Whether a remediation takes this Kubernetes field from the manager that set it. */
export function takenOver(property: PropertyChange): boolean {
  return overriddenManager(property.fieldManager);
}

/** Whether an update would put back anything of this resource's drift. */
function restorable(resource: ResourceChange): boolean {
  const { properties } = resource;
  return properties.length === 0 || properties.some((p) => p.notRestorable === undefined || takenOver(p));
}

/** Whether a remediating update has something to restore. */
export function hasRestorableDrift(drift: ChangeSet | undefined): boolean {
  return (drift?.resources ?? []).some(restorable);
}

/** The drifted properties an update leaves as they are. */
export function keptDrift(drift: ChangeSet | undefined): KeptDrift[] {
  return (drift?.resources ?? []).flatMap((resource) =>
    resource.properties
      .filter((property) => property.notRestorable !== undefined)
      .map((property) => ({ resource, property })),
  );
}

/** How many resources keep drift an update cannot put back. */
export function keptDriftResources(drift: ChangeSet | undefined): number {
  return (drift?.resources ?? []).filter((r) => r.properties.some((p) => p.notRestorable !== undefined))
    .length;
}

/** One line naming what an update does not restore and why (the first reason; the rest counted). */
export function keptDriftNote(kept: readonly KeptDrift[]): string {
  const [first] = kept;
  if (!first) return "";
  const more = kept.length > 1 ? ` and ${kept.length - 1} more` : "";
  return `not restored: ${first.property.path} on ${first.resource.type} ${first.resource.name}${more} (${first.property.notRestorable})`;
}

/** What a remediating sync leaves of this drift, as a clause for the plan's lines ("" when nothing). */
export function keptDriftClause(drift: ChangeSet | undefined): string {
  const kept = keptDrift(drift).length;
  if (kept === 0) return "";
  return ` except ${kept} ${kept === 1 ? "property" : "properties"} an update may leave (see notRestorable)`;
}
