import { execFile } from "node:child_process";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "../..");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process, on the repository's Node 22, with extra environment variables. */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliRun> {
  const bin = path.join(repoRoot, "node_modules", ".bin");
  return new Promise((resolve) => {
    execFile(
      path.join(bin, "tsx"),
      [path.join(repoRoot, "src", "main.ts"), ...args],
      {
        env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, ...env },
        timeout: 120_000,
        ...(cwd ? { cwd } : {}),
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}
