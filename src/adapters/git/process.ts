import { spawn } from "node:child_process";

// Git calls to the remote run here rather than through simple-git: simple-git's timeout and abort
// kill only the `git` process, and the transport helpers it started (git-remote-http, ssh) live on
// as orphans holding the connection. Here Git gets a process group of its own, and the deadline
// stops the whole group.

export interface GitProcessOptions {
  cwd: string;
  env: Record<string, string>;
  /** After this long the process group gets SIGTERM (Git removes its lock files), then SIGKILL. */
  deadlineMs: number;
  /**
   * When Git prints nothing at all (stdout or stderr) for this long from the start, it is stopped
   * the same way: the remote never answered. Catches what Git's own limits cannot, such as a TLS
   * handshake that never completes (curl's low-speed limit starts only after it).
   */
  firstOutputMs?: number;
  /** Between SIGTERM and SIGKILL. Default 5 s. */
  graceMs?: number;
}

export interface GitProcessResult {
  stdout: string;
  stderr: string;
  /** null when Git was killed by a signal. */
  exitCode: number | null;
  /** Why tidegate stopped the process group, if it did. */
  stopped?: "deadline" | "no-answer";
}

const DEFAULT_GRACE_MS = 5_000;

/** Runs `git <args>` in its own process group, stopped with everything it started at the deadline. */
export async function runGitProcess(args: string[], options: GitProcessOptions): Promise<GitProcessResult> {
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const child = spawn("git", args, {
    cwd: options.cwd,
    env: options.env,
    detached: true, // its own process group, with git's pid as the group id
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let answered = false;
  child.stdout.on("data", (chunk: Buffer) => {
    answered = true;
    stdout.push(chunk);
  });
  child.stderr.on("data", (chunk: Buffer) => {
    answered = true;
    stderr.push(chunk);
  });
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));

  const killGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  };
  // tidegate exiting while Git runs must not leave Git or its ssh behind.
  const onProcessExit = (): void => killGroup("SIGKILL");
  process.on("exit", onProcessExit);

  let stopped: GitProcessResult["stopped"];
  let escalation: NodeJS.Timeout | undefined;
  const stop = (why: NonNullable<GitProcessResult["stopped"]>): void => {
    if (stopped !== undefined) return;
    stopped = why;
    killGroup("SIGTERM");
    escalation = setTimeout(() => killGroup("SIGKILL"), graceMs);
  };
  const deadline = setTimeout(() => stop("deadline"), options.deadlineMs);
  const firstOutput =
    options.firstOutputMs === undefined
      ? undefined
      : setTimeout(() => {
          if (!answered) stop("no-answer");
        }, options.firstOutputMs);

  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once("exit", (code) => resolve(code));
      child.once("error", reject);
    });
    clearTimeout(deadline);
    clearTimeout(firstOutput);
    // Whatever Git left in its group (a transport helper, ssh) goes with it.
    killGroup("SIGKILL");
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
    return {
      stdout: Buffer.concat(stdout).toString("utf8"),
      stderr: Buffer.concat(stderr).toString("utf8"),
      exitCode,
      stopped,
    };
  } finally {
    clearTimeout(deadline);
    clearTimeout(firstOutput);
    clearTimeout(escalation);
    process.off("exit", onProcessExit);
    child.stdout.destroy();
    child.stderr.destroy();
  }
}
