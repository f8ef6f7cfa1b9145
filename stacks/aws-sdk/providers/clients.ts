import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";

// Clients are built inside the provider process from its environment: AWS_REGION and, for an
// emulator, AWS_ENDPOINT_URL. Nothing about the endpoint is stored in the stack's state.
export function s3Client(): S3Client {
  return new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL) });
}

export function sqsClient(): SQSClient {
  return new SQSClient({});
}

export function errorName(err: unknown): string {
  return typeof err === "object" && err !== null && "name" in err ? String(err.name) : "";
}
