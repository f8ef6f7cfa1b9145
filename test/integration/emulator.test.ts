import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketTaggingCommand,
  PutBucketTaggingCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { awsClientConfig, startEmulator, type Emulator } from "../../src/devenv/emulator";
import { isPortOpen } from "../../src/devenv/emulator/ports";

// Starts its own emulator (no global setup): AWS_ENDPOINT_URL, else LocalStack in Docker, else moto.
describe("startEmulator", () => {
  let emulator: Emulator;
  let s3: S3Client;
  let sqs: SQSClient;
  const suffix = `${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    emulator = await startEmulator({ log: (message) => console.log(`[emulator] ${message}`) });
    s3 = new S3Client(awsClientConfig(emulator));
    sqs = new SQSClient(awsClientConfig(emulator));
  }, 600_000);

  afterAll(async () => {
    s3?.destroy();
    sqs?.destroy();
    await emulator?.stop();
  }, 60_000);

  it("reports where it listens", () => {
    expect(["external", "localstack-container", "moto"]).toContain(emulator.kind);
    expect(emulator.endpoint).toMatch(/^https?:\/\/[^/]+:\d+$/);
    expect(emulator.region).not.toBe("");
  });

  it("creates an S3 bucket with tags and reads them back", async () => {
    const bucket = `tidegate-emulator-${suffix}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutBucketTaggingCommand({
        Bucket: bucket,
        Tagging: {
          TagSet: [
            { Key: "tidegate:environment", Value: "dev" },
            { Key: "owner", Value: "platform" },
          ],
        },
      }),
    );
    const tagging = await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }));
    const tags = Object.fromEntries((tagging.TagSet ?? []).map((tag) => [tag.Key, tag.Value]));
    expect(tags).toEqual({ "tidegate:environment": "dev", owner: "platform" });
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  });

  it("creates an SQS queue, sets VisibilityTimeout and reads it back", async () => {
    const created = await sqs.send(new CreateQueueCommand({ QueueName: `tidegate-emulator-${suffix}` }));
    const queueUrl = created.QueueUrl;
    expect(queueUrl).toBeDefined();
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { VisibilityTimeout: "42" } }),
    );
    const read = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["VisibilityTimeout"] }),
    );
    expect(read.Attributes?.VisibilityTimeout).toBe("42");
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  });

  it("answers STS GetCallerIdentity", async () => {
    // No STS client is installed; a query-protocol POST whose credential scope names sts is enough for
    // the emulator to route it (neither moto nor LocalStack checks signatures by default).
    const response = await fetch(`${emulator.endpoint}/`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${emulator.region}/sts/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: "Action=GetCallerIdentity&Version=2011-06-15",
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/<Account>\d{12}<\/Account>/);
  });

  it("stops and frees its port", async () => {
    const url = new URL(emulator.endpoint);
    const host = url.hostname;
    const port = Number(url.port);
    const started = emulator.kind !== "external";
    if (started) expect(await isPortOpen(host, port)).toBe(true);
    await emulator.stop();
    await emulator.stop(); // idempotent
    if (started) expect(await isPortOpen(host, port)).toBe(false);
  }, 60_000);
});
