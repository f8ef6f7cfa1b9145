import * as fs from "node:fs";
import { parse } from "yaml";
import type { ChangeSet } from "../../domain/changes";
import { getPath, parsePath } from "../../domain/property-path";
import { overriddenManager } from "../../domain/restorable";
import { kubeRequest, type KubeCredentials } from "./kube-request";

// With server-side apply, Pulumi's update never removes a field another field manager owns: a label
// added by `kubectl label` stays, however often tidegate remediates. As Flux's --override-manager
// does, a remediating sync first hands such fields from kubectl's field managers to Pulumi's own on
// the live object; and since Pulumi applies only objects whose inputs changed, the same patch takes
// the fields away, as Pulumi's apply would (the program declares none of them). Only kubectl's
// managers are overridden (a controller's fields are its own business), and only the fields the
// drift names, so a drift.ignore rule keeps its field where it is.

/** Pulumi's server-side applies: `pulumi-kubernetes-<suffix>` by default. */
const PULUMI_MANAGER = /^pulumi-kubernetes/;

/** A Kubernetes object's group/version and kind from a Pulumi type token; undefined for other types. */
export function kubernetesKind(type: string): { apiVersion: string; kind: string } | undefined {
  const match = /^kubernetes:([^:]+):([A-Za-z0-9]+)$/.exec(type);
  if (!match) return undefined;
  const [, groupVersion, kind] = match as unknown as [string, string, string];
  const [group, version, ...rest] = groupVersion.split("/");
  // Components (helm.sh/v3:Release, yaml/v2:ConfigGroup, kustomize) hold objects of their own.
  if (!group || !version || rest.length > 0 || !/^v\d/.test(version)) return undefined;
  if (group === "yaml" || group === "helm.sh" || group === "kustomize") return undefined;
  return { apiVersion: group === "core" ? version : `${group}/${version}`, kind: kind! };
}

/** The fields of one resource a remediation may take over. */
export interface FieldsWanted {
  urn: string;
  type: string;
  /** Pulumi's name of the resource. */
  name: string;
  /** Property paths, as drift names them (`metadata.labels.hotfix`). */
  paths: string[];
}

/** The drift an update leaves on Kubernetes objects (notRestorable, not a removal): what to take over. */
export function fieldsToTakeOver(drift: ChangeSet | undefined): FieldsWanted[] {
  return (drift?.resources ?? []).flatMap((resource) => {
    if (resource.action !== "drifted" || !kubernetesKind(resource.type)) return [];
    const paths = resource.properties
      .filter((p) => p.notRestorable !== undefined && p.kind !== "delete")
      .map((p) => p.path);
    return paths.length > 0 ? [{ urn: resource.urn, type: resource.type, name: resource.name, paths }] : [];
  });
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  [other: string]: unknown;
}

export interface MovedFields {
  entries: ManagedFieldsEntry[];
  moved: string[];
  /** Fields left with their owner, and why. */
  left: string[];
}

/**
 * The object's managedFields with each path's ownership moved from kubectl's managers to Pulumi's
 * Apply entry. A path another manager also holds, or that is a list item, is left as it is.
 */
export function moveFields(entries: readonly ManagedFieldsEntry[], paths: readonly string[]): MovedFields {
  const next = structuredClone(entries) as ManagedFieldsEntry[];
  const own = next.find(
    (e) => e.operation === "Apply" && !e.subresource && PULUMI_MANAGER.test(e.manager ?? "") && e.fieldsV1,
  );
  if (!own)
    return { entries: next, moved: [], left: paths.map((p) => `${p} (no field manager of Pulumi's)`) };
  const moved: string[] = [];
  const left: string[] = [];
  for (const path of paths) {
    const segments = parsePath(path);
    if (segments.some((s) => typeof s === "number")) {
      left.push(`${path} (a list item)`);
      continue;
    }
    const at = segments.map((s) => `f:${s}`);
    const holders = next.filter((e) => e !== own && !e.subresource && getPath(e.fieldsV1, at) !== undefined);
    const others = holders.filter((e) => !overriddenManager(e.manager));
    if (holders.length === 0 || others.length > 0) {
      const by = others.map((e) => `"${e.manager ?? "?"}"`).join(", ");
      left.push(`${path} (${by ? `held by ${by}` : "held by no kubectl field manager"})`);
      continue;
    }
    for (const holder of holders) {
      mergeInto(own.fieldsV1!, at, getPath(holder.fieldsV1, at));
      removeAt(holder.fieldsV1!, at);
    }
    moved.push(path);
  }
  const kept = next.filter((e) => e.fieldsV1 === undefined || Object.keys(e.fieldsV1).length > 0);
  return { entries: kept, moved, left };
}

