import { GetBucketTaggingCommand, PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResourceChange } from "../../src/domain/changes";
import { awsClients } from "../helpers/aws";
import { openTestStack, type TestStack } from "../helpers/stacks";

// The real engine (our toolchain), a real file:// backend and real AWS API objects on the emulator.
describe("the Pulumi engine against the AWS emulator", () => {
  const { s3, sqs } = awsClients();
  let t: TestStack;
  let bucket: string;
  let queueUrl: string;

  beforeAll(async () => {
    t = await openTestStack("stacks/aws-sdk", { team: "platform", queueVisibilityTimeout: "30" });
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const find = (resources: ResourceChange[], name: string) => resources.find((r) => r.name === name);

  it("up creates the bucket and the queue in the emulator", async () => {
    const result = await t.stack.up();
    expect(result.summary.create).toBe(3); // the stack, the bucket, the queue
    bucket = String(result.outputs.bucketName);
    queueUrl = String(result.outputs.queueUrl);

    const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    expect(tags.TagSet).toEqual(
      expect.arrayContaining([
        { Key: "team", Value: "platform" },
        { Key: "environment", Value: t.stackName },
      ]),
    );
    const found = await sqs.send(new GetQueueUrlCommand({ QueueName: `platform-sdk-${t.stackName}-events` }));
    expect(found.QueueUrl).toBe(queueUrl);
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["VisibilityTimeout"] }),
    );
    expect(attrs.Attributes?.VisibilityTimeout).toBe("30");
  });

  it("a second preview shows no changes", async () => {
    const preview = await t.stack.preview();
    expect(preview.changes.resources).toEqual([]);
    expect(Object.keys(preview.summary)).toEqual(["same"]);
  });

  it("reports an out-of-band change as drift on that resource and property, old → new", async () => {
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: bucket,
        Tagging: {
          TagSet: [
            { Key: "team", Value: "intruders" },
            { Key: "environment", Value: t.stackName },
            { Key: "managed-by", Value: "pulumi" },
          ],
        },
      }),
    );
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { VisibilityTimeout: "99" } }),
    );

    const drift = await t.stack.previewDrift();
    expect(drift.changes.kind).toBe("drift");
    const artifacts = find(drift.changes.resources, "artifacts");
    expect(artifacts?.action).toBe("drifted");
    expect(artifacts?.properties).toEqual([
      { path: "tags.team", kind: "update", old: "platform", new: "intruders", replaces: false },
    ]);
    const events = find(drift.changes.resources, "events");
    expect(events?.properties).toEqual([
      { path: "visibilityTimeoutSeconds", kind: "update", old: 30, new: 99, replaces: false },
    ]);

    // A preview without refresh compares Git with the deployed state only: drift is not a pending change.
    const pending = await t.stack.preview();
    expect(pending.changes.resources).toEqual([]);
  });

  it("reports a config change as a pending update on that property", async () => {
    await t.stack.setConfig("extraTags", JSON.stringify({ owner: "payments" }));
    await t.stack.setConfig("queueVisibilityTimeout", "45");

    const pending = await t.stack.preview();
    expect(pending.changes.kind).toBe("pending");
    const artifacts = find(pending.changes.resources, "artifacts");
    expect(artifacts?.action).toBe("update");
    expect(artifacts?.properties).toEqual([
      { path: "tags.owner", kind: "add", new: "payments", replaces: false },
    ]);
    const events = find(pending.changes.resources, "events");
    expect(events?.properties).toEqual(
      expect.arrayContaining([
        { path: "tags.owner", kind: "add", new: "payments", replaces: false },
        { path: "visibilityTimeoutSeconds", kind: "update", old: 30, new: 45, replaces: false },
      ]),
    );
  });

  // What an approved sync relies on when it does not preview again (reconcile/sync.ts verifyPlan).
  it("holds an update to the plan its preview saved: the engine refuses one that leaves it, and the checkpoint tells the update", async () => {
    const timeout = async () =>
      (
        await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["VisibilityTimeout"] }),
        )
      ).Attributes?.VisibilityTimeout;
    await expect(t.stack.up({ followPlan: true })).rejects.toThrow(/needs a preview that saved one/);
    const before = await t.stack.checkpoint({ reread: true });
    const live = await timeout();
    await t.stack.preview({ savePlan: true }); // plans visibilityTimeoutSeconds 30 → 45
    await t.stack.setConfig("queueVisibilityTimeout", "50");
    await expect(t.stack.up({ followPlan: true })).rejects.toThrow(/violates plan/);
    expect(await timeout()).toBe(live);

    await t.stack.setConfig("queueVisibilityTimeout", "45");
    await t.stack.preview({ savePlan: true });
    await t.stack.up({ followPlan: true });
    expect(await timeout()).toBe("45");
    expect(await t.stack.checkpoint({ reread: true })).not.toBe(before);
    // The plan served its update: a second update held to it has none.
    await expect(t.stack.up({ followPlan: true })).rejects.toThrow(/needs a preview that saved one/);
  });
});
