import { readFileSync } from "node:fs";
import path from "node:path";

import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { beforeAll, describe, expect, it, vi } from "vitest";

// Runs the example program under Pulumi's mocks with the config from the real Pulumi.<env>.yaml
// files, so the program and the stack files cannot drift apart unnoticed.

const repoRoot = path.resolve(__dirname, "../../..");
const ACCOUNT_ID = "123456789012";
const DAY_SECONDS = 86_400;

type StackConfig = Record<string, unknown>;

interface RegisteredResource {
  type: string;
  name: string;
  id: string;
  // Inputs are whatever the program passed, resolved; individual tests narrow them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  inputs: Record<string, any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  state: Record<string, any>;
}

interface ProgramRun {
  resources: RegisteredResource[];
  outputs: { bucketName: string; bucketArn: string; queueUrl: string; queueArn: string };
}

function readYaml(file: string): Record<string, unknown> {
  return parse(readFileSync(path.join(repoRoot, file), "utf8")) as Record<string, unknown>;
}

const projectName = readYaml("Pulumi.yaml").name as string;

function readStackConfig(stack: string): StackConfig {
  return readYaml(`Pulumi.${stack}.yaml`).config as StackConfig;
}

/** What the Pulumi CLI hands the program: every value a string, structured values as JSON. */
function toRuntimeConfig(config: StackConfig): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [
      key,
      typeof value === "string" ? value : JSON.stringify(value),
    ]),
  );
}

/** Deterministic stand-ins for what AWS would return, derived from the logical name and stack. */
function fakeCloudState(type: string, name: string, stack: string, region: string) {
  const physicalName = `${name}-${stack}`;
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return { id: physicalName, state: { bucket: physicalName, arn: `arn:aws:s3:::${physicalName}` } };
    case "aws:sqs/queue:Queue": {
      const url = `https://sqs.${region}.amazonaws.com/${ACCOUNT_ID}/${physicalName}`;
      return {
        id: url,
        state: { name: physicalName, url, arn: `arn:aws:sqs:${region}:${ACCOUNT_ID}:${physicalName}` },
      };
    }
    default:
      return { id: `${physicalName}-id`, state: {} };
  }
}

function outputValue<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

async function runProgram(stack: string, config: StackConfig): Promise<ProgramRun> {
  const region = config["aws:region"] as string;
  const resources: RegisteredResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const { id, state } = fakeCloudState(args.type, args.name, stack, region);
        const full = { ...args.inputs, ...state };
        resources.push({ type: args.type, name: args.name, id, inputs: args.inputs, state: full });
        return { id, state: full };
      },
      call(args) {
        return args.inputs;
      },
    },
    projectName,
    stack,
    false,
  );
  pulumi.runtime.setAllConfig(toRuntimeConfig(config));

  // The program reads its config and registers resources at import time, so import it afresh per stack.
  vi.resetModules();
  try {
    const program = await import("../../../stacks/aws/index.js");
    const outputs = {
      bucketName: await outputValue(program.bucketName),
      bucketArn: await outputValue(program.bucketArn),
      queueUrl: await outputValue(program.queueUrl),
      queueArn: await outputValue(program.queueArn),
    };
    return { resources, outputs };
  } finally {
    // Drains registrations nothing awaits (e.g. BucketVersioning) before the next stack's mocks.
    await pulumi.runtime.disconnect();
  }
}

function findResource(run: ProgramRun, type: string, name: string): RegisteredResource {
  const found = run.resources.filter((r) => r.type === type && r.name === name);
  expect(found, `${type} ${name}`).toHaveLength(1);
  return found[0]!;
}

const BUCKET = "aws:s3/bucket:Bucket";
const VERSIONING = "aws:s3/bucketVersioning:BucketVersioning";
const QUEUE = "aws:sqs/queue:Queue";

