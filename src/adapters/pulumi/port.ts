import type { ChangeSet } from "../../domain/changes";
import type { TakeOverResult } from "../targets/kubernetes-owners";
import type { StackLock } from "./locks";
import type {
  Deployed,
  PendingOperation,
  PreviewOptions,
  PreviewResult,
  StackAccess,
  UpOptions,
  UpResult,
} from "./stack";

/** What the engine needs of one Pulumi stack; PulumiStack is the Automation API adapter. */
export interface StackPort {
  /** Fails unless the passphrase opens the stack's secrets provider; before anything else runs. */
  verifySecrets(): Promise<void>;
  /** Pending changes, checked by the policy packs given (absolute folders, dependencies installed). */
  preview(options?: PreviewOptions): Promise<PreviewResult>;
  previewDrift(): Promise<PreviewResult>;
  up(options?: UpOptions): Promise<UpResult>;
  /** Takes the live resources into the deployed state (`pulumi refresh`); returns its summary. */
  refresh(): Promise<Record<string, number>>;
  deployed(): Promise<Deployed | undefined>;
  /**
   * A digest of the stack's state as last read (`reread`: read anew); undefined where it cannot be
   * told. Equal digests: nothing updated, refreshed or imported the stack in between.
   */
  checkpoint(options?: { reread?: boolean }): Promise<string | undefined>;
  pendingOperations(): Promise<PendingOperation[]>;
  /** Who holds Pulumi's lock on the stack; undefined where the backend does not show it. */
  locks(): Promise<StackLock[] | undefined>;
  /** Releases Pulumi's lock (`pulumi cancel`): for an update whose process is gone. */
  cancel(): Promise<void>;
  /** A refresh that also drops the pending creates an interrupted update left; returns its summary. */
  clearPendingOperations(): Promise<Record<string, number>>;
  /** How a person reaches this stack by hand (no secret values). */
  access(): StackAccess;
  /**
   * Before a remediating update: the fields of this drift that kubectl's field managers hold on live
   * Kubernetes objects, and the program does not declare, are taken over for Pulumi's field manager
   * and removed, as its apply would. Never throws; absent where a stack has no cluster.
   */
  takeOverFields?(drift: ChangeSet): Promise<TakeOverResult>;
}
