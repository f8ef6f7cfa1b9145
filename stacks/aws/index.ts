import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

const DAY_SECONDS = 24 * 60 * 60;

// Keys live under the project namespace, e.g. `platform:team` in Pulumi.<stack>.yaml.
const config = new pulumi.Config();

// Owner and billing tags are mandatory: an untagged resource is one nobody pays for or answers for.
const team = config.require("team");
const costCenter = config.require("costCenter");

// The ranges are the SQS limits, so a typo fails here rather than halfway through `pulumi up`.
// Visibility timeout must exceed the consumers' worst-case processing time, or messages are redelivered.
const queueVisibilityTimeout = config.getNumber("queueVisibilityTimeout", { min: 0, max: 43_200 }) ?? 30;
const messageRetentionDays = config.getNumber("messageRetentionDays", { min: 1, max: 14 }) ?? 4;
const maxReceiveCount = config.getNumber("maxReceiveCount", { min: 1, max: 1_000 }) ?? 5;
const versioning = config.getBoolean("versioning") ?? false;
const extraTags = readExtraTags();

// Standard tags come last so extraTags cannot override them: cost reports and ownership lookups
// depend on these keys.
const tags: Record<string, string> = {
  ...extraTags,
  environment: pulumi.getStack(),
  project: pulumi.getProject(),
  team,
  "cost-center": costCenter,
  "managed-by": "pulumi",
};

// No explicit names: Pulumi appends a random suffix, so several environments can share an account
// and a replacement can create the new resource before deleting the old one.
const bucket = new aws.s3.Bucket("artifacts", { tags });

new aws.s3.BucketPublicAccessBlock("artifacts", {
  bucket: bucket.id,
  blockPublicAcls: true,
  blockPublicPolicy: true,
  ignorePublicAcls: true,
  restrictPublicBuckets: true,
});

// S3 encrypts new objects with SSE-S3 by default; declaring it lets drift detection catch a change.
new aws.s3.BucketServerSideEncryptionConfiguration("artifacts", {
  bucket: bucket.id,
  rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
});

// Removing this resource later only suspends versioning: S3 cannot return a bucket to "unversioned".
if (versioning) {
  new aws.s3.BucketVersioning("artifacts", {
    bucket: bucket.id,
    versioningConfiguration: { status: "Enabled" },
  });
}

// A message keeps its original enqueue time when moved to the dead-letter queue, so the DLQ keeps
// messages for the SQS maximum to leave time to inspect and redrive them.
const deadLetterQueue = new aws.sqs.Queue("jobs-dlq", {
  messageRetentionSeconds: 14 * DAY_SECONDS,
  sqsManagedSseEnabled: true,
  tags,
});

const queue = new aws.sqs.Queue("jobs", {
  visibilityTimeoutSeconds: queueVisibilityTimeout,
  messageRetentionSeconds: messageRetentionDays * DAY_SECONDS,
  sqsManagedSseEnabled: true,
  // After maxReceiveCount failed receives, a message moves to the DLQ instead of blocking consumers.
  redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: deadLetterQueue.arn, maxReceiveCount }),
  tags,
});

export const bucketName = bucket.bucket;
export const bucketArn = bucket.arn;
export const queueUrl = queue.url;
export const queueArn = queue.arn;

/** `extraTags` is an object of tag name to value, e.g. `data-classification: internal`. */
function readExtraTags(): Record<string, string> {
  const key = `${config.name}:extraTags`;
  const raw: unknown = config.getObject("extraTags") ?? {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new Error(`${key} must be an object of tag name to value`);
  }
  for (const [name, value] of Object.entries(raw)) {
    // AWS rejects non-string tag values, but only once the deployment is under way.
    if (typeof value !== "string") {
      throw new Error(`${key}.${name} must be a string, got ${JSON.stringify(value)}`);
    }
  }
  return raw as Record<string, string>;
}
