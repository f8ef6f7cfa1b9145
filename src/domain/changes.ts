// What a preview found, per resource and property: the words every layer shares.

/** Pending: Git (desired) differs from the deployed state. Drift: live differs from the deployed state. */
export type ChangeKind = "pending" | "drift";

/** What would happen to a resource (pending) or what happened to it outside Pulumi (drift). */
export type ResourceAction = "create" | "update" | "replace" | "delete" | "drifted" | "missing";

export interface PropertyChange {
  path: string;
  kind: "add" | "delete" | "update";
  /** Secrets are masked; unknowns read "(known after apply)". */
  old?: unknown;
  new?: unknown;
  /** This property forces a replacement. */
  replaces: boolean;
  /** Drift an update cannot put back, and why (e.g. a field another Kubernetes field manager set). */
  notRestorable?: string;
  /** A Kubernetes field the program does not declare: the field manager that set it, when known. */
  fieldManager?: string;
}

export interface ResourceChange {
  urn: string;
  type: string;
  name: string;
  action: ResourceAction;
  properties: PropertyChange[];
  /**
   * How many of the resource's top-level properties did not change, so a reader knows what was left
   * out. Absent where the whole resource comes or goes (create, delete, missing).
   */
  unchanged?: number;
}

export interface ChangeSet {
  kind: ChangeKind;
  resources: ResourceChange[];
}

/** The change sets of several stacks as one, in order; undefined when none was given. */
export function joinChangeSets(sets: readonly (ChangeSet | undefined)[]): ChangeSet | undefined {
  const present = sets.filter((set): set is ChangeSet => set !== undefined);
  if (present.length === 0) return undefined;
  return { kind: present[0]!.kind, resources: present.flatMap((set) => set.resources) };
}

export function resourceName(urn: string): string {
  return urn.split("::").pop() ?? urn;
}

export function countByAction(changes: ChangeSet): Partial<Record<ResourceAction, number>> {
  const counts: Partial<Record<ResourceAction, number>> = {};
  for (const r of changes.resources) counts[r.action] = (counts[r.action] ?? 0) + 1;
  return counts;
}
