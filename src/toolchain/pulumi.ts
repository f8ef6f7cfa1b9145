import * as path from "node:path";
import { runProvisionScript } from "./script";

export interface PulumiToolchain {
  /** Folder with `pulumi`, `pulumi-language-nodejs` and the launchers; goes first on PATH. */
  binDir: string;
  /** What `PulumiCommand.get({ root })` expects: the folder above `bin`. */
  root: string;
}

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

/** PATH for the engine: the toolchain first, then the Node running tidegate (the language host starts `node`). */
export function enginePath(toolchain: PulumiToolchain, basePath = process.env.PATH ?? ""): string {
  return [toolchain.binDir, path.dirname(process.execPath), basePath].filter(Boolean).join(path.delimiter);
}
