import { GetBucketTaggingCommand, PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResourceChange } from "../../src/domain/changes";
import { awsClients } from "../helpers/aws";
import { createEngineFixture, type EngineFixture } from "../helpers/engine";

const byName = (resources: ResourceChange[] | undefined, name: string) =>
  resources?.find((r) => r.name === name);

// drift.ignore on the real engine and the emulator: expected drift is shown, not counted, and kept
// by a remediating sync; once its rule expires it is drift again.
describe("expected drift, declared in drift.ignore", () => {
  const { s3 } = awsClients();
  let f: EngineFixture;
  let bucket: string;
  const rule = {
    resource: { name: "artifacts" },
    property: "tags.team",
    reason: "the cost tool re-tags team",
    owner: "finops",
    expires: "2030-01-31",
  };
  const liveTags = async () =>
    Object.fromEntries(
      ((await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet ?? []).map((t) => [
        t.Key,
        t.Value,
      ]),
    );

  /** Changes some tags of the bucket on the emulator, outside Pulumi. */
  const editTags = async (changes: Record<string, string>) => {
    const tags = { ...(await liveTags()), ...changes };
    const TagSet = Object.entries(tags).map(([Key, Value]) => ({ Key, Value: String(Value) }));
    await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet } }));
  };

  beforeAll(async () => {
    f = await createEngineFixture([
      {
        name: "test",
        sync: "auto",
        drift: "remediate",
        definition: { drift: { policy: "remediate", ignore: [rule] } },
      },
    ]);
    bucket = `platform-sdk-${f.stackName("test")}-artifacts`;
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("an ignored tag change leaves the environment Synced, and the report says why", async () => {
    const first = await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true });
    expect({ status: first.status, reason: first.reason }).toEqual({ status: "Synced" });
    await editTags({ team: "finops-tool" });
    const report = await f.engine.check("test", { kind: "drift", trigger: "test", allowSync: true });
    expect(report.status).toBe("Synced");
    expect(report.sync).toBeUndefined();
    expect(report.drift?.resources).toEqual([]);
    expect(report.ignoredDrift?.properties).toEqual([
      expect.objectContaining({
        name: "artifacts",
        path: "tags.team",
        old: "platform",
        new: "finops-tool",
        ignoredBy: { rule: 0, reason: rule.reason, owner: "finops", expires: "2030-01-31" },
      }),
    ]);
    expect(report.reason).toMatch(/1 drifted property ignored \(tags\.team on artifacts: the cost tool/);
    expect(await f.engine.store.status("test")).toMatchObject({
      status: "Synced",
      driftCount: 0,
      reason: expect.stringMatching(/ignored/),
    });
  });

  it("after the rule expires (the engine's clock), the same change is drift again and the report says so", async () => {
    f.setNow(new Date("2030-02-01T09:00:00Z"));
    try {
      // Report only: a remediation here would restore the tag.
      const report = await f.engine.check("test", { kind: "drift", trigger: "test", allowSync: false });
      expect(report.status).toBe("Drifted");
      expect(byName(report.drift?.resources, "artifacts")?.properties).toContainEqual(
        expect.objectContaining({ path: "tags.team", new: "finops-tool" }),
      );
      expect(report.ignoredDrift?.properties ?? []).toEqual([]);
      expect(report.ignoredDrift?.expiredRules).toEqual([{ ...ruleRef(), covers: 1 }]);
      expect(report.reason).toMatch(/drift\.ignore rule 0 expired 2030-01-31/);
    } finally {
      f.setNow(undefined);
    }
    expect(await liveTags()).toMatchObject({ team: "finops-tool" });
  });

  it("a remediating sync restores the other drift and leaves the ignored tag as it is live", async () => {
    await editTags({ team: "intruders", "cost-center": "4711" }); // ignored, and not
    const report = await f.engine.check("test", { kind: "drift", trigger: "test", allowSync: true });
    expect(byName(report.drift?.resources, "artifacts")?.properties.map((p) => p.path)).toEqual([
      "tags.cost-center",
    ]);
    expect(report.ignoredDrift?.properties.map((p) => p.path)).toEqual(["tags.team"]);
    expect(report.plan?.remediate).toBe(true);
    expect(report.sync?.applied).toBe(true);
    expect(report.status).toBe("Synced");

    // Read back through the AWS SDK: the ignored tag kept its live value, the other drift is gone.
    const tags = await liveTags();
    expect(tags.team).toBe("intruders");
    expect(tags["cost-center"]).toBeUndefined();
    expect(tags.environment).toBe(f.stackName("test"));

    // Nothing is left to do: no pending change on the ignored tag, no drift.
    const again = await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true });
    expect(again.status).toBe("Synced");
    expect(again.pending?.resources).toEqual([]);
    expect(again.drift?.resources).toEqual([]);
    expect(again.sync).toBeUndefined();
    expect((await liveTags()).team).toBe("intruders");
  });

  function ruleRef() {
    return { rule: 0, reason: rule.reason, owner: rule.owner, expires: rule.expires };
  }
});
