import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// tidegate as a real child process that runs alongside the test (the daemon, or a command the test
// races against it), and a poll for what it does.

const repoRoot = path.resolve(__dirname, "../..");
const bin = path.join(repoRoot, "node_modules", ".bin");

export interface TidegateProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `tidegate <args>` on the repository's Node 22, its output collected as it comes. */
export function startTidegate(args: string[], env: Record<string, string>): TidegateProcess {
  const child = spawn(path.join(bin, "node"), [path.join(repoRoot, "bin", "tidegate.js"), ...args], {
    env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Kills the process if it still runs, and waits for it. */
export async function killTidegate(process: TidegateProcess | undefined): Promise<void> {
  if (!process || process.child.exitCode !== null || process.child.signalCode !== null) return;
  process.child.kill("SIGKILL");
  await process.exit;
}

/** Polls `probe` every 500 ms until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string | (() => string),
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`,
      );
    }
    await sleep(500);
  }
}
