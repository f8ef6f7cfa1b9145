import {
  LocalWorkspace,
  PulumiCommand,
  Stack,
  type EngineEvent,
  type OutputMap,
} from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as path from "node:path";
import type { PolicyViolation } from "../../domain/gates";
import { enginePath, type PulumiToolchain } from "./toolchain";
import type { ChangeSet } from "../../domain/changes";
import { driftChanges, pendingChanges } from "./changes";
import { classifyPulumiError } from "./errors";
import { failedOnlyOnPolicy, policyViolations, summaryOf } from "./policy";
import { backendSecrets, readStackSettings, verifyStackSecrets, writeEncryptionSalt } from "./secrets";
import { PulumiError } from "./errors";

export interface StackOptions {
  /** Folder with the project's Pulumi.yaml. */
  workDir: string;
  stackName: string;
  /** `file://<dir>`, `s3://...` or a Pulumi Cloud URL. */
  backendUrl: string;
  /** Secrets passphrase for the stack (passphrase secrets provider). */
  passphrase: string;
  /** Where the passphrase comes from, named in errors (never the value), e.g. "file /etc/tidegate/pass". */
  passphraseSource?: string;
  /** The environment the stack belongs to, named in errors. */
  environment?: string;
  toolchain: PulumiToolchain;
  /** Extra environment for the engine, its language host and providers (e.g. AWS settings). */
  env?: Record<string, string>;
  /** Isolates plugins and credentials from the user's ~/.pulumi. */
  pulumiHome?: string;
}

export interface PreviewResult {
  changes: ChangeSet;
  /** Resource counts by engine operation, as the engine summarised them. */
  summary: Record<string, number>;
  /** What the policy packs found; empty when none ran (always for drift). */
  policy: PolicyViolation[];
}

export interface PreviewOptions {
  /**
   * Absolute folders of Node.js policy packs (each with PulumiPolicy.yaml and its dependencies
   * installed) to run on the preview.
   */
  policyPacks?: string[];
}

export interface UpResult {
  summary: Record<string, number>;
  outputs: Record<string, unknown>;
}

export interface UpOptions {
  /** The commit being deployed; recorded in the update's message so the backend knows it. */
  commit?: string;
  /** Refresh first, so drifted resources are restored to the program's desired state. */
  refresh?: boolean;
  onOutput?: (line: string) => void;
}

/** The last successful update: what the backend says is deployed. */
export interface Deployed {
  commit?: string;
  version: number;
  endTime: Date;
}

/** A resource operation an interrupted update left unfinished. */
export interface PendingOperation {
  urn: string;
  type: string;
  operation: string;
}

const COMMIT_MARKER = /tidegate-commit: ([0-9a-f]{7,64})/;

/** One Pulumi stack driven through the Automation API with the pinned toolchain. */
export class PulumiStack {
  private verified: Promise<string | undefined> | undefined;

  private constructor(
    readonly stack: Stack,
    private readonly secrets: { passphrase: string; source: string; subject: string },
  ) {}

  static async open(options: StackOptions): Promise<PulumiStack> {
    if (options.backendUrl.startsWith("file://")) {
      fs.mkdirSync(options.backendUrl.slice("file://".length), { recursive: true });
    }
    if (options.pulumiHome) fs.mkdirSync(options.pulumiHome, { recursive: true });
    const pulumiCommand = await PulumiCommand.get({ root: options.toolchain.root });
    const envVars: Record<string, string> = {
      ...options.env,
      PATH: enginePath(options.toolchain, options.env?.PATH ?? process.env.PATH),
      PULUMI_BACKEND_URL: options.backendUrl,
      PULUMI_CONFIG_PASSPHRASE: options.passphrase,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
      ...(options.pulumiHome ? { PULUMI_HOME: options.pulumiHome } : {}),
    };
    const workspace = await LocalWorkspace.create({
      workDir: path.resolve(options.workDir),
      pulumiCommand,
      envVars,
    });
    try {
      const stack = await Stack.createOrSelect(options.stackName, workspace);
      return new PulumiStack(stack, {
        passphrase: options.passphrase,
        source: options.passphraseSource ?? "PULUMI_CONFIG_PASSPHRASE as given to the stack",
        subject: `${options.environment ? `environment '${options.environment}'` : "stack"} (stack ${options.stackName})`,
      });
    } catch (err) {
      throw classifyPulumiError(err);
    }
  }

  get name(): string {
    return this.stack.name;
  }

  /**
   * Checks the passphrase against the deployed stack's secrets provider and the committed salt, and
   * pins the deployed salt in the stack's settings file, before anything of the engine runs (see
   * verifyStackSecrets). Once per opened stack; every preview and update waits for it.
   */
  verifySecrets(): Promise<void> {
    this.verified ??= this.pinSecrets();
    return this.verified.then(() => undefined);
  }

