import { describe, expect, it } from "vitest";
import type { ChangeSet, ResourceChange } from "../../../src/domain/changes";
import {
  globRegExp,
  ignoreChangesSpec,
  ignoreNote,
  propertyCovers,
  propertyGlobProblem,
  ruleActive,
  splitDrift,
  type DriftIgnoreRule,
} from "../../../src/domain/ignore";

const BUCKET = "aws:s3/bucket:Bucket";

function resource(
  name: string,
  paths: string[],
  action: ResourceChange["action"] = "drifted",
): ResourceChange {
  return {
    urn: `urn:pulumi:test::p::${BUCKET}::${name}`,
    type: BUCKET,
    name,
    action,
    properties: paths.map((path) => ({ path, kind: "update", old: "a", new: "b", replaces: false })),
  };
}

const drift = (...resources: ResourceChange[]): ChangeSet => ({ kind: "drift", resources });
const rule = (over: Partial<DriftIgnoreRule>): DriftIgnoreRule => ({
  resource: { name: "artifacts" },
  property: "tags.team",
  reason: "the cost tool",
  ...over,
});
const NOW = new Date("2026-06-01T12:00:00Z");

describe("globs", () => {
  it("matches whole names: * any characters, ? one, the rest literal", () => {
    expect(globRegExp("aws:s3/*").test(BUCKET)).toBe(true);
    expect(globRegExp("aws:s3").test(BUCKET)).toBe(false);
    expect(globRegExp("app-?").test("app-1")).toBe(true);
    expect(globRegExp("app-?").test("app-12")).toBe(false);
    expect(globRegExp("a.b").test("axb")).toBe(false);
    expect(globRegExp("(x)[y]").test("(x)[y]")).toBe(true);
  });
});

describe("property paths", () => {
  it("covers the path itself and everything below it", () => {
    expect(propertyCovers("tags.team", "tags.team")).toBe(true);
    expect(propertyCovers("tags", "tags.team")).toBe(true);
    expect(propertyCovers("spec", "spec.template.spec.containers[0].image")).toBe(true);
    expect(propertyCovers("tags.team", "tags")).toBe(false);
    expect(propertyCovers("tags.team", "tags.teams")).toBe(false);
  });

  it("* is any one key or index, in either spelling", () => {
    expect(propertyCovers("tags.*", "tags.team")).toBe(true);
    expect(propertyCovers("tags.*", 'tags["a.b"]')).toBe(true);
    expect(propertyCovers("spec.containers[*].image", "spec.containers[2].image")).toBe(true);
    expect(propertyCovers("spec.containers[*].image", "spec.containers[2].name")).toBe(false);
    expect(propertyCovers("*.team", "labels.team")).toBe(true);
  });

  it("keys with dots or hyphens, quoted as Pulumi writes them", () => {
    expect(propertyCovers('tags["a.b"]', 'tags["a.b"]')).toBe(true);
    expect(propertyCovers('tags["a.b"]', "tags.a")).toBe(false);
    expect(propertyCovers("tags.cost-center", "tags.cost-center")).toBe(true);
  });

  it("says what is wrong with a path", () => {
    expect(propertyGlobProblem("tags.team")).toBeUndefined();
    expect(propertyGlobProblem("")).toBe("an empty path");
    expect(propertyGlobProblem("tags[team")).toMatch(/unterminated/);
    expect(propertyGlobProblem("ports[x]")).toBe("a bad [index]");
  });
});

describe("expiry", () => {
  it("a rule applies through its expires day in UTC, and not after", () => {
    expect(ruleActive({}, NOW)).toBe(true);
    expect(ruleActive({ expires: "2026-06-01" }, NOW)).toBe(true);
    expect(ruleActive({ expires: "2026-06-01" }, new Date("2026-06-01T23:59:59Z"))).toBe(true);
    expect(ruleActive({ expires: "2026-06-01" }, new Date("2026-06-02T00:00:00Z"))).toBe(false);
    expect(ruleActive({ expires: "2026-05-31" }, NOW)).toBe(false);
  });
});

