import {
  LocalWorkspace,
  PulumiCommand,
  Stack,
  type EngineEvent,
  type OutputMap,
} from "@pulumi/pulumi/automation";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import type { PolicyViolation } from "../../domain/gates";
import type { IgnoreChangesSpec } from "../../domain/ignore";
import { ignoreChangesEnv } from "./ignore-changes";
import { enginePath, type PulumiToolchain } from "./toolchain";
import { withPulumiTracing } from "../telemetry/pulumi";
import { inheritedEnv } from "../targets/process-env";
import {
  fieldsToTakeOver,
  locateObjects,
  takeOverFields,
  type TakeOverResult,
} from "../targets/kubernetes-owners";
import type { ChangeSet } from "../../domain/changes";
import { driftChanges, pendingChanges } from "./changes";
import { Redactor } from "../../log/redact";
import { classifyPulumiError, PulumiError } from "./errors";
import { fileStatePath, readFileHistory, readFileState } from "./file-state";
import { fileBackendLocks, type StackLock } from "./locks";
import { failedOnlyOnPolicy, policyViolations, summaryOf } from "./policy";
import {
  boundedRun,
  PulumiCancelledError,
  PulumiTimeoutError,
  type PulumiTimeouts,
  type RunCommand,
} from "./deadline";
import { backendSecrets, readStackSettings, verifyStackSecrets, writeEncryptionSalt } from "./secrets";

export interface StackOptions {
  /** Folder with the project's Pulumi.yaml. */
  workDir: string;
  stackName: string;
  /** `file://<dir>`, `s3://...` or a Pulumi Cloud URL. */
  backendUrl: string;
  /** Secrets passphrase for the stack (passphrase secrets provider); none with `secretsProvider`. */
  passphrase?: string;
  /** Where the passphrase comes from, named in errors (never the value), e.g. "file /etc/tidegate/pass". */
  passphraseSource?: string;
  /** The environment the stack belongs to, named in errors. */
  environment?: string;
  /** A cloud secrets provider (awskms://…) for the stack when it is created. */
  secretsProvider?: string;
  toolchain: PulumiToolchain;
  /**
   * The whole environment of the engine, its language host, plugins and the program (see
   * src/adapters/targets); default: the allowlisted variables of tidegate's own. Nothing else of
   * tidegate's environment reaches them.
   */
  env?: Record<string, string>;
  /** The environment of an update, when it differs (update credentials); obtained when `up` runs. */
  updateEnv?: () => Promise<Record<string, string>>;
  /** Secret values (the environment's credentials) masked in failure messages, read at each failure. */
  secrets?: Iterable<string>;
  /** Isolates plugins and credentials from the user's ~/.pulumi. */
  pulumiHome?: string;
  /** Deadlines of the CLI's operations; default DEFAULT_PULUMI_TIMEOUTS. */
  timeouts?: PulumiTimeouts;
  /** The collector previews and updates send Pulumi's own spans to (telemetry.traces). */
  otelTraces?: string;
  /** What the program leaves as it is (drift.ignore rules in force), as Pulumi ignoreChanges. */
  ignoreChanges?: IgnoreChangesSpec[];
}

/** The deadlines when tidegate.yaml sets none (see config/schema.ts). */
export const DEFAULT_PULUMI_TIMEOUTS: PulumiTimeouts = {
  previewMs: 30 * 60_000,
  updateMs: 60 * 60_000,
  refreshMs: 30 * 60_000,
  stackMs: 5 * 60_000,
};

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
  /** Keep the preview's operations as Pulumi's update plan, for an `up` with `followPlan` to be held to. */
  savePlan?: boolean;
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
  /**
   * Hold the update to the plan the last preview with `savePlan` kept: the engine itself stops at the
   * first operation the plan does not have (`pulumi up --plan`). Not with `refresh`.
   */
  followPlan?: boolean;
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

/** What a person needs to run `pulumi` on the stack by hand: never a secret value, only where it is. */
export interface StackAccess {
  stackName: string;
  workDir: string;
  /** The `pulumi` tidegate runs (in the sandbox, its wrapper). */
  pulumi: string;
  backendUrl: string;
  pulumiHome?: string;
  /** Where the passphrase comes from (a file, a variable), never the passphrase. */
  passphraseSource?: string;
  secretsProvider?: string;
}

const COMMIT_MARKER = /tidegate-commit: ([0-9a-f]{7,64})/;

