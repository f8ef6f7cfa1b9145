import * as pulumi from "@pulumi/pulumi";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketTaggingCommand,
  GetBucketTaggingCommand,
  HeadBucketCommand,
  PutBucketTaggingCommand,
} from "@aws-sdk/client-s3";
import { errorName, s3Client } from "./clients";

export interface BucketArgs {
  bucketName: pulumi.Input<string>;
  tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

interface BucketState {
  bucketName: string;
  tags: Record<string, string>;
}

async function putTags(bucketName: string, tags: Record<string, string>): Promise<void> {
  const client = s3Client();
  const tagSet = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  if (tagSet.length === 0) {
    await client.send(new DeleteBucketTaggingCommand({ Bucket: bucketName }));
    return;
  }
  await client.send(new PutBucketTaggingCommand({ Bucket: bucketName, Tagging: { TagSet: tagSet } }));
}

// read() fetches the live bucket, so a refresh reports tags edited outside Pulumi as drift and a
// bucket deleted outside Pulumi as gone.
async function readBucket(bucketName: string): Promise<BucketState | undefined> {
  const client = s3Client();
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucketName }));
  } catch (err) {
    if (["NotFound", "NoSuchBucket"].includes(errorName(err))) return undefined;
    throw err;
  }
  try {
    const out = await client.send(new GetBucketTaggingCommand({ Bucket: bucketName }));
    const tags = Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
    return { bucketName, tags };
  } catch (err) {
    if (errorName(err) === "NoSuchTagSet") return { bucketName, tags: {} };
    throw err;
  }
}

const bucketProvider: pulumi.dynamic.ResourceProvider<BucketState, BucketState> = {
  async create(inputs) {
    await s3Client().send(new CreateBucketCommand({ Bucket: inputs.bucketName }));
    await putTags(inputs.bucketName, inputs.tags ?? {});
    return { id: inputs.bucketName, outs: { bucketName: inputs.bucketName, tags: inputs.tags ?? {} } };
  },
  // The live values are the inputs too, as a real provider's read gives them: a refresh then keeps
  // a property the program's ignoreChanges names (tidegate's drift.ignore) at its live value.
  async read(id) {
    const live = await readBucket(id);
    return live ? { id, props: live, inputs: live } : {};
  },
  async diff(_id, olds, news) {
    const replaces = olds.bucketName !== news.bucketName ? ["bucketName"] : [];
    const tagsChanged = JSON.stringify(sorted(olds.tags)) !== JSON.stringify(sorted(news.tags ?? {}));
    return { changes: replaces.length > 0 || tagsChanged, replaces, deleteBeforeReplace: true };
  },
  async update(_id, _olds, news) {
    await putTags(news.bucketName, news.tags ?? {});
    return { outs: { bucketName: news.bucketName, tags: news.tags ?? {} } };
  },
  async delete(id) {
    await s3Client().send(new DeleteBucketCommand({ Bucket: id }));
  },
};

function sorted(tags: Record<string, string>): [string, string][] {
  return Object.entries(tags).sort(([a], [b]) => a.localeCompare(b));
}

/** An S3 bucket with tags, managed through the AWS SDK. */
export class Bucket extends pulumi.dynamic.Resource {
  declare public readonly bucketName: pulumi.Output<string>;
  declare public readonly tags: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: BucketArgs, opts?: pulumi.CustomResourceOptions) {
    super(bucketProvider, name, { tags: {}, ...args }, opts, "aws-sdk", "Bucket");
  }
}
