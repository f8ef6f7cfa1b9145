import { GetBucketTaggingCommand, PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, GetQueueUrlCommand, type QueueAttributeName } from "@aws-sdk/client-sqs";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPaths } from "../../src/config/paths";
import type { RunReport } from "../../src/domain/model";
import type { ResourceChange } from "../../src/domain/changes";
import { awsClients } from "../helpers/aws";
import { runCli } from "../helpers/cli";
import { createEngineFixture, reportTexts, setStackConfig, type EngineFixture } from "../helpers/engine";

const SECRET = "tidegate-planted-secret-8f3a1c";

const cli = (args: string[]) => runCli(args);

const byName = (resources: ResourceChange[] | undefined, name: string) =>
  resources?.find((r) => r.name === name);

/** Updates recorded by the file backend for a stack (each `pulumi up` leaves one history file). */
function updateCount(stateDir: string, stack: string): number {
  const dir = path.join(stateDir, ".pulumi", "history", "platform-sdk", stack);
  if (!fs.existsSync(dir)) return 0;
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".history.json"))
    .filter(
      (f) => (JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { kind?: string }).kind === "update",
    ).length;
}

// The engine loop on real branches, the real engine and the emulator: each step builds on the last.
describe("checking and syncing environments", () => {
  const { s3, sqs } = awsClients();
  let f: EngineFixture;
  let stateDir: string;
  const bucketOf = (env: string) => `platform-sdk-${f.stackName(env)}-artifacts`;
  const queueAttr = async (env: string, name: QueueAttributeName) => {
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: `platform-sdk-${f.stackName(env)}-events` }),
    );
    const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: [name] }));
    return out.Attributes?.[name];
  };

  beforeAll(async () => {
    f = await createEngineFixture([
      { name: "test", sync: "auto", drift: "report" },
      { name: "stage", sync: "gated", drift: "report" },
    ]);
    stateDir = path.join(path.dirname(f.configPath), "state");
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("syncs an auto environment on its first check; a gated one waits for an approval", async () => {
    const test = await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true });
    expect(test.status).toBe("Synced");
    expect(test.sync?.applied).toBe(true);
    expect(byName(test.pending?.resources, "artifacts")?.action).toBe("create");
    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: bucketOf("test") }));
    expect(tags.TagSet).toContainEqual({ Key: "team", Value: "platform" });

    const stage = await f.engine.check("stage", { kind: "sync", trigger: "test", allowSync: true });
    expect(stage.status).toBe("AwaitingApproval");
    expect(stage.reason).toMatch(/approval/);
    expect(stage.sync).toBeUndefined();
    await expect(s3.send(new GetBucketTaggingCommand({ Bucket: bucketOf("stage") }))).rejects.toThrow();
  });

  it("a second check with nothing changed installs nothing and updates nothing", async () => {
    const before = updateCount(stateDir, f.stackName("test"));
    const again = await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true });
    expect(again.status).toBe("Synced");
    expect(again.dependencies?.installed).toBe(false);
    expect(again.sync).toBeUndefined();
    expect(again.pending?.resources).toEqual([]);
    expect(updateCount(stateDir, f.stackName("test"))).toBe(before);
    // The scheduled poll is cheaper still: the head did not move, so no check runs at all.
    expect(await f.engine.poll("test")).toBeUndefined();
  });

  it("a commit to test is OutOfSync on the exact property, then auto-sync makes it Synced", async () => {
    const config = fs.readFileSync(path.join(f.remote.workDir, f.stackConfigFile("test")), "utf8");
    const sha = await f.commitTo(
      "test",
      {
        [f.stackConfigFile("test")]: config.replace(
          "queueVisibilityTimeout: 30",
          "queueVisibilityTimeout: 45",
        ),
      },
      "Give consumers more time per message",
    );
    const seen = await f.engine.check("test", { kind: "check", trigger: "test", allowSync: false });
    expect(seen.status).toBe("OutOfSync");
    expect(seen.desired?.sha).toBe(sha);
    expect(seen.desired?.message).toBe("Give consumers more time per message");
    expect(byName(seen.pending?.resources, "events")?.properties).toEqual([
      { path: "visibilityTimeoutSeconds", kind: "update", old: 30, new: 45, replaces: false },
    ]);
    expect(seen.drift?.resources).toEqual([]);
    expect(await queueAttr("test", "VisibilityTimeout")).toBe("30");

    const synced = await f.engine.poll("test");
    // poll() saw the same head as the last check but that check did not deploy it: it must sync now.
    const result =
      synced ?? (await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true }));
    expect(result.status).toBe("Synced");
    expect(result.deployed?.commit).toBe(sha);
    expect(await queueAttr("test", "VisibilityTimeout")).toBe("45");
  });

  it("an out-of-band change is Drifted on that resource and property, apart from pending changes", async () => {
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: bucketOf("test"),
        Tagging: {
          TagSet: [
            { Key: "team", Value: "intruders" },
            { Key: "environment", Value: f.stackName("test") },
            { Key: "managed-by", Value: "pulumi" },
            { Key: "data-classification", Value: "internal" },
          ],
        },
      }),
    );
    const drifted = await f.engine.check("test", { kind: "check", trigger: "test", allowSync: true });
    expect(drifted.status).toBe("Drifted");
    expect(drifted.pending?.resources).toEqual([]);
    expect(byName(drifted.drift?.resources, "artifacts")).toMatchObject({
      action: "drifted",
      properties: [{ path: "tags.team", kind: "update", old: "platform", new: "intruders", replaces: false }],
    });
    // Drift policy "report": reported, not restored.
    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: bucketOf("test") }));
    expect(tags.TagSet).toContainEqual({ Key: "team", Value: "intruders" });
  });

  it("a pending change and drift at once are reported apart", async () => {
    const config = fs.readFileSync(path.join(f.remote.workDir, f.stackConfigFile("test")), "utf8");
    await f.commitTo(
      "test",
      {
        [f.stackConfigFile("test")]: config.replace(
          "data-classification: internal",
          "data-classification: restricted",
        ),
      },
      "Classify the platform's data as restricted",
    );
    const both = await f.engine.check("test", { kind: "check", trigger: "test", allowSync: false });
    expect(both.status).toBe("OutOfSync+Drifted");
    expect(byName(both.pending?.resources, "artifacts")?.properties).toContainEqual({
      path: "tags.data-classification",
      kind: "update",
      old: "internal",
      new: "restricted",
      replaces: false,
    });
    expect(byName(both.drift?.resources, "artifacts")?.properties).toEqual([
      { path: "tags.team", kind: "update", old: "platform", new: "intruders", replaces: false },
    ]);
    expect(byName(both.pending?.resources, "artifacts")?.properties.map((p) => p.path)).not.toContain(
      "tags.team",
    );
  });

  it("never logs, reports or stores a secret from the stack config", async () => {
    // Set the secret as a developer would (pulumi config set --secret) and commit the encrypted file.
    const encrypted = await setStackConfig(f, "test", {
      passphrase: f.passphrase,
      values: { databasePassword: SECRET },
      secret: true,
      message: "Add the database password",
    });
    expect(encrypted).not.toContain(SECRET);

    const checked: RunReport = await f.engine.check("test", {
      kind: "sync",
      trigger: "test",
      allowSync: true,
    });
    expect(checked.status).not.toBe("Failed");
    const everything = [
      ...f.logs,
      ...reportTexts(path.join(path.dirname(f.configPath), "data")),
      JSON.stringify(checked),
    ];
    expect(everything.length).toBeGreaterThan(10);
    for (const text of everything) expect(text).not.toContain(SECRET);
    expect(f.logs.join("\n")).not.toContain(f.passphrase);
    const store = fs.readFileSync(dataPaths(path.join(path.dirname(f.configPath), "data")).store);
    expect(store.includes(Buffer.from(SECRET))).toBe(false);

    // And the CLI, as an operator would read it.
    for (const args of [
      ["report", "test"],
      ["report", "test", "--json"],
      ["status", "--json"],
    ]) {
      const out = await cli([...args, "--config", f.configPath]);
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout.length).toBeGreaterThan(50);
      expect(out.stdout + out.stderr).not.toContain(SECRET);
    }
  });

  it("two engines on one backend run exactly one update for one commit", async () => {
    const second = await f.secondEngine();
    const config = fs.readFileSync(path.join(f.remote.workDir, f.stackConfigFile("test")), "utf8");
    await f.commitTo(
      "test",
      { [f.stackConfigFile("test")]: config.replace("messageRetentionDays: 1", "messageRetentionDays: 2") },
      "Keep messages two days",
    );
    const before = updateCount(stateDir, f.stackName("test"));
    const [a, b] = await Promise.all([
      f.engine.check("test", { kind: "sync", trigger: "engine-a", allowSync: true }),
      second.check("test", { kind: "sync", trigger: "engine-b", allowSync: true }),
    ]);
    const seen = JSON.stringify(
      [a, b].map((r) => ({ status: r.status, reason: r.reason, sync: r.sync, timings: r.timings })),
    );
    expect(updateCount(stateDir, f.stackName("test")), seen).toBe(before + 1);
    expect([a.sync?.applied, b.sync?.applied].filter(Boolean), seen).toHaveLength(1);
    expect([a.status, b.status], seen).not.toContain("Failed");
  });

  it("a force-push that rewrites history blocks the environment and destroys nothing", async () => {
    const root = await f.remote.git("rev-list", "--max-parents=0", "HEAD");
    const config = fs.readFileSync(path.join(f.remote.workDir, f.stackConfigFile("test")), "utf8");
    await f.remote.switchBranch("rewrite", root);
    const rewritten = await f.remote.commitFiles(
      { [f.stackConfigFile("test")]: config },
      "Rewritten history",
    );
    await f.remote.switchBranch("main");
    await f.remote.forcePush("test", rewritten);

    const blocked = await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true });
    expect(blocked.status).toBe("Blocked");
    expect(blocked.reason).toMatch(/history rewritten/);
    expect(blocked.sync).toBeUndefined();
    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: bucketOf("test") }));
    expect(tags.TagSet?.length).toBeGreaterThan(0);
  });

  it("a deleted branch leaves the environment Unknown with the reason, and destroys nothing", async () => {
    await f.remote.deleteBranch("test");
    const gone = await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true });
    expect(gone.status).toBe("Unknown");
    expect(gone.reason).toMatch(/branch 'test' is not on the remote/);
    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: bucketOf("test") }));
    expect(tags.TagSet?.length).toBeGreaterThan(0);
    expect((await f.engine.store.status("test"))?.status).toBe("Unknown");
  });
});