describe.each(["test", "stage", "prod"])("stacks/aws with Pulumi.%s.yaml", (stack) => {
  const config = readStackConfig(stack);
  let run: ProgramRun;

  beforeAll(async () => {
    run = await runProgram(stack, config);
  });

  it("tags the bucket and both queues with the environment, owner and the extra tags", () => {
    const expected = {
      ...(config["platform:extraTags"] as Record<string, string>),
      environment: stack,
      project: "platform",
      team: config["platform:team"],
      "cost-center": config["platform:costCenter"],
      "managed-by": "pulumi",
    };
    expect(findResource(run, BUCKET, "artifacts").inputs.tags).toEqual(expected);
    expect(findResource(run, QUEUE, "jobs").inputs.tags).toEqual(expected);
    expect(findResource(run, QUEUE, "jobs-dlq").inputs.tags).toEqual(expected);
  });

  it("sets the queue's visibility timeout and retention from the stack file", () => {
    const queue = findResource(run, QUEUE, "jobs");
    expect(queue.inputs.visibilityTimeoutSeconds).toBe(config["platform:queueVisibilityTimeout"]);
    expect(queue.inputs.messageRetentionSeconds).toBe(
      (config["platform:messageRetentionDays"] as number) * DAY_SECONDS,
    );
  });

  it("redrives failed messages to the dead-letter queue's arn", () => {
    const queue = findResource(run, QUEUE, "jobs");
    const deadLetterQueue = findResource(run, QUEUE, "jobs-dlq");
    expect(deadLetterQueue.state.arn).toBe(`arn:aws:sqs:us-east-1:${ACCOUNT_ID}:jobs-dlq-${stack}`);
    expect(JSON.parse(queue.inputs.redrivePolicy as string)).toEqual({
      deadLetterTargetArn: deadLetterQueue.state.arn,
      maxReceiveCount: config["platform:maxReceiveCount"],
    });
    // The DLQ keeps messages for the SQS maximum so they outlive the source queue's retention.
    expect(deadLetterQueue.inputs.messageRetentionSeconds).toBe(14 * DAY_SECONDS);
    expect(deadLetterQueue.inputs.redrivePolicy).toBeUndefined();
  });

  it("versions the bucket exactly when the stack file asks for it", () => {
    const versioning = run.resources.filter((r) => r.type === VERSIONING);
    if (config["platform:versioning"] === true) {
      expect(versioning).toHaveLength(1);
      expect(versioning[0]!.inputs).toMatchObject({
        bucket: `artifacts-${stack}`,
        versioningConfiguration: { status: "Enabled" },
      });
    } else {
      expect(versioning).toHaveLength(0);
    }
  });

  it("blocks public access and sets default encryption on the bucket", () => {
    expect(
      findResource(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "artifacts").inputs,
    ).toEqual({
      bucket: `artifacts-${stack}`,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const encryption = findResource(
      run,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "artifacts",
    );
    expect(encryption.inputs).toEqual({
      bucket: `artifacts-${stack}`,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
  });

  it("exports the bucket's and the queue's identifiers", () => {
    expect(run.outputs).toEqual({
      bucketName: `artifacts-${stack}`,
      bucketArn: `arn:aws:s3:::artifacts-${stack}`,
      queueUrl: `https://sqs.us-east-1.amazonaws.com/${ACCOUNT_ID}/jobs-${stack}`,
      queueArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:jobs-${stack}`,
    });
  });
});

describe("stacks/aws environment policy", () => {
  // Pinned independently of the program, so editing a stack file cannot silently drop these.
  it("enables versioning in prod and not in test", () => {
    expect(readStackConfig("prod")["platform:versioning"]).toBe(true);
    expect(readStackConfig("test")["platform:versioning"] ?? false).toBe(false);
  });

  it("registers a BucketVersioning resource in prod and none in test", async () => {
    const prod = await runProgram("prod", readStackConfig("prod"));
    const test = await runProgram("test", readStackConfig("test"));
    expect(prod.resources.filter((r) => r.type === VERSIONING)).toHaveLength(1);
    expect(test.resources.filter((r) => r.type === VERSIONING)).toHaveLength(0);
  });
});

describe("stacks/aws config errors", () => {
  it("names the missing mandatory key and how to set it", async () => {
    const { "platform:team": _team, ...withoutTeam } = readStackConfig("stage");
    await expect(runProgram("stage", withoutTeam)).rejects.toThrow(
      /Missing required configuration variable 'platform:team'[\s\S]*pulumi config set platform:team <value>/,
    );
  });

  it("rejects a visibility timeout above the SQS limit", async () => {
    const config = { ...readStackConfig("stage"), "platform:queueVisibilityTimeout": 50_000 };
    await expect(runProgram("stage", config)).rejects.toThrow(
      "Configuration 'platform:queueVisibilityTimeout' value '50000' is outside of the legal range (max 43200, inclusive)",
    );
  });

  it("rejects a non-string extra tag value", async () => {
    const config = { ...readStackConfig("stage"), "platform:extraTags": { retention: 30 } };
    await expect(runProgram("stage", config)).rejects.toThrow(
      "platform:extraTags.retention must be a string, got 30",
    );
  });
});