/** One Pulumi stack driven through the Automation API with the pinned toolchain. */
export class PulumiStack {
  private verified: Promise<string | undefined> | undefined;
  private exportedState: ReturnType<Stack["exportStack"]> | undefined;
  /** Where this stack's update plans go (the Pulumi home is the one folder of ours the sandbox lets it write). */
  private readonly planFile: string;
  /** Whether the plan file holds the last saved preview's plan. */
  private planSaved = false;
  /** What the passphrase check needs; undefined for a cloud secrets provider (not checked here). */
  private readonly secrets: { passphrase: string; source: string; subject: string } | undefined;

  private constructor(
    readonly stack: Stack,
    private readonly options: StackOptions,
  ) {
    this.secrets =
      options.passphrase === undefined
        ? undefined
        : {
            passphrase: options.passphrase,
            source: options.passphraseSource ?? "PULUMI_CONFIG_PASSPHRASE as given to the stack",
            subject: subjectOf(options),
          };
    // One file per stack and process: a run keeps at most one plan, and the next preview replaces it.
    // The project folder is in the name: stacks of several projects may share a stack name.
    const plans = path.join(options.pulumiHome ?? os.tmpdir(), "plans");
    const project = createHash("sha256").update(path.resolve(options.workDir)).digest("hex").slice(0, 8);
    this.planFile = path.join(
      plans,
      `${options.stackName.replace(/\//g, "_")}.${project}.${process.pid}.json`,
    );
  }