describe("drift remediation", () => {
  const { s3 } = awsClients();
  let f: EngineFixture;
  beforeAll(async () => {
    f = await createEngineFixture([{ name: "test", sync: "auto", drift: "remediate" }]);
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("restores a drifted resource when the drift policy is remediate", async () => {
    expect((await f.engine.check("test", { kind: "sync", trigger: "test", allowSync: true })).status).toBe(
      "Synced",
    );
    const bucket = `platform-sdk-${f.stackName("test")}-artifacts`;
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: bucket,
        Tagging: { TagSet: [{ Key: "team", Value: "intruders" }] },
      }),
    );

    const restored = await f.engine.check("test", { kind: "drift", trigger: "test", allowSync: true });
    expect(restored.status).toBe("Synced");
    expect(restored.sync?.applied).toBe(true);
    expect(byName(restored.drift?.resources, "artifacts")?.properties).toContainEqual(
      expect.objectContaining({ path: "tags.team", old: "platform", new: "intruders" }),
    );
    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    expect(tags.TagSet).toContainEqual({ Key: "team", Value: "platform" });
    expect(await f.engine.store.status("test")).toMatchObject({ status: "Synced", driftCount: 0 });

    const clean = await f.engine.check("test", { kind: "drift", trigger: "test", allowSync: true });
    expect(clean.drift?.resources).toEqual([]);
    expect(clean.sync).toBeUndefined();
  });
});
