import { PutBucketTaggingCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { inject } from "vitest";
import { awsClientConfig, awsEnvVars } from "../../src/devenv/emulator";

/** AWS SDK clients on the emulator: tests check the live world through them, not through Pulumi. */
export function awsClients(): { s3: S3Client; sqs: SQSClient } {
  const config = awsClientConfig(inject("aws"));
  return { s3: new S3Client(config), sqs: new SQSClient(config) };
}

/**
 * The part of an environment file a `tidegate` child process needs for the emulator: its endpoint
 * and region as config, its keys as credentials read from the process's own environment.
 */
export function emulatorDefinition(): Record<string, unknown> {
  const aws = awsEnvVars(inject("aws"));
  return {
    config: { AWS_ENDPOINT_URL: aws.AWS_ENDPOINT_URL, AWS_REGION: aws.AWS_REGION },
    credentials: {
      read: {
        AWS_ACCESS_KEY_ID: { env: "AWS_ACCESS_KEY_ID" },
        AWS_SECRET_ACCESS_KEY: { env: "AWS_SECRET_ACCESS_KEY" },
      },
    },
  };
}

/** Drift outside Pulumi: the artifacts bucket of a stack gets its team tag changed on the emulator. */
export async function plantTagDrift(stackName: string): Promise<void> {
  await awsClients().s3.send(
    new PutBucketTaggingCommand({
      Bucket: `platform-sdk-${stackName}-artifacts`,
      Tagging: {
        TagSet: [
          { Key: "team", Value: "intruders" },
          { Key: "environment", Value: stackName },
          { Key: "managed-by", Value: "pulumi" },
          { Key: "data-classification", Value: "internal" },
        ],
      },
    }),
  );
}
