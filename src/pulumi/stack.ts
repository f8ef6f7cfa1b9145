import {
  LocalWorkspace,
  PulumiCommand,
  Stack,
  type EngineEvent,
  type OutputMap,
} from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as path from "node:path";
import { enginePath, type PulumiToolchain } from "../toolchain/pulumi";
import { driftChanges, pendingChanges, type ChangeSet } from "./changes";

export interface StackOptions {
  /** Folder with the project's Pulumi.yaml. */
  workDir: string;
  stackName: string;
  /** `file://<dir>`, `s3://...` or a Pulumi Cloud URL. */
  backendUrl: string;
  /** Secrets passphrase for the stack (passphrase secrets provider). */
  passphrase: string;
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
}

export interface UpResult {
  summary: Record<string, number>;
  outputs: Record<string, unknown>;
}

/** One Pulumi stack driven through the Automation API with the pinned toolchain. */
export class PulumiStack {
  private constructor(readonly stack: Stack) {}

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
    return new PulumiStack(await Stack.createOrSelect(options.stackName, workspace));
  }

  get name(): string {
    return this.stack.name;
  }

  async setConfig(key: string, value: string, secret = false): Promise<void> {
    await this.stack.setConfig(key, { value, secret });
  }

  /** Pending changes: the program and config at hand against the deployed state. */
  async preview(): Promise<PreviewResult> {
    const events: EngineEvent[] = [];
    const result = await this.stack.preview({ onEvent: (e) => events.push(e), diff: true });
    return { changes: pendingChanges(events), summary: { ...result.changeSummary } };
  }

  /** Drift: the live resources against the deployed state; changes nothing. */
  async previewDrift(): Promise<PreviewResult> {
    const events: EngineEvent[] = [];
    const result = await this.stack.previewRefresh({ onEvent: (e) => events.push(e) });
    return { changes: driftChanges(events), summary: { ...result.changeSummary } };
  }

  async up(): Promise<UpResult> {
    const result = await this.stack.up({});
    return { summary: { ...result.summary.resourceChanges }, outputs: plainOutputs(result.outputs) };
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
