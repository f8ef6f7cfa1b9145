import type { StackPort } from "../../src/adapters/pulumi/port";
import type {
  Deployed,
  PendingOperation,
  PreviewOptions,
  PreviewResult,
  UpOptions,
  UpResult,
} from "../../src/adapters/pulumi/stack";
import type { ChangeSet, ResourceChange } from "../../src/domain/changes";
import type { PolicyViolation } from "../../src/domain/gates";

// A StackPort that answers from a script: what each preview finds, what is deployed, what an update
// does. Every call is kept, so a test can say what ran (and what never did).

/** One answer of a preview: changes found, or the error it fails with. */
export type Scripted = ChangeSet | Error;

export interface StackScript {
  /** Each pending preview takes the next answer; the last one repeats. */
  pending?: Scripted[];
  /** Each drift preview takes the next answer; the last one repeats. */
  drift?: Scripted[];
  policy?: PolicyViolation[];
  deployed?: Deployed;
  pendingOperations?: PendingOperation[];
  /** verifySecrets fails with this. */
  secrets?: Error;
  /** What an update returns, or the error it fails with. */
  up?: UpResult | Error;
}

export class FakeStack implements StackPort {
  /** Method names in call order, e.g. ["verifySecrets", "pendingOperations", "deployed", ...]. */
  readonly calls: string[] = [];
  readonly ups: UpOptions[] = [];
  readonly previewOptions: (PreviewOptions | undefined)[] = [];
  private pendingAnswers: Scripted[];
  private driftAnswers: Scripted[];

  constructor(readonly script: StackScript = {}) {
    this.pendingAnswers = [...(script.pending ?? [changes("pending")])];
    this.driftAnswers = [...(script.drift ?? [changes("drift")])];
  }

  verifySecrets(): Promise<void> {
    this.calls.push("verifySecrets");
    return this.script.secrets ? Promise.reject(this.script.secrets) : Promise.resolve();
  }

  preview(options?: PreviewOptions): Promise<PreviewResult> {
    this.calls.push("preview");
    this.previewOptions.push(options);
    return answer(next(this.pendingAnswers), this.script.policy ?? []);
  }

  previewDrift(): Promise<PreviewResult> {
    this.calls.push("previewDrift");
    return answer(next(this.driftAnswers), []);
  }

  up(options: UpOptions = {}): Promise<UpResult> {
    this.calls.push("up");
    this.ups.push(options);
    const result = this.script.up ?? { summary: { update: 1 }, outputs: {} };
    return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
  }

  deployed(): Promise<Deployed | undefined> {
    this.calls.push("deployed");
    return Promise.resolve(this.script.deployed);
  }

  pendingOperations(): Promise<PendingOperation[]> {
    this.calls.push("pendingOperations");
    return Promise.resolve(this.script.pendingOperations ?? []);
  }
}

function next(answers: Scripted[]): Scripted {
  const first = answers[0];
  if (first === undefined) throw new Error("the fake stack has no answer scripted");
  if (answers.length > 1) answers.shift();
  return first;
}

function answer(found: Scripted, policy: PolicyViolation[]): Promise<PreviewResult> {
  if (found instanceof Error) return Promise.reject(found);
  return Promise.resolve({ changes: found, summary: {}, policy });
}

export function changes(kind: ChangeSet["kind"], ...resources: ResourceChange[]): ChangeSet {
  return { kind, resources };
}

/** A resource change of the fake program "app", e.g. resource("logs", "delete"). */
export function resource(
  name: string,
  action: ResourceChange["action"],
  type = "aws:s3/bucket:Bucket",
): ResourceChange {
  return { urn: `urn:pulumi:test::app::${type}::${name}`, type, name, action, properties: [] };
}