describe("splitDrift", () => {
  it("takes covered properties out; a resource left with none is not drifted", () => {
    const split = splitDrift(
      drift(resource("artifacts", ["tags.team"]), resource("logs", ["tags.team"])),
      [rule({})],
      NOW,
    );
    expect(split.drift.resources.map((r) => r.name)).toEqual(["logs"]);
    expect(split.ignored).toEqual([
      expect.objectContaining({
        name: "artifacts",
        path: "tags.team",
        old: "a",
        new: "b",
        ignoredBy: { rule: 0, reason: "the cost tool" },
      }),
    ]);
    expect(split.expired).toEqual([]);
  });

  it("keeps the other properties of a partly ignored resource", () => {
    const split = splitDrift(drift(resource("artifacts", ["tags.team", "tags.owner"])), [rule({})], NOW);
    expect(split.drift.resources[0]?.properties.map((p) => p.path)).toEqual(["tags.owner"]);
    expect(split.ignored.map((p) => p.path)).toEqual(["tags.team"]);
  });

  it("matches on type and name globs; the first active rule names the ignore", () => {
    const rules = [
      rule({ resource: { type: "aws:ec2/*" }, property: "tags", reason: "not this type" }),
      rule({
        resource: { type: "aws:s3/*", name: "art*" },
        property: "tags.*",
        reason: "by type",
        owner: "ops",
      }),
      rule({ property: "tags.team", reason: "second" }),
    ];
    const split = splitDrift(drift(resource("artifacts", ["tags.team"])), rules, NOW);
    expect(split.ignored[0]?.ignoredBy).toEqual({ rule: 1, reason: "by type", owner: "ops" });
  });

  it("never ignores a resource gone from the live world", () => {
    const gone = { ...resource("artifacts", []), action: "missing" as const };
    const split = splitDrift(drift(gone), [rule({ property: "*" })], NOW);
    expect(split.drift.resources).toEqual([gone]);
  });

  it("an expired rule ignores nothing and is listed with what it would cover", () => {
    const split = splitDrift(
      drift(resource("artifacts", ["tags.team"])),
      [rule({ expires: "2026-01-31", owner: "finops" })],
      NOW,
    );
    expect(split.drift.resources.map((r) => r.name)).toEqual(["artifacts"]);
    expect(split.ignored).toEqual([]);
    expect(split.expired).toEqual([
      { rule: 0, reason: "the cost tool", owner: "finops", expires: "2026-01-31", covers: 1 },
    ]);
    expect(ignoreNote(split.ignored, split.expired)).toBe(
      "drift.ignore rule 0 expired 2026-01-31 (the cost tool): its drift counts again",
    );
  });

  it("leaves drift as it is without rules", () => {
    const d = drift(resource("artifacts", ["tags.team"]));
    expect(splitDrift(d, [], NOW)).toEqual({ drift: d, ignored: [], expired: [] });
  });
});

describe("ignoreChangesSpec", () => {
  it("the rules in force as RegExp sources and Pulumi paths, wildcards kept", () => {
    const spec = ignoreChangesSpec(
      [
        rule({ property: "tags.team" }),
        rule({ resource: { type: "aws:*" }, property: "spec.containers[*].image" }),
        rule({ property: 'tags["a.b"]' }),
        rule({ expires: "2020-01-01" }),
      ],
      NOW,
    );
    expect(spec).toEqual([
      { type: "^.*$", name: "^artifacts$", paths: ["tags.team"] },
      { type: "^aws:.*$", name: "^.*$", paths: ['spec.containers["*"].image'] },
      { type: "^.*$", name: "^artifacts$", paths: ['tags["a.b"]'] },
    ]);
    expect(new RegExp(spec[1]!.type).test(BUCKET)).toBe(true);
  });
});

describe("ignoreNote", () => {
  it("says how much is ignored and the first reason", () => {
    const split = splitDrift(
      drift(resource("artifacts", ["tags.team", "tags.owner"])),
      [rule({ property: "tags" })],
      NOW,
    );
    expect(ignoreNote(split.ignored, split.expired)).toBe(
      "2 drifted properties ignored (tags.team on artifacts: the cost tool, +1 more)",
    );
    expect(ignoreNote([], [])).toBeUndefined();
  });
});
