import type { Deployed, PendingOperation, PreviewResult, UpOptions, UpResult } from "./stack";

/** What the engine needs of one Pulumi stack; PulumiStack is the Automation API adapter. */
export interface StackPort {
  preview(): Promise<PreviewResult>;
  previewDrift(): Promise<PreviewResult>;
  up(options?: UpOptions): Promise<UpResult>;
  deployed(): Promise<Deployed | undefined>;
  pendingOperations(): Promise<PendingOperation[]>;
}
