import { execFile } from "node:child_process";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "../..");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  cwd?: string;
  /** Milliseconds before the process is killed; default two minutes. */
  timeout?: number;
}

/** The CLI as a child process, on the repository's Node 22 (first on PATH). */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  const bin = path.join(repoRoot, "node_modules", ".bin");
  return new Promise((resolve) => {
    execFile(
      path.join(bin, "node"),
      [path.join(repoRoot, "bin", "tidegate.js"), ...args],
      {
        env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, ...options.env },
        timeout: options.timeout ?? 120_000,
        ...(options.cwd ? { cwd: options.cwd } : {}),
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}
