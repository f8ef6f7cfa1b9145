import { describe, expect, it } from "vitest";
import type { RunReport } from "../../../src/domain/model";
import { formatCheckSummary } from "../../../src/render/format";
import { renderMarkdown } from "../../../src/render/markdown";
import { sampleReport } from "./fixture";

const IGNORED: NonNullable<RunReport["ignoredDrift"]> = {
  properties: [
    {
      urn: "urn:pulumi:test::p::pulumi-nodejs:dynamic/aws-sdk:Bucket::artifacts",
      type: "pulumi-nodejs:dynamic/aws-sdk:Bucket",
      name: "artifacts",
      path: "tags.team",
      kind: "update",
      old: "platform",
      new: "finops|tool",
      replaces: false,
      ignoredBy: { rule: 0, reason: "the cost tool re-tags *team*", owner: "finops", expires: "2030-01-31" },
    },
  ],
  expiredRules: [{ rule: 1, reason: "autoscaler", expires: "2026-01-01", covers: 2 }],
};

describe("ignored drift in reports", () => {
  it("Markdown: a section with each property, its rule and reason, escaped; expired rules warned", () => {
    const md = renderMarkdown(sampleReport({ ignoredDrift: IGNORED }));
    const start = md.indexOf("## Ignored drift (drift.ignore)");
    expect(start).toBeGreaterThan(md.indexOf("## Drift (live ≠ deployed)"));
    const section = md.slice(start, md.indexOf("\n## ", start + 1));
    expect(section).toContain(
      '| artifacts | tags.team | "platform" | "finops\\|tool" | 0 | the cost tool re-tags \\*team\\* | finops | 2030-01-31 |',
    );
    expect(section).toContain(
      "> ⚠ Rule 1 (autoscaler) expired 2026-01-01: it no longer applies; 2 drifted properties it covered count as drift.",
    );
  });

  it("Markdown: no section without rules that said anything", () => {
    expect(renderMarkdown(sampleReport())).not.toContain("Ignored drift");
  });

  it("the check summary lists each ignored property with its reason, then expired rules", () => {
    const text = formatCheckSummary(sampleReport({ ignoredDrift: IGNORED }));
    expect(text).toContain("Ignored drift (drift.ignore): 1");
    expect(text).toContain(
      '  - artifacts (aws-sdk:Bucket) tags.team: "platform" → "finops|tool" — ignored by rule 0: the cost tool re-tags *team*, owner finops, until 2030-01-31',
    );
    expect(text).toContain(
      "  ⚠ rule 1 expired 2026-01-01 (autoscaler): no longer applies; 2 drifted properties it covered count as drift",
    );
  });
});
