import type { StackLock } from "../../src/adapters/pulumi/locks";
import type { StackPort } from "../../src/adapters/pulumi/port";
import type {
  Deployed,
  PendingOperation,
  PreviewOptions,
  PreviewResult,
  StackAccess,
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
  /** Pulumi's lock files; cancel removes them. Undefined: the backend does not show them. */
  locks?: StackLock[];
  /** What each checkpoint read gives (a reread takes the next; the last one repeats); none: unknown. */
  checkpoints?: string[];
  /** clearPendingOperations fails with this (and clears nothing). */
  refresh?: Error;
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

  checkpoint(options: { reread?: boolean } = {}): Promise<string | undefined> {
    this.calls.push(options.reread ? "checkpoint (reread)" : "checkpoint");
    const all = this.script.checkpoints ?? [];
    if (options.reread && all.length > 1) all.shift();
    return Promise.resolve(all[0]);
  }

  pendingOperations(): Promise<PendingOperation[]> {
    this.calls.push("pendingOperations");
    return Promise.resolve(this.script.pendingOperations ?? []);
  }

  locks(): Promise<StackLock[] | undefined> {
    this.calls.push("locks");
    return Promise.resolve(this.script.locks);
  }

  cancel(): Promise<void> {
    this.calls.push("cancel");
    if (this.script.locks) this.script.locks = [];
    return Promise.resolve();
  }

  /** An accept of drift: the live values become the state, so the drift previews find none after it. */
  refresh(): Promise<Record<string, number>> {
    this.calls.push("refresh");
    this.driftAnswers = [changes("drift")];
    return Promise.resolve({ update: 1 });
  }

  clearPendingOperations(): Promise<Record<string, number>> {
    this.calls.push("clearPendingOperations");
    if (this.script.refresh) return Promise.reject(this.script.refresh);
    if (this.script.locks?.length)
      return Promise.reject(new Error("the stack is currently locked by 1 lock(s)"));
    this.script.pendingOperations = [];
    return Promise.resolve({ same: 1 });
  }

  access(): StackAccess {
    return {
      stackName: "test",
      workDir: "/work/app",
      pulumi: "/toolchain/bin/pulumi",
      backendUrl: "file:///state",
      pulumiHome: "/data/pulumi-home",
      passphraseSource: "file /etc/tidegate/passphrase",
    };
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
