import { spawn } from "node:child_process";
import * as path from "node:path";

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
export function provisionPulumi(options: ToolchainOptions): Promise<PulumiToolchain> {
  const script = path.join(options.repoRoot, "scripts", "toolchain.sh");
  const args = options.checkOnly ? [script, "--check"] : [script];
  return new Promise((resolve, reject) => {
    const child = spawn("bash", args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    const stderr: string[] = [];
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    let partial = "";
    child.stderr.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        stderr.push(line);
        options.onProgress?.(line);
      }
    });
    child.on("error", (err) => reject(new ToolchainError(`cannot run ${script}: ${err.message}`, false)));
    child.on("close", (code) => {
      if (partial) stderr.push(partial);
      const binDir = stdout.trim().split("\n").pop() ?? "";
      if (code === 0 && binDir) {
        resolve({ binDir, root: path.dirname(binDir) });
        return;
      }
      const detail = stderr.filter((l) => l.includes("error") || l.includes("not built")).join("\n");
      reject(
        new ToolchainError(
          detail || `${script} exited with code ${code}:\n${stderr.slice(-20).join("\n")}`,
          code === 3,
        ),
      );
    });
  });
}

/** PATH for the engine: the toolchain first, then the Node running tidegate (the language host starts `node`). */
export function enginePath(toolchain: PulumiToolchain, basePath = process.env.PATH ?? ""): string {
  return [toolchain.binDir, path.dirname(process.execPath), basePath].filter(Boolean).join(path.delimiter);
}
