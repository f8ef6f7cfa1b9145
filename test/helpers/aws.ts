import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { inject } from "vitest";
import { awsClientConfig } from "../../src/devenv/emulator";

/** AWS SDK clients on the emulator: tests check the live world through them, not through Pulumi. */
export function awsClients(): { s3: S3Client; sqs: SQSClient } {
  const config = awsClientConfig(inject("aws"));
  return { s3: new S3Client(config), sqs: new SQSClient(config) };
}
