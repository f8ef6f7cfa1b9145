import { GetBucketTaggingCommand } from "@aws-sdk/client-s3";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPaths } from "../../src/config/paths";
import { repoRoot } from "../../src/config/repo";
import { awsClients } from "../helpers/aws";
import { createEngineFixture, type EngineFixture } from "../helpers/engine";

// A policy pack as an environment's gate, through the whole check: the pack is a folder of the
// repository, installed and run on the preview, and a mandatory violation blocks the sync.

const PACK = "policies/aws-sdk-baseline";

function packFiles(): Record<string, string> {
  const dir = path.join(repoRoot(__dirname), PACK);
  return Object.fromEntries(
    fs
      .readdirSync(dir)
      .filter((name) => name !== "node_modules" && fs.statSync(path.join(dir, name)).isFile())
      .map((name) => [`${PACK}/${name}`, fs.readFileSync(path.join(dir, name), "utf8")]),
  );
}

describe("a policy pack gate", () => {
  const { s3 } = awsClients();
  let f: EngineFixture;

  beforeAll(async () => {
    f = await createEngineFixture([
      { name: "test", sync: "auto", drift: "report", gates: { policyPacks: [PACK] } },
    ]);
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("blocks a sync whose preview breaks a mandatory policy, naming the resource", async () => {
    const config = f.stackConfigFile("test");
    await f.commitTo(
      "test",
      { ...packFiles(), [config]: (await f.readAt("test", config)).replace("team: platform", 'team: ""') },
      "Add the baseline policy pack; leave the team empty",
    );
    const report = await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true });
    expect(report.status).toBe("Blocked");
    expect(report.reason).toMatch(/policy/);
    expect(report.reason).toMatch(/artifacts/);
    expect(report.policy?.filter((v) => v.level === "mandatory")).toEqual([
      expect.objectContaining({ policy: "bucket-team-tag", urn: expect.stringMatching(/::artifacts$/) }),
    ]);
    const markdown = fs.readFileSync(
      path.join(dataPaths(path.join(path.dirname(f.configPath), "data")).reports, "test", "latest.md"),
      "utf8",
    );
    expect(markdown).toMatch(/bucket-team-tag/);
    await expect(
      s3.send(new GetBucketTaggingCommand({ Bucket: `platform-sdk-${f.stackName("test")}-artifacts` })),
    ).rejects.toThrow();
  });
});