  static async open(options: StackOptions): Promise<PulumiStack> {
    if (options.backendUrl.startsWith("file://")) {
      fs.mkdirSync(options.backendUrl.slice("file://".length), { recursive: true });
    }
    if (options.pulumiHome) fs.mkdirSync(options.pulumiHome, { recursive: true });
    const pulumiCommand = withoutInheritedEnv(await pulumiCommandAt(options.toolchain.root), options);
    const workspace = await LocalWorkspace.create({
      workDir: path.resolve(options.workDir),
      pulumiCommand,
      envVars: engineEnv(options, options.env ?? inheritedEnv()),
      ...(options.secretsProvider ? { secretsProvider: options.secretsProvider } : {}),
    });
    try {
      return new PulumiStack(await selectOrCreate(options, workspace), options);
    } catch (err) {
      throw failure(err, options);
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
    // Read first, with or without secrets: a malformed settings file is named with its line.
    const settings = readStackSettings(this.stack.workspace.workDir, this.stack.name);
    if (!this.secrets) return undefined;
    const backend = backendSecrets(await this.exported());
    const verdict = await verifyStackSecrets({ ...this.secrets, backend, settings });
    if (verdict.writeSalt && verdict.salt) writeEncryptionSalt(settings.file, verdict.salt);
    return verdict.salt;
  }

  private async exported(): ReturnType<Stack["exportStack"]> {
    try {
      return await this.state();
    } catch (err) {
      throw failure(err, this.options);
    }
  }

  /**
   * The stack's state as exported, read once until this object changes it: the secrets check and
   * the pending-operations check of a run share one `pulumi stack export`.
   */
  private state(): ReturnType<Stack["exportStack"]> {
    this.exportedState ??= this.readState();
    const read = this.exportedState;
    // A failed read is not kept: the next caller tries again.
    read.catch(() => {
      if (this.exportedState === read) this.exportedState = undefined;
    });
    return read;
  }

  private async readState(): ReturnType<Stack["exportStack"]> {
    const { backendUrl, workDir } = this.options;
    return readFileState(backendUrl, projectName(workDir), this.stack.name) ?? this.stack.exportStack();
  }

  /**
   * A digest of the stack's state (its checkpoint) as this run last read it, or read anew with
   * `reread`: equal digests mean no update, refresh or import changed the stack in between.
   */
  async checkpoint(options: { reread?: boolean } = {}): Promise<string> {
    if (options.reread) this.exportedState = undefined;
    const state = await this.exported();
    return `sha256:${createHash("sha256").update(JSON.stringify(state.deployment)).digest("hex")}`;
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
    if (options.savePlan) this.forgetPlan(true);
    try {
      const result = await this.stack.preview({
        onEvent: (e) => events.push(e),
        diff: true,
        ...(policyPacks.length > 0 ? { policyPacks } : {}),
        ...(options.savePlan ? { plan: this.planFile } : {}),
      });
      this.planSaved = options.savePlan === true;
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
      throw failure(err, this.options);
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
      throw failure(err, this.options);
    }
  }

  /** Drops the saved plan (an update used it, or a new preview replaces it); `dir` makes its folder. */
  private forgetPlan(dir = false): void {
    this.planSaved = false;
    fs.rmSync(this.planFile, { force: true });
    if (dir) fs.mkdirSync(path.dirname(this.planFile), { recursive: true });
  }

  async up(options: UpOptions = {}): Promise<UpResult> {
    await this.verifySecrets();
    if (options.followPlan && (options.refresh || !this.planSaved)) {
      throw new Error(
        `${subjectOf(this.options)}: an update held to a plan needs a preview that saved one, and no refresh`,
      );
    }
    const workspace = this.stack.workspace as LocalWorkspace;
    const readEnv = { ...workspace.envVars };
    let result: Awaited<ReturnType<Stack["up"]>>;
    // The update changes the state: what follows it (the salt check, pending operations) reads anew.
    this.exportedState = undefined;
    try {
      if (this.options.updateEnv) workspace.envVars = engineEnv(this.options, await this.options.updateEnv());
      result = await this.stack.up({
        message: options.commit ? `tidegate sync (tidegate-commit: ${options.commit})` : "tidegate sync",
        refresh: options.refresh,
        onOutput: options.onOutput,
        ...(options.followPlan ? { plan: this.planFile } : {}),
      });
    } catch (err) {
      throw await this.stopped(failure(err, this.options));
    } finally {
      if (options.followPlan) this.forgetPlan();
      // The update credentials serve this update only; what follows (history, state) is read-only.
      workspace.envVars = readEnv;
    }
    await this.assertSecretsKept();
    return { summary: { ...result.summary.resourceChanges }, outputs: plainOutputs(result.outputs) };
  }

  /** See StackPort.takeOverFields: the objects are located from the state, with the update's kubeconfig. */
  async takeOverFields(drift: ChangeSet): Promise<TakeOverResult> {
    const wanted = fieldsToTakeOver(drift);
    if (wanted.length === 0) return { moved: [], warnings: [] };
    try {
      const env = (await this.options.updateEnv?.()) ?? this.options.env ?? {};
      if (!env.KUBECONFIG) return { moved: [], warnings: ["no kubeconfig: the fields kubectl set stay"] };
      const resources = ((await this.exported()).deployment as { resources?: [] } | undefined)?.resources;
      const { objects, unknown } = locateObjects(wanted, resources ?? []);
      const result = await takeOverFields(env.KUBECONFIG, objects);
      return { ...result, warnings: [...unknown, ...result.warnings] };
    } catch (err) {
      return {
        moved: [],
        warnings: [`the fields kubectl set were not taken over: ${(err as Error).message}`],
      };
    }
  }

  /**
   * An update cut short (a deadline, a person's cancel): says whether it left pending operations,
   * which the next run detects, and what to do about them.
   */
  private async stopped(error: Error): Promise<Error> {
    if (!(error instanceof PulumiTimeoutError || error instanceof PulumiCancelledError)) return error;
    const recover = `tidegate recover ${this.options.environment ?? "<env>"}`;
    try {
      this.exportedState = undefined;
      const pending = await this.pendingOperations();
      if (pending.length === 0) {
        return error.withState({
          state:
            "no pending operations remain: the stack is consistent and the next sync finishes the change",
          recovery: "run the sync again",
        });
      }
      const named = pending.slice(0, 3).map((op) => `${op.operation} ${op.urn.split("::").pop()}`);
      return error.withState({
        state: `${pending.length} pending operation(s) remain (${named.join(", ")}${pending.length > 3 ? ", ..." : ""})`,
        recovery: `run \`${recover}\``,
      });
    } catch (err) {
      return error.withState({
        state: `its state could not be read (${(err as Error).message.split("\n")[0]})`,
        recovery: `run \`${recover}\` to see whether pending operations remain`,
      });
    }
  }

  /** Defence in depth: the update must have kept the salt verified before it. */
  private async assertSecretsKept(): Promise<void> {
    const before = await this.verified;
    if (before === undefined) return;
    const after = backendSecrets(await this.exported());
    if (after?.salt !== before) {
      throw new PulumiError(
        "secrets-replaced",
        `${this.secrets?.subject ?? "stack"}: the update replaced the stack's secrets provider (its passphrase salt changed)`,
      );
    }
  }

  /** The last successful update and the commit it deployed, or undefined for a stack never deployed. */
  async deployed(): Promise<Deployed | undefined> {
    const { backendUrl, workDir } = this.options;
    const history =
      readFileHistory(backendUrl, projectName(workDir), this.stack.name, 20) ??
      (await this.stack.history(20).catch((err: unknown) => {
        throw failure(err, this.options);
      }));
    const last = history.find((u) => u.kind === "update" && u.result === "succeeded");
    if (!last) return undefined;
    const commit = COMMIT_MARKER.exec(last.message)?.[1] ?? last.environment["git.head"];
    return { commit, version: last.version, endTime: last.endTime };
  }

  /** Operations an interrupted update left in the state (a crash mid-update). */
  async pendingOperations(): Promise<PendingOperation[]> {
    const state = await this.exported();
    const deployment = state.deployment as
      { pending_operations?: Array<{ resource: { urn: string; type: string }; type: string }> } | undefined;
    return (deployment?.pending_operations ?? []).map((op) => ({
      urn: op.resource.urn,
      type: op.resource.type,
      operation: op.type,
    }));
  }

  async locks(): Promise<StackLock[] | undefined> {
    const project = (await this.stack.workspace.projectSettings()).name;
    return fileBackendLocks(this.options.backendUrl, project, this.stack.name);
  }

  async cancel(): Promise<void> {
    try {
      await this.stack.cancel();
    } catch (err) {
      throw failure(err, this.options);
    }
  }

  async refresh(): Promise<Record<string, number>> {
    await this.verifySecrets();
    this.exportedState = undefined;
    try {
      const result = await this.stack.refresh({ message: "tidegate accept-drift" });
      return { ...result.summary.resourceChanges };
    } catch (err) {
      throw failure(err, this.options);
    }
  }

  async clearPendingOperations(): Promise<Record<string, number>> {
    await this.verifySecrets();
    this.exportedState = undefined;
    try {
      const result = await this.stack.refresh({ clearPendingCreates: true });
      return { ...result.summary.resourceChanges };
    } catch (err) {
      throw failure(err, this.options);
    }
  }

  access(): StackAccess {
    const { options } = this;
    return {
      stackName: this.stack.name,
      workDir: this.stack.workspace.workDir,
      pulumi: path.join(options.toolchain.binDir, "pulumi"),
      backendUrl: options.backendUrl,
      ...(options.pulumiHome ? { pulumiHome: options.pulumiHome } : {}),
      ...(options.passphrase === undefined
        ? {}
        : { passphraseSource: options.passphraseSource ?? "PULUMI_CONFIG_PASSPHRASE as given to tidegate" }),
      ...(options.secretsProvider ? { secretsProvider: options.secretsProvider } : {}),
    };
  }

  async destroy(): Promise<void> {
    this.exportedState = undefined;
    await this.stack.destroy({});
  }

  async remove(): Promise<void> {
    await this.stack.workspace.removeStack(this.stack.name, { force: true });
  }
}

/**
 * The stack, selected. Every command the Automation API runs names its stack (`--stack`), so a stack
 * whose checkpoint is in a file backend needs no `pulumi stack select` (a CLI start per run).
 */
async function selectOrCreate(options: StackOptions, workspace: LocalWorkspace): Promise<Stack> {
  const file = fileStatePath(options.backendUrl, projectName(options.workDir), options.stackName);
  if (file === undefined || !fs.existsSync(file)) return Stack.createOrSelect(options.stackName, workspace);
  // Stack.select's only CLI call is the workspace's selectStack: shadowed on the instance for it.
  workspace.selectStack = async () => undefined;
  try {
    return await Stack.select(options.stackName, workspace);
  } finally {
    delete (workspace as Partial<Pick<LocalWorkspace, "selectStack">>).selectStack;
  }
}

/**
 * The failure, classified, with the environment's secrets masked in its message: a program may
 * print a credential in an error, and the message goes to the status, the store and the report.
 */
function failure(err: unknown, options: StackOptions): Error {
  // Deadlines and cancellations are tidegate's own, already worded.
  if (err instanceof PulumiTimeoutError || err instanceof PulumiCancelledError) return err;
  const classified = namingStateFile(
    classifyPulumiError(err, {
      backendUrl: options.backendUrl,
      subject: subjectOf(options),
      ...(options.passphraseSource ? { passphraseSource: options.passphraseSource } : {}),
      stackFile: `Pulumi.${options.stackName.split("/").pop() ?? options.stackName}.yaml`,
    }),
    options,
  );
  if (!options.secrets) return classified;
  const message = new Redactor({ secrets: options.secrets, stacks: false }).text(classified.message);
  return message === classified.message
    ? classified
    : new PulumiError(classified.failure, message, {
        cause: classified.cause,
        recovery: classified.recovery,
      });
}

/** Whose stack it is, for messages: "environment 'test' (stack test)". */
function subjectOf(options: StackOptions): string {
  return `${options.environment ? `environment '${options.environment}'` : "stack"} (stack ${options.stackName})`;
}

/** A backend that refuses writes, or a damaged state, is named: the backend, or the state file and what is wrong. */
function namingStateFile(error: PulumiError, options: StackOptions): PulumiError {
  if (error.failure === "backend-unwritable")
    return new PulumiError(
      error.failure,
      `the backend ${options.backendUrl} refused a write: ${error.message}`,
      {
        cause: error.cause,
      },
    );
  if (error.failure !== "state-corrupt") return error;
  const what =
    error.message.split("\n").find((l) => /integrity failure|failed to load checkpoint/i.test(l)) ??
    error.message;
  const detail = what.replace(/^\s*error:\s*/i, "").trim();
  const where = options.backendUrl.startsWith("file://")
    ? `the state file ${path.join(options.backendUrl.slice("file://".length), ".pulumi", "stacks", projectName(options.workDir), `${options.stackName}.json`)}`
    : `the state of stack ${options.stackName} in ${options.backendUrl}`;
  return new PulumiError(error.failure, `${where} is damaged: ${detail}`, { cause: error.cause });
}

function projectName(workDir: string): string {
  try {
    const project = parseYaml(fs.readFileSync(path.join(workDir, "Pulumi.yaml"), "utf8")) as {
      name?: unknown;
    };
    return typeof project?.name === "string" ? project.name : "<project>";
  } catch {
    return "<project>";
  }
}

/** `env` with what the engine needs of tidegate: its toolchain on PATH, the backend, the passphrase. */
function engineEnv(options: StackOptions, env: Record<string, string>): Record<string, string> {
  return {
    ...env,
    PATH: enginePath(options.toolchain, env.PATH ?? ""),
    PULUMI_BACKEND_URL: options.backendUrl,
    ...(options.passphrase === undefined ? {} : { PULUMI_CONFIG_PASSPHRASE: options.passphrase }),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    ...(options.pulumiHome ? { PULUMI_HOME: options.pulumiHome } : {}),
    ...ignoreChangesEnv(options.ignoreChanges, env.NODE_OPTIONS),
  };
}

/** "environment 'test' (stack test)", as errors name the stack. */
function stackSubject(options: StackOptions): string {
  return options.environment
    ? `environment '${options.environment}' (stack ${options.stackName})`
    : `stack ${options.stackName}`;
}

/**
 * The CLI as the Automation API runs it, but with exactly the environment it is given: the
 * Automation API starts the CLI through execa, which adds all of tidegate's own environment to
 * what it is given. Each variable of ours is given here as undefined at the moment of the call
 * (Node passes no variable whose value is undefined), so none reaches the CLI, its plugins or the
 * program.
 */
// PulumiCommand.get runs `pulumi version` (through the sandbox, when there is one) on every call;
// the CLI at a root does not change while tidegate runs, so each root is asked once per process.
const commands = new Map<string, Promise<PulumiCommand>>();

function pulumiCommandAt(root: string): Promise<PulumiCommand> {
  let command = commands.get(root);
  if (!command) {
    command = PulumiCommand.get({ root });
    commands.set(root, command);
    // A failed probe is not kept: the next stack opened asks again.
    command.catch(() => commands.delete(root));
  }
  return command;
}

function withoutInheritedEnv(command: PulumiCommand, options: StackOptions): PulumiCommand {
  const inner = command as unknown as { run: RunCommand };
  const isolated = Object.create(command) as { run: RunCommand };
  isolated.run = boundedRun(
    (plainArgs, cwd, plainEnv, ...rest) => {
      const withheld = Object.fromEntries(Object.keys(process.env).map((name) => [name, undefined]));
      const { args, env } = withPulumiTracing(options.otelTraces, plainArgs, plainEnv);
      return inner.run.call(command, args, cwd, { ...withheld, ...env }, ...rest);
    },
    { timeouts: options.timeouts ?? DEFAULT_PULUMI_TIMEOUTS, subject: stackSubject(options) },
  );
  return isolated as unknown as PulumiCommand;
}

function plainOutputs(outputs: OutputMap): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]));
}
