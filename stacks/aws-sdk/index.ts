import * as pulumi from "@pulumi/pulumi";
import { Bucket } from "./providers/bucket";
import { Queue } from "./providers/queue";

// Per-environment settings live in Pulumi.<stack>.yaml on the environment's branch.
const config = new pulumi.Config();
const env = pulumi.getStack();
const prefix = config.get("namePrefix") ?? `${pulumi.getProject()}-${env}`;

const tags: Record<string, string> = {
  environment: env,
  team: config.require("team"),
  "managed-by": "pulumi",
  ...(config.getObject<Record<string, string>>("extraTags") ?? {}),
};

const artifacts = new Bucket("artifacts", { bucketName: `${prefix}-artifacts`, tags });

const events = new Queue("events", {
  queueName: `${prefix}-events`,
  visibilityTimeoutSeconds: config.getNumber("queueVisibilityTimeout") ?? 30,
  messageRetentionSeconds: (config.getNumber("messageRetentionDays") ?? 4) * 86_400,
  tags,
});

// Optional: a queue for messages the consumers gave up on (set deadLetterQueue: true).
if (config.getBoolean("deadLetterQueue")) {
  new Queue("dead-letters", {
    queueName: `${prefix}-dead-letters`,
    visibilityTimeoutSeconds: 30,
    messageRetentionSeconds: 14 * 86_400,
    tags,
  });
}

export const bucketName = artifacts.bucketName;
export const queueUrl = events.queueUrl;
export const queueArn = events.arn;
