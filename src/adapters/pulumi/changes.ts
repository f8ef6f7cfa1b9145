import type { EngineEvent, StepEventMetadata, StepEventStateMetadata } from "@pulumi/pulumi/automation";
import { formatPath, getPath, parsePath, type PathSegment } from "../../domain/property-path";
import { overriddenManager } from "../../domain/restorable";
import { deepEqual, isSecret, MASK, sanitize } from "../../domain/values";
import {
  type ChangeSet,
  type PropertyChange,
  type ResourceAction,
  type ResourceChange,
  resourceName,
} from "../../domain/changes";

const REPLACE_OPS = new Set(["replace", "create-replacement", "delete-replaced", "discard-replaced"]);
const PENDING_OPS: Record<string, ResourceAction> = {
  create: "create",
  update: "update",
  delete: "delete",
  replace: "replace",
  "create-replacement": "replace",
  "delete-replaced": "replace",
  import: "create",
  "import-replacement": "replace",
};

/** Provider and stack resources change with every config edit; they are plumbing, not infrastructure. */
function isPlumbing(type: string): boolean {
  return type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:");
}

function isInternalKey(key: string): boolean {
  return key.startsWith("__");
}

/** Leaf-level differences between two property bags, skipping engine-internal keys. */
export function diffProperties(
  olds: Record<string, unknown> | undefined,
  news: Record<string, unknown> | undefined,
): PropertyChange[] {
  const out: PropertyChange[] = [];
  const walk = (a: unknown, b: unknown, at: PathSegment[]): void => {
    if (deepEqual(a, b)) return;
    if (isSecret(a) || isSecret(b)) {
      out.push({
        path: formatPath(at),
        kind: a === undefined ? "add" : b === undefined ? "delete" : "update",
        old: a === undefined ? undefined : MASK,
        new: b === undefined ? undefined : MASK,
        replaces: false,
      });
      return;
    }
    const bothObjects =
      a !== null &&
      b !== null &&
      typeof a === "object" &&
      typeof b === "object" &&
      Array.isArray(a) === Array.isArray(b);
    if (bothObjects) {
      const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
      for (const key of [...keys].sort()) {
        if (at.length === 0 && isInternalKey(key)) continue;
        const seg: PathSegment = Array.isArray(a) ? Number(key) : key;
        walk((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], [...at, seg]);
      }
      return;
    }
    out.push({
      path: formatPath(at),
      kind: a === undefined ? "add" : b === undefined ? "delete" : "update",
      ...(a === undefined ? {} : { old: sanitize(a) }),
      ...(b === undefined ? {} : { new: sanitize(b) }),
      replaces: false,
    });
  };
  walk(olds ?? {}, news ?? {}, []);
  return out;
}

function fromDetailedDiff(
  detailed: NonNullable<StepEventMetadata["detailedDiff"]>,
  old: StepEventStateMetadata | undefined,
  next: StepEventStateMetadata | undefined,
): PropertyChange[] {
  return Object.entries(detailed)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([path, diff]) => {
      const segments = parsePath(path);
      const kind = diff.diffKind.replace("-replace", "") as PropertyChange["kind"];
      const before = diff.inputDiff ? old?.inputs : (old?.outputs ?? old?.inputs);
      const oldValue = kind === "add" ? undefined : getPath(before, segments);
      const newValue = kind === "delete" ? undefined : getPath(next?.inputs, segments);
      return {
        path: formatPath(segments),
        kind,
        ...(oldValue === undefined ? {} : { old: sanitize(oldValue) }),
        ...(newValue === undefined ? {} : { new: sanitize(newValue) }),
        replaces: diff.diffKind.endsWith("-replace"),
      };
    });
}

function stepMetadata(event: EngineEvent): StepEventMetadata | undefined {
  return event.resourcePreEvent?.metadata ?? event.resOutputsEvent?.metadata;
}

/** Turns the events of a `preview` into pending changes, one entry per resource. */
export function pendingChanges(events: readonly EngineEvent[]): ChangeSet {
  const byUrn = new Map<string, ResourceChange>();
  for (const event of events) {
    const meta = event.resourcePreEvent?.metadata;
    if (!meta || isPlumbing(meta.type)) continue;
    const action = PENDING_OPS[meta.op];
    if (!action) continue;
    const existing = byUrn.get(meta.urn);
    if (existing && (existing.action === "replace" || !REPLACE_OPS.has(meta.op))) continue;
    const whole = action === "create" || action === "delete";
    const properties = whole
      ? []
      : meta.detailedDiff
        ? fromDetailedDiff(meta.detailedDiff, meta.old, meta.new)
        : markReplaces(diffProperties(meta.old?.inputs, meta.new?.inputs), meta.keys ?? []);
    byUrn.set(meta.urn, {
      urn: meta.urn,
      type: meta.type,
      name: resourceName(meta.urn),
      action,
      properties,
      ...(whole ? {} : { unchanged: unchangedCount(meta.old?.inputs, meta.new?.inputs) }),
    });
  }
  return { kind: "pending", resources: [...byUrn.values()] };
}