function mergeInto(target: Record<string, unknown>, at: readonly string[], value: unknown): void {
  let cur = target;
  for (const key of at.slice(0, -1)) {
    if (typeof cur[key] !== "object" || cur[key] === null) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  const last = at[at.length - 1]!;
  cur[last] = deepMerge(cur[last], value);
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (typeof a !== "object" || a === null) return structuredClone(b);
  const out = { ...(a as Record<string, unknown>) };
  for (const [key, value] of Object.entries((b ?? {}) as Record<string, unknown>))
    out[key] = deepMerge(out[key], value);
  return out;
}

/** Removes the field at `at`, and every parent that held nothing else. */
function removeAt(target: Record<string, unknown>, at: readonly string[]): void {
  const [head, ...rest] = at;
  if (head === undefined || !(head in target)) return;
  if (rest.length > 0) {
    const child = target[head] as Record<string, unknown>;
    removeAt(child, rest);
    if (Object.keys(child).length > 0) return;
  }
  delete target[head];
}

/** Where a kubeconfig's current context points and how it authenticates; throws naming what is missing. */
export function kubeClient(contents: string): { server: string; credentials: KubeCredentials } {
  type Named<T> = { name?: string } & Record<string, T | undefined>;
  const doc = parse(contents) as {
    "current-context"?: string;
    contexts?: Named<{ cluster?: string; user?: string }>[];
    clusters?: Named<Record<string, unknown>>[];
    users?: Named<Record<string, unknown>>[];
  } | null;
  const contexts = doc?.contexts ?? [];
  const context = (contexts.find((c) => c.name === doc?.["current-context"]) ?? contexts[0])?.context;
  const cluster = doc?.clusters?.find((c) => c.name === context?.cluster)?.cluster ?? {};
  const user = doc?.users?.find((u) => u.name === context?.user)?.user ?? {};
  const server = cluster.server;
  if (typeof server !== "string") throw new Error("the kubeconfig's current context names no cluster server");
  if (user.exec !== undefined || user["auth-provider"] !== undefined)
    throw new Error("the kubeconfig's user authenticates with a plugin, which tidegate does not run");
  const pem = (data: string, file: string): string | undefined => {
    const inline = (data in user ? user[data] : cluster[data]) as unknown;
    if (typeof inline === "string") return Buffer.from(inline, "base64").toString("utf8");
    const at = (file in user ? user[file] : cluster[file]) as unknown;
    return typeof at === "string" ? fs.readFileSync(at, "utf8") : undefined;
  };
  const credentials: KubeCredentials = {};
  const ca = pem("certificate-authority-data", "certificate-authority");
  const cert = pem("client-certificate-data", "client-certificate");
  const key = pem("client-key-data", "client-key");
  if (ca !== undefined) credentials.ca = ca;
  if (cert !== undefined) credentials.cert = cert;
  if (key !== undefined) credentials.key = key;
  if (typeof user.token === "string") credentials.token = user.token;
  return { server, credentials };
}

/** One live object whose fields to take over. */
export interface ObjectFields {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  paths: string[];
}

export interface TakeOverResult {
  /** `<kind> <namespace>/<name>: <path>` of every field taken over and removed. */
  moved: string[];
  /** What was not taken over, naming the object (no credentials, no values). */
  warnings: string[];
}

/** Takes over and removes the fields of each live object (see above); never throws. */
export async function takeOverFields(
  kubeconfigPath: string,
  objects: ObjectFields[],
): Promise<TakeOverResult> {
  const result: TakeOverResult = { moved: [], warnings: [] };
  let client: ReturnType<typeof kubeClient>;
  try {
    client = kubeClient(fs.readFileSync(kubeconfigPath, "utf8"));
  } catch (err) {
    result.warnings.push(`the fields kubectl set were not taken over: ${(err as Error).message}`);
    return result;
  }
  for (const object of objects) {
    const subject = `${object.kind} ${object.namespace ? `${object.namespace}/` : ""}${object.name}`;
    try {
      const { moved, left } = await takeOver(client, object);
      result.moved.push(...moved.map((p) => `${subject}: ${p}`));
      if (left.length > 0) result.warnings.push(`${subject}: not taken over: ${left.join(", ")}`);
    } catch (err) {
      result.warnings.push(
        `${subject}: the fields kubectl set were not taken over: ${(err as Error).message}`,
      );
    }
  }
  return result;
}

async function takeOver(
  client: ReturnType<typeof kubeClient>,
  object: ObjectFields,
): Promise<{ moved: string[]; left: string[] }> {
  const request = async (method: string, path: string, body?: unknown) => {
    const response = await kubeRequest(client.server, client.credentials, {
      method,
      path,
      ...(body === undefined ? {} : { body, contentType: "application/json-patch+json" }),
    });
    if (response.status < 200 || response.status >= 300)
      throw new Error(`${method} ${path}: HTTP ${response.status}: ${response.body.slice(0, 300)}`);
    return JSON.parse(response.body) as Record<string, unknown>;
  };
  const path = await objectPath(request, object);
  const live = await request("GET", path);
  const entries = (getPath(live, ["metadata", "managedFields"]) ?? []) as ManagedFieldsEntry[];
  const { entries: next, moved, left } = moveFields(entries, object.paths);
  if (moved.length === 0) return { moved, left };
  // Pulumi applies only the objects whose inputs changed: one it leaves alone would keep the fields
  // however they are owned. So they also go in the same patch, as Pulumi's apply would take them
  // away (none is declared by the program). Refused when the object changed since it was read.
  await request("PATCH", `${path}?fieldManager=tidegate`, [
    { op: "test", path: "/metadata/resourceVersion", value: getPath(live, ["metadata", "resourceVersion"]) },
    { op: "replace", path: "/metadata/managedFields", value: next },
    ...moved.map((field) => ({ op: "remove", path: jsonPointer(field) })),
  ]);
  return { moved, left };
}

/** A property path (`metadata.labels["app.kubernetes.io/name"]`) as a JSON pointer. */
export function jsonPointer(path: string): string {
  return parsePath(path)
    .map((s) => `/${String(s).replace(/~/g, "~0").replace(/\//g, "~1")}`)
    .join("");
}

/** The object's API path; the resource's plural is asked of the server's discovery. */
async function objectPath(
  request: (method: string, path: string) => Promise<Record<string, unknown>>,
  object: ObjectFields,
): Promise<string> {
  const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const list = (await request("GET", base)).resources as {
    name: string;
    kind: string;
    namespaced: boolean;
  }[];
  const resource = list.find((r) => r.kind === object.kind && !r.name.includes("/"));
  if (!resource) throw new Error(`the server serves no ${object.kind} in ${object.apiVersion}`);
  const scope =
    resource.namespaced && object.namespace ? `/namespaces/${encodeURIComponent(object.namespace)}` : "";
  return `${base}${scope}/${resource.name}/${encodeURIComponent(object.name)}`;
}

/**
 * Where the state's resources are, for each resource whose fields to take over: its kind and
 * version from the type, its namespace and name from the outputs of the stack's state.
 */
export function locateObjects(
  wanted: readonly FieldsWanted[],
  stateResources: readonly { urn?: string; outputs?: Record<string, unknown> }[],
): { objects: ObjectFields[]; unknown: string[] } {
  const objects: ObjectFields[] = [];
  const unknown: string[] = [];
  for (const want of wanted) {
    const kind = kubernetesKind(want.type)!;
    const outputs = stateResources.find((r) => r.urn === want.urn)?.outputs;
    const name = getPath(outputs, ["metadata", "name"]);
    const namespace = getPath(outputs, ["metadata", "namespace"]);
    if (typeof name !== "string") {
      unknown.push(`${want.type} ${want.name}: its name is not in the stack's state`);
      continue;
    }
    objects.push({
      ...kind,
      name,
      ...(typeof namespace === "string" ? { namespace } : {}),
      paths: want.paths,
    });
  }
  return { objects, unknown };
}
