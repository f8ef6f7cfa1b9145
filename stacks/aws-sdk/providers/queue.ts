import * as pulumi from "@pulumi/pulumi";
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  SetQueueAttributesCommand,
  TagQueueCommand,
  UntagQueueCommand,
} from "@aws-sdk/client-sqs";
import { errorName, sqsClient } from "./clients";

export interface QueueArgs {
  queueName: pulumi.Input<string>;
  visibilityTimeoutSeconds: pulumi.Input<number>;
  messageRetentionSeconds: pulumi.Input<number>;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

interface QueueInputs {
  queueName: string;
  visibilityTimeoutSeconds: number;
  messageRetentionSeconds: number;
  tags: Record<string, string>;
}

interface QueueState extends QueueInputs {
  queueUrl: string;
  arn: string;
}

function attributes(inputs: QueueInputs): Record<string, string> {
  return {
    VisibilityTimeout: String(inputs.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(inputs.messageRetentionSeconds),
  };
}

// read() fetches the live queue, so a refresh reports attributes or tags changed outside Pulumi.
async function readQueue(queueName: string): Promise<QueueState | undefined> {
  const client = sqsClient();
  let queueUrl: string;
  try {
    const found = await client.send(new GetQueueUrlCommand({ QueueName: queueName }));
    queueUrl = found.QueueUrl ?? "";
  } catch (err) {
    if (["QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"].includes(errorName(err))) {
      return undefined;
    }
    throw err;
  }
  const attrs = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }),
  );
  const tags = await client.send(new ListQueueTagsCommand({ QueueUrl: queueUrl }));
  const a = attrs.Attributes ?? {};
  return {
    queueName,
    queueUrl,
    arn: a.QueueArn ?? "",
    visibilityTimeoutSeconds: Number(a.VisibilityTimeout),
    messageRetentionSeconds: Number(a.MessageRetentionPeriod),
    tags: tags.Tags ?? {},
  };
}

async function urlOf(queueName: string): Promise<string> {
  const found = await sqsClient().send(new GetQueueUrlCommand({ QueueName: queueName }));
  if (!found.QueueUrl) throw new Error(`queue ${queueName} has no URL`);
  return found.QueueUrl;
}

async function syncTags(queueUrl: string, olds: Record<string, string>, news: Record<string, string>) {
  const client = sqsClient();
  const removed = Object.keys(olds).filter((k) => !(k in news));
  if (removed.length > 0) await client.send(new UntagQueueCommand({ QueueUrl: queueUrl, TagKeys: removed }));
  if (Object.keys(news).length > 0)
    await client.send(new TagQueueCommand({ QueueUrl: queueUrl, Tags: news }));
}

const queueProvider: pulumi.dynamic.ResourceProvider<QueueInputs, QueueState> = {
  async create(inputs) {
    const client = sqsClient();
    await client.send(
      new CreateQueueCommand({
        QueueName: inputs.queueName,
        Attributes: attributes(inputs),
        tags: inputs.tags,
      }),
    );
    const live = await readQueue(inputs.queueName);
    if (!live) throw new Error(`queue ${inputs.queueName} was created but cannot be read back`);
    return { id: inputs.queueName, outs: live };
  },
  async read(id) {
    const live = await readQueue(id);
    return live ? { id, props: live } : {};
  },
  async diff(_id, olds, news) {
    const replaces = olds.queueName !== news.queueName ? ["queueName"] : [];
    const changed =
      olds.visibilityTimeoutSeconds !== news.visibilityTimeoutSeconds ||
      olds.messageRetentionSeconds !== news.messageRetentionSeconds ||
      JSON.stringify(Object.entries(olds.tags).sort()) !==
        JSON.stringify(Object.entries(news.tags ?? {}).sort());
    return { changes: replaces.length > 0 || changed, replaces, deleteBeforeReplace: true };
  },
  async update(_id, olds, news) {
    await sqsClient().send(
      new SetQueueAttributesCommand({ QueueUrl: olds.queueUrl, Attributes: attributes(news) }),
    );
    await syncTags(olds.queueUrl, olds.tags, news.tags ?? {});
    const live = await readQueue(news.queueName);
    if (!live) throw new Error(`queue ${news.queueName} disappeared during the update`);
    return { outs: live };
  },
  async delete(_id, props) {
    await sqsClient().send(new DeleteQueueCommand({ QueueUrl: await urlOf(props.queueName) }));
  },
};

/** An SQS queue with its attributes and tags, managed through the AWS SDK. */
export class Queue extends pulumi.dynamic.Resource {
  declare public readonly queueName: pulumi.Output<string>;
  declare public readonly queueUrl: pulumi.Output<string>;
  declare public readonly arn: pulumi.Output<string>;
  declare public readonly visibilityTimeoutSeconds: pulumi.Output<number>;
  declare public readonly tags: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: QueueArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      queueProvider,
      name,
      { tags: {}, queueUrl: undefined, arn: undefined, ...args },
      opts,
      "aws-sdk",
      "Queue",
    );
  }
}
