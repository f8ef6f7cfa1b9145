import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { GateCommand, CommandResult } from "../../domain/gates";
import { MIN_SECRET_LENGTH, Redactor, SECRET_KEY } from "../../log/redact";
import { inheritedEnv } from "../targets/process-env";
import { withParentDeath } from "../sandbox/contain";
import { GateCommandError } from "./errors";
import { OUTPUT_LIMIT_BYTES, OutputTail } from "./output";

// Runs one check command (unit or functional tests) of an environment's gate. The command runs in
// its own process group, so a timeout stops everything it started, not only the shell.

export interface RunCommandOptions {
  /** Where the command runs: the Pulumi project folder of the environment's checkout. */
  cwd: string;
  /** The commit checked out there; recorded in the result. */
  commit: string;
  /**
   * The command's whole environment (see src/adapters/targets); default: the allowlisted variables
   * of tidegate's own. The project's node_modules/.bin goes first on its PATH.
   */
  env?: Record<string, string>;
  /** Values masked in the output; values of `env` entries with secret-looking names are too. */
  secrets?: string[];
  /** The clock the result's `at` reads. */
  now?: () => Date;
  /** Stops the command (its whole process group); runCommand then fails with GateCommandError "aborted". */
  signal?: AbortSignal;
  /** How long a stopped command gets between SIGTERM and SIGKILL. Default 5 s. */
  graceMs?: number;
}

const DEFAULT_GRACE_MS = 5_000;
const SHELL = "/bin/sh";
// The outer shell sends stderr into the same pipe as stdout, so the output keeps the order it was
// written in, then becomes `sh -c <run>` (the same pid and process group).
const INTERLEAVE = 'exec 2>&1; exec /bin/sh -c "$1"';

/**
 * Runs `sh -c <command.run>` in `cwd` and returns its outcome: exit code, duration, and the last
 * 64 KiB of its stdout and stderr, interleaved, with secrets and URL credentials masked. A command
 * that outlives `command.timeoutMs` is stopped (SIGTERM to its process group, SIGKILL after the
 * grace period) and marked timed out. Whatever the command leaves running when it exits is killed.
 */
export async function runCommand(command: GateCommand, options: RunCommandOptions): Promise<CommandResult> {
  const { cwd, signal } = options;
  if (!Number.isFinite(command.timeoutMs) || command.timeoutMs <= 0) {
    throw new GateCommandError(
      "cannot-start",
      `check "${command.name}": timeoutMs must be a positive number of milliseconds, got ${command.timeoutMs}`,
    );
  }
  if (!isDirectory(cwd)) {
    throw new GateCommandError("cannot-start", `check "${command.name}": its folder ${cwd} does not exist`);
  }
  if (signal?.aborted) {
    throw new GateCommandError("aborted", `check "${command.name}" was aborted before it started`, {
      cause: signal.reason,
    });
  }

  const env = checkEnv(cwd, options.env);
  const secrets = [...(options.secrets ?? []), ...secretValues(options.env ?? {})];
  const redactor = new Redactor({ secrets, stacks: false });
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  const at = (options.now ?? (() => new Date()))().toISOString();
  const started = performance.now();

  // Dies with tidegate even on `kill -9` (setpriv keeps the pid, so the group id stays the shell's).
  const [program, ...args] = withParentDeath([SHELL, "-c", INTERLEAVE, "sh", command.run]);
  const child = spawn(program, args, {
    cwd,
    env,
    detached: true, // its own session and process group, with the shell's pid as the group id
    stdio: ["ignore", "pipe", "ignore"],
  });
  const output = new OutputTail(OUTPUT_LIMIT_BYTES);
  child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
  const streamClosed = new Promise<void>((resolve) => child.stdout.once("close", resolve));

  const killGroup = (sig: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // ESRCH: the group is gone already.
    }
  };
  // tidegate exiting while a check runs must not leave the check behind.
  const onProcessExit = (): void => killGroup("SIGKILL");
  process.on("exit", onProcessExit);

  let stoppedBy: "timeout" | "abort" | undefined;
  let escalation: NodeJS.Timeout | undefined;
  const stop = (why: "timeout" | "abort"): void => {
    if (stoppedBy !== undefined) return;
    stoppedBy = why;
    killGroup("SIGTERM");
    escalation = setTimeout(() => killGroup("SIGKILL"), graceMs);
  };
  const timeout = setTimeout(() => stop("timeout"), command.timeoutMs);
  const onAbort = (): void => stop("abort");
  signal?.addEventListener("abort", onAbort, { once: true });

  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve, reject) => {
        child.once("exit", (code, sig) => resolve({ code, signal: sig }));
        child.once("error", (error) =>
          reject(
            new GateCommandError(
              "cannot-start",
              `check "${command.name}": cannot run ${SHELL}: ${error.message}`,
              {
                cause: error,
              },
            ),
          ),
        );
      },
    );
    const durationMs = Math.round(performance.now() - started);
    // From here on the outcome is known: neither the timeout nor the signal may change it.
    clearTimeout(timeout);
    signal?.removeEventListener("abort", onAbort);

    // What the command left running in the background (it may hold the output pipe open): stopped
    // like the command itself, given the grace period to finish writing, then killed.
    if (stoppedBy === undefined) killGroup("SIGTERM");
    await within(streamClosed, graceMs);
    killGroup("SIGKILL");
    // A process that moved to a session of its own escapes the group; stop reading after the grace.
    await within(streamClosed, graceMs);
    child.stdout.destroy();

    if (stoppedBy === "abort") {
      throw new GateCommandError("aborted", `check "${command.name}" was aborted`, { cause: signal?.reason });
    }
    const timedOut = stoppedBy === "timeout";
    let text = output.text((t) => redactor.text(t), secretForms(secrets));
    if (!timedOut && exit.signal !== null)
      text += `${text === "" || text.endsWith("\n") ? "" : "\n"}… killed by ${exit.signal}\n`;
    return {
      name: command.name,
      command: redactor.text(command.run),
      commit: options.commit,
      exitCode: timedOut ? null : exit.code,
      timedOut,
      durationMs,
      output: text,
      at,
    };
  } finally {
    clearTimeout(timeout);
    clearTimeout(escalation);
    signal?.removeEventListener("abort", onAbort);
    process.removeListener("exit", onProcessExit);
  }
}

/**
 * The key a check's result is cached under: the commit, and a hash of what defines the command (its
 * name, what it runs and its timeout), so a changed command runs again.
 */
export function commandKey(command: GateCommand, commit: string): string {
  const hash = createHash("sha256")
    .update(JSON.stringify([command.name, command.run, command.timeoutMs]))
    .digest("hex");
  return `${commit}:${hash}`;
}

/** `given` (or the allowlist of tidegate's own), with the project's `node_modules/.bin` first on PATH. */
function checkEnv(cwd: string, given: Record<string, string> = inheritedEnv()): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...given };
  const bin = path.join(path.resolve(cwd), "node_modules", ".bin");
  env.PATH = env.PATH ? `${bin}${path.delimiter}${env.PATH}` : bin;
  return env;
}

function secretValues(env: Record<string, string>): string[] {
  return Object.entries(env)
    .filter(([key]) => SECRET_KEY.test(key))
    .map(([, value]) => value);
}

/** Every form a secret is masked in (as Redactor does): as is, URL-encoded, JSON-escaped. */
function secretForms(secrets: string[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret).add(encodeURIComponent(secret)).add(JSON.stringify(secret).slice(1, -1));
  }
  return [...forms];
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Waits for `promise`, or `ms` at most. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