/**
 * How many leaf properties are the same on both sides: what a reader of the changes does not see.
 * Engine-internal keys and, for Kubernetes, fields the API server maintains are not counted.
 */
function unchangedCount(
  olds: Record<string, unknown> | undefined,
  news: Record<string, unknown> | undefined,
  type?: string,
): number {
  const skipped = (at: PathSegment[]) =>
    (at.length === 1 && isInternalKey(String(at[0]))) ||
    (type !== undefined && at.length > 0 && isServerMaintained(type, formatPath(at)));
  const leaves = (value: unknown, at: PathSegment[]): number => {
    if (skipped(at)) return 0;
    if (value === null || typeof value !== "object" || isSecret(value)) return 1;
    const entries = Object.entries(value as object);
    if (entries.length === 0) return 1;
    return entries.reduce(
      (n, [key, v]) => n + leaves(v, [...at, Array.isArray(value) ? Number(key) : key]),
      0,
    );
  };
  const same = (a: unknown, b: unknown, at: PathSegment[]): number => {
    if (skipped(at)) return 0;
    if (deepEqual(a, b)) return a === undefined ? 0 : leaves(a, at);
    const bothObjects =
      a !== null &&
      b !== null &&
      typeof a === "object" &&
      typeof b === "object" &&
      !isSecret(a) &&
      !isSecret(b) &&
      Array.isArray(a) === Array.isArray(b);
    if (!bothObjects) return 0;
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    let n = 0;
    for (const key of keys) {
      const seg: PathSegment = Array.isArray(a) ? Number(key) : key;
      n += same((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], [...at, seg]);
    }
    return n;
  };
  return same(olds ?? {}, news ?? {}, []);
}

function markReplaces(properties: PropertyChange[], replaceKeys: readonly string[]): PropertyChange[] {
  if (replaceKeys.length === 0) return properties;
  return properties.map((p) => ({
    ...p,
    replaces: replaceKeys.some(
      (k) => p.path === k || p.path.startsWith(`${k}.`) || p.path.startsWith(`${k}[`),
    ),
  }));
}

/**
 * Turns the events of a refresh preview into drift. The engine reports a drifted resource as a
 * refresh step whose outputs differ, and a resource gone from the live world as a delete.
 */
export function driftChanges(events: readonly EngineEvent[]): ChangeSet {
  const byUrn = new Map<string, ResourceChange>();
  for (const event of events) {
    const meta = stepMetadata(event);
    if (!meta || isPlumbing(meta.type)) continue;
    if (meta.op === "delete" || (meta.op === "refresh" && meta.old && !meta.new)) {
      byUrn.set(meta.urn, {
        urn: meta.urn,
        type: meta.type,
        name: resourceName(meta.urn),
        action: "missing",
        properties: [],
      });
      continue;
    }
    if (meta.op !== "update" && meta.op !== "refresh" && !outputsOnlyDrift(meta)) continue;
    const properties = driftProperties(meta);
    if (properties.length === 0) continue;
    byUrn.set(meta.urn, {
      urn: meta.urn,
      type: meta.type,
      name: resourceName(meta.urn),
      action: "drifted",
      properties,
      unchanged: unchangedCount(meta.old?.outputs, meta.new?.outputs, meta.type),
    });
  }
  return { kind: "drift", resources: [...byUrn.values()] };
}

/**
 * A provider's detailedDiff covers only the fields it manages as inputs, so an out-of-band addition
 * (say a label on a Kubernetes object) shows only in the outputs. Drift is therefore what the
 * detailedDiff says plus any other output difference, less the fields servers maintain themselves.
 */
