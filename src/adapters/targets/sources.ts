import { execFile, type ExecFileOptionsWithStringEncoding } from "node:child_process";
import * as fs from "node:fs";
import type { ValueSourceSpec } from "../../config/resolve";
import { TidegateError } from "../../domain/errors";
import { inheritedEnv } from "./process-env";
import { killGroup, withParentDeath } from "../sandbox/contain";

// Reads a secret value from where an environment definition says it is: a variable of tidegate's
// own environment, a file outside the repository, or a command's output (never through a shell).

/** How long a credential command may run. */
export const SOURCE_COMMAND_TIMEOUT_MS = 30_000;

/** A source that gave no value; the message names the source, never a value. */
export class SourceError extends TidegateError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("unauthorized", message, options);
    this.name = "SourceError";
  }
}

/** The source as errors name it, e.g. "environment variable TEST_PASSPHRASE". */
export function sourceLabel(source: ValueSourceSpec): string {
  switch (source.kind) {
    case "env":
      return `environment variable ${source.name}`;
    case "file":
      return `file ${source.path}`;
    case "command":
      return `command ${JSON.stringify(source.argv)}`;
  }
}

export interface ReadSourceOptions {
  /** tidegate's own environment. */
  from?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** The value, trimmed; a SourceError when the source is missing, empty or fails. */
export async function readSource(source: ValueSourceSpec, options: ReadSourceOptions = {}): Promise<string> {
  const label = sourceLabel(source);
  const value = await readRaw(source, label, options);
  const trimmed = value.trim();
  if (trimmed === "") throw new SourceError(`${label} is empty`);
  return trimmed;
}

async function readRaw(source: ValueSourceSpec, label: string, options: ReadSourceOptions): Promise<string> {
  switch (source.kind) {
    case "env": {
      const value = (options.from ?? process.env)[source.name];
      if (value === undefined) throw new SourceError(`${label} is not set`);
      return value;
    }
    case "file":
      try {
        return await fs.promises.readFile(source.path, "utf8");
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new SourceError(`${label} cannot be read (${code ?? (err as Error).message})`, { cause: err });
      }
    case "command":
      return runSourceCommand(source.argv, label, options);
  }
}

function runSourceCommand(argv: string[], label: string, options: ReadSourceOptions): Promise<string> {
  const [first, ...rest] = argv;
  if (first === undefined) return Promise.reject(new SourceError(`${label} names no program`));
  const timeout = options.timeoutMs ?? SOURCE_COMMAND_TIMEOUT_MS;
  // Its own session and process group, dying with tidegate; the group is killed when it ends.
  const [program, ...args] = withParentDeath([first, ...rest]);
  return new Promise((resolve, reject) => {
    const onExit = (): void => killGroup(child.pid, "SIGKILL");
    // execFile passes `detached` on to spawn; its types leave it out.
    const spawnOptions: ExecFileOptionsWithStringEncoding & { detached: boolean } = {
      env: inheritedEnv(options.from),
      encoding: "utf8",
      timeout,
      killSignal: "SIGKILL",
      maxBuffer: 1024 * 1024,
      shell: false,
      detached: true,
    };
    const child = execFile(program, args, spawnOptions, (error, stdout, stderr) => {
      process.removeListener("exit", onExit);
      killGroup(child.pid, "SIGKILL");
      if (!error) return resolve(stdout);
      const failure = error as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
      const why =
        // setpriv says so with exit 127 when it cannot start the program.
        failure.code === "ENOENT" ||
        ((failure.code as unknown) === 127 && stderr.includes("failed to execute"))
          ? "was not found"
          : failure.killed
            ? `did not finish within ${timeout / 1000}s`
            : `failed (exit ${String(failure.code)})${firstLine(stderr)}`;
      reject(new SourceError(`${label} ${why}`, { cause: error }));
    });
    process.on("exit", onExit);
  });
}

/** The first line of a failed command's error output, short: enough to say why, never its stdout. */
function firstLine(stderr: string): string {
  const line = stderr.trim().split("\n")[0]?.trim() ?? "";
  return line === "" ? "" : `: ${line.slice(0, 200)}`;
}
