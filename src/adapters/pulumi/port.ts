import type { Deployed, PendingOperation, PreviewOptions, PreviewResult, UpOptions, UpResult } from "./stack";

/** What the engine needs of one Pulumi stack; PulumiStack is the Automation API adapter. */
export interface StackPort {
  /** Pending changes, checked by the policy packs given (absolute folders, dependencies installed). */
  preview(options?: PreviewOptions): Promise<PreviewResult>;
  previewDrift(): Promise<PreviewResult>;
  up(options?: UpOptions): Promise<UpResult>;
  deployed(): Promise<Deployed | undefined>;
  pendingOperations(): Promise<PendingOperation[]>;
}