function driftProperties(meta: StepEventMetadata): PropertyChange[] {
  const detailed = meta.detailedDiff ? fromDriftDetailedDiff(meta.detailedDiff, meta.old, meta.new) : [];
  const covered = (path: string) =>
    detailed.some((d) => path === d.path || path.startsWith(`${d.path}.`) || path.startsWith(`${d.path}[`));
  const extra = diffProperties(meta.old?.outputs, meta.new?.outputs)
    .filter((p) => !covered(p.path) && !isServerMaintained(meta.type, p.path))
    .map((p) => (meta.type.startsWith("kubernetes:") ? markNotDeclared(p, meta) : p));
  const seen = new Set([...detailed, ...extra].map((p) => p.path));
  const undeclared = undeclaredMetadata(meta).filter((p) => !seen.has(p.path));
  return [...detailed, ...extra, ...undeclared].sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The provider applies server-side: a field the program does not declare belongs to whichever field
 * manager set it, and an update leaves it as it is. Such drift is marked so no report calls it restored.
 */
function markNotDeclared(property: PropertyChange, meta: StepEventMetadata): PropertyChange {
  if (property.kind === "delete") return property;
  const declared = meta.old?.inputs ?? meta.new?.inputs;
  if (getPath(declared, parsePath(property.path)) !== undefined) return property;
  return { ...property, ...notDeclared(property.path, meta.new?.outputs) };
}

/**
 * Fields live on a Kubernetes object that its program does not declare but another client set: every
 * label and annotation, and any other field a client's update (managedFields, not a status write)
 * owns. A remediating `up --refresh` takes them into the state, so comparing states alone would hide
 * them from then on; compared with what the program declares they stay drift until someone removes,
 * declares or ignores them.
 */
function undeclaredMetadata(meta: StepEventMetadata): PropertyChange[] {
  const live = meta.new?.outputs;
  if (!meta.type.startsWith("kubernetes:") || !live) return [];
  const declared = meta.old?.inputs ?? meta.new?.inputs;
  const candidates: PathSegment[][] = [];
  for (const field of ["labels", "annotations"]) {
    const values = getPath(live, ["metadata", field]);
    if (values !== null && typeof values === "object")
      for (const key of Object.keys(values)) candidates.push(["metadata", field, key]);
  }
  const entries = getPath(live, ["metadata", "managedFields"]);
  for (const entry of Array.isArray(entries) ? (entries as ManagedFieldsEntry[]) : []) {
    if (entry.operation === "Update" && !entry.subresource)
      candidates.push(...ownedLeaves(entry.fieldsV1, []));
  }
  const out = new Map<string, PropertyChange>();
  for (const at of candidates) {
    const path = formatPath(at);
    const value = getPath(live, at);
    if (value === undefined || out.has(path) || getPath(declared, at) !== undefined) continue;
    if (isServerMaintained(meta.type, path)) continue;
    out.set(path, {
      path,
      kind: "add",
      new: sanitize(value),
      replaces: false,
      ...notDeclared(path, live),
    });
  }
  return [...out.values()];
}

/** The plain (map) field paths a managedFields entry owns; list items (k:, v:) are left out. */
function ownedLeaves(fields: unknown, at: PathSegment[]): PathSegment[][] {
  if (fields === null || typeof fields !== "object") return [];
  const keys = Object.keys(fields).filter((k) => k.startsWith("f:"));
  if (keys.length === 0) return at.length > 0 ? [at] : [];
  return keys.flatMap((k) => ownedLeaves((fields as Record<string, unknown>)[k], [...at, k.slice(2)]));
}

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: unknown;
}

/** Why an update leaves the field, naming the field manager that set it where the object says. */
function notDeclared(
  path: string,
  live: Record<string, unknown> | undefined,
): Pick<PropertyChange, "notRestorable" | "fieldManager"> {
  const at = parsePath(path).map((segment) => `f:${String(segment)}`);
  const entries = getPath(live, ["metadata", "managedFields"]);
  const owner = Array.isArray(entries)
    ? (entries as ManagedFieldsEntry[]).find((e) => getPath(e.fieldsV1, at) !== undefined)?.manager
    : undefined;
  const by = owner ? `field manager "${owner}"` : "another field manager";
  const notRestorable = overriddenManager(owner)
    ? `set by ${by}, not declared by the program: a remediation takes it over from kubectl and removes it (read back after the update)`
    : `set by ${by}, not declared by the program, so an update may leave it: remove it with kubectl, declare it in the program, or add a drift.ignore rule`;
  return { notRestorable, ...(owner ? { fieldManager: owner } : {}) };
}

/**
 * A Kubernetes object whose only change is a field the provider does not manage (a label added by
 * hand) is a "same" step: the provider's diff covers only what the program sets. Its outputs still
 * show the change; for Kubernetes the server-maintained fields are known, so the rest is drift.
 */
function outputsOnlyDrift(meta: StepEventMetadata): boolean {
  return meta.op === "same" && meta.type.startsWith("kubernetes:") && meta.old !== undefined;
}

// Fields the Kubernetes API server changes on every write or reports as observed state.
const KUBERNETES_SERVER_FIELDS = [
  "status",
  "metadata.resourceVersion",
  "metadata.managedFields",
  "metadata.generation",
  "metadata.uid",
  "metadata.creationTimestamp",
  'metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]',
  'metadata.annotations["deployment.kubernetes.io/revision"]',
  'metadata.annotations["deprecated.daemonset.template.generation"]',
  'metadata.labels["kubernetes.io/metadata.name"]',
];

export function isServerMaintained(type: string, path: string): boolean {
  if (!type.startsWith("kubernetes:")) return false;
  return KUBERNETES_SERVER_FIELDS.some(
    (f) => path === f || path.startsWith(`${f}.`) || path.startsWith(`${f}[`),
  );
}

// In a refresh the "new" state holds the live outputs, so both sides are read from outputs.
function fromDriftDetailedDiff(
  detailed: NonNullable<StepEventMetadata["detailedDiff"]>,
  old: StepEventStateMetadata | undefined,
  next: StepEventStateMetadata | undefined,
): PropertyChange[] {
  return fromDetailedDiff(
    Object.fromEntries(Object.entries(detailed).map(([k, v]) => [k, { ...v, inputDiff: false }])),
    old,
    next ? { ...next, inputs: next.outputs ?? next.inputs } : next,
  );
}
