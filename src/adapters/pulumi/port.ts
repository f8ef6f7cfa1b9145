import type { Deployed, PendingOperation, PreviewOptions, PreviewResult, UpOptions, UpResult } from "./stack";

/** What the engine needs of one Pulumi stack; PulumiStack is the Automation API adapter. */
export interface StackPort {
  /** Fails unless the passphrase opens the stack's secrets provider; before anything else runs. */
  verifySecrets(): Promise<void>;
  /** Pending changes, checked by the policy packs given (absolute folders, dependencies installed). */
  preview(options?: PreviewOptions): Promise<PreviewResult>;
  previewDrift(): Promise<PreviewResult>;
  up(options?: UpOptions): Promise<UpResult>;
  deployed(): Promise<Deployed | undefined>;
  pendingOperations(): Promise<PendingOperation[]>;
}