  private async pinSecrets(): Promise<string | undefined> {
    const backend = backendSecrets(await this.exported());
    const settings = readStackSettings(this.stack.workspace.workDir, this.stack.name);
    const verdict = await verifyStackSecrets({ ...this.secrets, backend, settings });
    if (verdict.writeSalt && verdict.salt) writeEncryptionSalt(settings.file, verdict.salt);
    return verdict.salt;
  }

  private async exported(): Promise<unknown> {
    try {
      return await this.stack.exportStack();
    } catch (err) {
      throw classifyPulumiError(err);
    }
  }

  async setConfig(key: string, value: string, secret = false): Promise<void> {
    await this.stack.setConfig(key, { value, secret });
  }

  /**
   * Pending changes: the program and config at hand against the deployed state, checked by the
   * given policy packs. A mandatory violation fails Pulumi's preview, but the preview is complete:
   * it is returned with the violation, for the caller to block on.
   */
  async preview(options: PreviewOptions = {}): Promise<PreviewResult> {
    const events: EngineEvent[] = [];
    const policyPacks = options.policyPacks ?? [];
    await this.verifySecrets();
    for (const pack of policyPacks) {
      if (!path.isAbsolute(pack)) {
        throw new Error(`policy pack folder must be an absolute path, got '${pack}'`);
      }
    }
    try {
      const result = await this.stack.preview({
        onEvent: (e) => events.push(e),
        diff: true,
        ...(policyPacks.length > 0 ? { policyPacks } : {}),
      });
      return {
        changes: pendingChanges(events),
        summary: { ...result.changeSummary },
        policy: policyViolations(events),
      };
    } catch (err) {
      if (policyPacks.length > 0 && failedOnlyOnPolicy(events)) {
        return {
          changes: pendingChanges(events),
          summary: summaryOf(events),
          policy: policyViolations(events),
        };
      }
      throw classifyPulumiError(err);
    }
  }

  /** Drift: the live resources against the deployed state; changes nothing. */
  async previewDrift(): Promise<PreviewResult> {
    const events: EngineEvent[] = [];
    await this.verifySecrets();
    try {
      const result = await this.stack.previewRefresh({ onEvent: (e) => events.push(e) });
      return { changes: driftChanges(events), summary: { ...result.changeSummary }, policy: [] };
    } catch (err) {
      throw classifyPulumiError(err);
    }
  }

  async up(options: UpOptions = {}): Promise<UpResult> {
    await this.verifySecrets();
    let result: Awaited<ReturnType<Stack["up"]>>;
    try {
      result = await this.stack.up({
        message: options.commit ? `tidegate sync (tidegate-commit: ${options.commit})` : "tidegate sync",
        refresh: options.refresh,
        onOutput: options.onOutput,
      });
    } catch (err) {
      throw classifyPulumiError(err);
    }
    await this.assertSecretsKept();
    return { summary: { ...result.summary.resourceChanges }, outputs: plainOutputs(result.outputs) };
  }

  /** Defence in depth: the update must have kept the salt verified before it. */
  private async assertSecretsKept(): Promise<void> {
    const before = await this.verified;
    if (before === undefined) return;
    const after = backendSecrets(await this.exported());
    if (after?.salt !== before) {
      throw new PulumiError(
        "secrets-replaced",
        `${this.secrets.subject}: the update replaced the stack's secrets provider (its passphrase salt changed)`,
      );
    }
  }

  /** The last successful update and the commit it deployed, or undefined for a stack never deployed. */
  async deployed(): Promise<Deployed | undefined> {
    const history = await this.stack.history(20);
    const last = history.find((u) => u.kind === "update" && u.result === "succeeded");
    if (!last) return undefined;
    const commit = COMMIT_MARKER.exec(last.message)?.[1] ?? last.environment["git.head"];
    return { commit, version: last.version, endTime: last.endTime };
  }

  /** Operations an interrupted update left in the state (a crash mid-update). */
  async pendingOperations(): Promise<PendingOperation[]> {
    const state = await this.stack.exportStack();
    const deployment = state.deployment as
      { pending_operations?: Array<{ resource: { urn: string; type: string }; type: string }> } | undefined;
    return (deployment?.pending_operations ?? []).map((op) => ({
      urn: op.resource.urn,
      type: op.resource.type,
      operation: op.type,
    }));
  }

  async destroy(): Promise<void> {
    await this.stack.destroy({});
  }

  async remove(): Promise<void> {
    await this.stack.workspace.removeStack(this.stack.name, { force: true });
  }
}

function plainOutputs(outputs: OutputMap): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]));
}
