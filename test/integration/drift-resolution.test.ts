import { GetBucketTaggingCommand } from "@aws-sdk/client-s3";
import { GetQueueUrlCommand, TagQueueCommand } from "@aws-sdk/client-sqs";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { person } from "../../src/app/actor";
import type { RunRequest } from "../../src/app/engine";
import { awsClients, plantTagDrift } from "../helpers/aws";
import { createEngineFixture, type EngineFixture } from "../helpers/engine";

// A person's ways out of drift on a gated environment, on real branches, the real engine and the
// emulator: restore puts the deployed value back live, accept takes the live value into the state;
// each waits for an approval of its own plan and is audited. A drifted but deployed stage is
// promoted from, with a warning.

const ALICE = person("alice@example.com");

describe("restoring and accepting drift", () => {
  const { s3, sqs } = awsClients();
  let f: EngineFixture;
  const liveTeam = async () => {
    const tags = await s3.send(
      new GetBucketTaggingCommand({ Bucket: `platform-sdk-${f.stackName("stage")}-artifacts` }),
    );
    return tags.TagSet?.find((t) => t.Key === "team")?.Value;
  };
  /** The artifacts bucket's team tag as the deployed state (the file backend's checkpoint) holds it. */
  const deployedTeam = () => {
    const file = path.join(
      path.dirname(f.configPath),
      "state",
      ".pulumi",
      "stacks",
      "platform-sdk",
      `${f.stackName("stage")}.json`,
    );
    const state = JSON.parse(fs.readFileSync(file, "utf8")) as {
      checkpoint: { latest: { resources: { urn: string; outputs?: { tags?: Record<string, string> } }[] } };
    };
    const bucket = state.checkpoint.latest.resources.find((r) => r.urn.endsWith("::artifacts"));
    return bucket?.outputs?.tags?.team;
  };
  const sync = (resolve?: RunRequest["resolve"]) =>
    f.engine.observe("sync", "stage", { actor: ALICE, ...(resolve ? { resolve } : {}) });

  beforeAll(async () => {
    f = await createEngineFixture([
      { name: "stage", sync: "gated", drift: "report" },
      { name: "prod", sync: "gated", drift: "report" },
    ]);
    // Deployed once, by approval.
    expect((await f.engine.approve("stage", { actor: ALICE })).approval).toBeDefined();
    expect((await sync()).status).toBe("Synced");
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("restores drift once, after an approval of exactly the restore", async () => {
    await plantTagDrift(f.stackName("stage"));
    // The drift policy is report: a plain sync leaves it.
    expect((await sync()).status).toBe("Drifted");

    const waiting = await sync("restore-drift");
    expect(waiting).toMatchObject({ status: "AwaitingApproval", plan: { resolve: "restore-drift" } });
    expect(await liveTeam()).toBe("intruders");
    // An approval of a plain sync has no plan to bind to; the restore's is its own.
    expect((await f.engine.approve("stage", { actor: ALICE })).refusal).toBe("no-plan");
    const approved = await f.engine.approve("stage", { actor: ALICE, resolve: "restore-drift" });
    expect(approved.approval?.planDigest).toBe(waiting.plan?.digest);

    const restored = await sync("restore-drift");
    expect(restored).toMatchObject({ status: "Synced", sync: { applied: true } });
    expect(await liveTeam()).toBe("platform");
    const audited = await f.engine.audit.entries({ environment: "stage", action: "restore-drift" });
    expect(audited.map((e) => e.verdict)).toEqual(["AwaitingApproval", "Synced"]);
    expect(audited[1]?.planDigest).toBe(waiting.plan?.digest);
  });

  it("promotes from a drifted but deployed stage, with a warning", async () => {
    // A commit that changes nothing a preview sees: stage's head is as good as deployed.
    await f.commitTo("stage", { "NOTES.md": "Stage notes\n" }, "Add notes");
    await plantTagDrift(f.stackName("stage"));
    expect((await sync()).status).toBe("Drifted");
    const promoted = await f.engine.promote("stage", "prod", { actor: ALICE });
    expect(promoted.outcome).toBe("promoted");
    expect(promoted.warnings?.[0]).toMatch(/^stage shows drift on 1 resource\(s\)/);
  });

  it("accepts drift into the deployed state after an approval of the accept; codified, the next check is Synced", async () => {
    // The team tag is one config value for the bucket and the queue: changed by hand on both.
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: `platform-sdk-${f.stackName("stage")}-events` }),
    );
    await sqs.send(new TagQueueCommand({ QueueUrl, Tags: { team: "intruders" } }));
    const waiting = await sync("accept-drift");
    expect(waiting).toMatchObject({ status: "AwaitingApproval", plan: { resolve: "accept-drift" } });
    expect(waiting.drift?.resources.map((r) => r.name).sort()).toEqual(["artifacts", "events"]);
    expect(deployedTeam()).toBe("platform");
    const approved = await f.engine.approve("stage", { actor: ALICE, resolve: "accept-drift" });
    expect(approved.approval?.planDigest).toBe(waiting.plan?.digest);

    const accepted = await sync("accept-drift");
    expect(accepted.sync?.applied).toBe(true);
    expect(deployedTeam()).toBe("intruders");
    expect(await liveTeam()).toBe("intruders");
    // The program still asks for "platform": that is pending now, and the report says so.
    expect(accepted.status).toBe("OutOfSync");
    expect(accepted.reason).toMatch(/the program still differs from the live values/);
    const audited = await f.engine.audit.entries({ environment: "stage", action: "accept-drift" });
    expect(audited.map((e) => e.verdict)).toEqual(["AwaitingApproval", "OutOfSync"]);

    // The person commits the value shown; the next check finds neither drift nor pending change.
    const file = f.stackConfigFile("stage");
    const config = fs.readFileSync(path.join(f.remote.workDir, file), "utf8");
    await f.commitTo(
      "stage",
      { [file]: config.replace("platform-sdk:team: platform", "platform-sdk:team: intruders") },
      "Keep the team tag set by hand",
    );
    const next = await f.engine.observe("check", "stage", { actor: ALICE });
    expect(next.drift?.resources).toEqual([]);
    expect(next.status).toBe("Synced");
  });
});
