import * as path from "node:path";
import { runProvisionScript } from "./script";
import type { PulumiToolchain } from "../../adapters/pulumi/toolchain";

export type { PulumiToolchain };

export interface ToolchainOptions {
  repoRoot: string;
  /** Only look; never start a build. */
  checkOnly?: boolean;
  /** Receives the script's progress lines. */
  onProgress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export class ToolchainError extends Error {
  constructor(
    message: string,
    readonly missing: boolean,
  ) {
    super(message);
    this.name = "ToolchainError";
  }
}

/**
 * Finds, or builds and caches, the pinned Pulumi toolchain through scripts/toolchain.sh, the one
 * place that knows how (so setup, tests and the engine all agree on it).
 */
export async function provisionPulumi(options: ToolchainOptions): Promise<PulumiToolchain> {
  const script = path.join(options.repoRoot, "scripts", "toolchain.sh");
  const binDir = await runProvisionScript(script, options, (f) => new ToolchainError(f.message, f.missing));
  return { binDir, root: path.dirname(binDir) };
}
