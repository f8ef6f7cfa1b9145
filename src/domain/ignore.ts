// Expected drift, declared: `drift.ignore` rules of an environment. Pure: which drifted properties
// a rule covers, which rules have expired, and what Pulumi must ignore so a remediation keeps them.
import type { ChangeSet, PropertyChange, ResourceChange } from "./changes";
import { formatPath, parsePath, type PathSegment } from "./property-path";

export interface DriftIgnoreRule {
  /** Globs (`*` any characters, `?` one) on the resource's type and name; at least one is set. */
  resource: { type?: string; name?: string };
  /** A property path (`tags.team`, `tags["a.b"]`, `spec.replicas`); `*` is any one key; covers what is below it. */
  property: string;
  reason: string;
  owner?: string;
  /** YYYY-MM-DD: the rule applies through that day (UTC) and not after. */
  expires?: string;
}

/** A rule as a report names it: its place in the list and what a reader needs. */
export interface RuleRef {
  /** 0-based position in the environment's drift.ignore list. */
  rule: number;
  reason: string;
  owner?: string;
  expires?: string;
}

export interface IgnoredProperty extends PropertyChange {
  urn: string;
  type: string;
  name: string;
  ignoredBy: RuleRef;
}

export interface ExpiredRule extends RuleRef {
  /** Drifted properties it would cover, shown as drift again. */
  covers: number;
}

export interface DriftSplit {
  /** The drift that counts: what is left once the active rules took out theirs. */
  drift: ChangeSet;
  ignored: IgnoredProperty[];
  expired: ExpiredRule[];
}

/** What Pulumi's ignoreChanges gets: resources by type and name (RegExp sources) and property paths. */
export interface IgnoreChangesSpec {
  type: string;
  name: string;
  paths: string[];
}

const DAY_MS = 86_400_000;

/** Whether the rule still applies at `now`: through its `expires` day, in UTC. */
export function ruleActive(rule: Pick<DriftIgnoreRule, "expires">, now: Date): boolean {
  if (rule.expires === undefined) return true;
  return now.getTime() < Date.parse(`${rule.expires}T00:00:00Z`) + DAY_MS;
}

/** A whole-string RegExp for a glob: `*` any characters, `?` one; everything else literal. */
export function globRegExp(glob: string): RegExp {
  const body = glob
    .split("")
    .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`);
}

/** Why a property glob is not one, or undefined when it is. */
export function propertyGlobProblem(glob: string): string | undefined {
  try {
    const segments = ruleSegments(glob);
    if (segments.length === 0) return "an empty path";
    if (segments.some((s) => typeof s === "number" && Number.isNaN(s))) return "a bad [index]";
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function ruleSegments(glob: string): PathSegment[] {
  // `[*]` is a wildcard element as in Pulumi's property paths.
  return parsePath(glob.replaceAll("[*]", ".*"));
}

/** Whether the rule's property path covers a drifted path: equal, or below it; `*` matches any one key. */
export function propertyCovers(glob: string, path: string): boolean {
  const rule = ruleSegments(glob);
  const at = parsePath(path);
  if (at.length < rule.length) return false;
  return rule.every((s, i) => s === "*" || String(s) === String(at[i]));
}

function resourceMatches(rule: DriftIgnoreRule, r: Pick<ResourceChange, "type" | "name">): boolean {
  const { type, name } = rule.resource;
  return (
    (type === undefined || globRegExp(type).test(r.type)) &&
    (name === undefined || globRegExp(name).test(r.name))
  );
}

function ref(rule: DriftIgnoreRule, index: number): RuleRef {
  return {
    rule: index,
    reason: rule.reason,
    ...(rule.owner !== undefined ? { owner: rule.owner } : {}),
    ...(rule.expires !== undefined ? { expires: rule.expires } : {}),
  };
}

/**
 * Splits drift by the rules in force at `now`. A resource whose drifted properties are all ignored
 * is not drifted; a resource gone from the cloud (`missing`) never is ignored. An expired rule
 * ignores nothing and is listed with how much drift it would have covered.
 */
export function splitDrift(drift: ChangeSet, rules: readonly DriftIgnoreRule[], now: Date): DriftSplit {
  if (rules.length === 0) return { drift, ignored: [], expired: [] };
  const active = rules.map((rule) => ruleActive(rule, now));
  const expiredCovers = rules.map(() => 0);
  const ignored: IgnoredProperty[] = [];
  const resources: ResourceChange[] = [];
  for (const resource of drift.resources) {
    const kept: PropertyChange[] = [];
    for (const property of resource.properties) {
      const covering = rules.flatMap((rule, i) =>
        resource.action === "drifted" &&
        resourceMatches(rule, resource) &&
        propertyCovers(rule.property, property.path)
          ? [i]
          : [],
      );
      for (const i of covering) if (!active[i]) expiredCovers[i]! += 1;
      const by = covering.find((i) => active[i]);
      if (by === undefined) kept.push(property);
      else {
        const { urn, type, name } = resource;
        ignored.push({ urn, type, name, ...property, ignoredBy: ref(rules[by]!, by) });
      }
    }
    if (kept.length === resource.properties.length) resources.push(resource);
    else if (kept.length > 0) resources.push({ ...resource, properties: kept });
  }
  const expired = rules.flatMap((rule, i) =>
    active[i] ? [] : [{ ...ref(rule, i), covers: expiredCovers[i]! }],
  );
  return { drift: { ...drift, resources }, ignored, expired };
}

/** The rules in force at `now`, as Pulumi ignoreChanges (paths in Pulumi's syntax, `*` a wildcard). */
export function ignoreChangesSpec(rules: readonly DriftIgnoreRule[], now: Date): IgnoreChangesSpec[] {
  return rules
    .filter((rule) => ruleActive(rule, now))
    .map((rule) => ({
      type: globRegExp(rule.resource.type ?? "*").source,
      name: globRegExp(rule.resource.name ?? "*").source,
      paths: [formatPath(ruleSegments(rule.property))],
    }));
}

/**
 * One line for a status: what is ignored and why, and which rule expired over drift it would cover,
 * e.g. `1 drifted property ignored (tags.team on artifacts: the cost tool tags it)`.
 */
export function ignoreNote(
  ignored: readonly IgnoredProperty[],
  expired: readonly ExpiredRule[],
): string | undefined {
  const parts: string[] = [];
  if (ignored.length > 0) {
    const first = ignored[0]!;
    const more = ignored.length > 1 ? `, +${ignored.length - 1} more` : "";
    const noun = ignored.length === 1 ? "property" : "properties";
    parts.push(
      `${ignored.length} drifted ${noun} ignored (${first.path} on ${first.name}: ${first.ignoredBy.reason}${more})`,
    );
  }
  for (const rule of expired.filter((r) => r.covers > 0)) {
    parts.push(
      `drift.ignore rule ${rule.rule} expired ${rule.expires ?? ""} (${rule.reason}): its drift counts again`,
    );
  }
  return parts.length > 0 ? parts.join("; ") : undefined;
}
