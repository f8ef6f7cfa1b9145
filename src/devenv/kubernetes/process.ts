import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process that can neither keep Node alive nor outlive it. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Set once the process has exited. */
  exit(): Exit | undefined;
  /** The last lines it wrote to stdout and stderr. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. Safe to call twice. */
  stop(graceMs: number): Promise<void>;
}

export interface StartProcessOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Receives every output line, prefixed with the process name. */
  log?: (line: string) => void;
  tailLines?: number;
}

/** `setpriv` (util-linux) from PATH, if there is one. */
function findSetpriv(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "/usr/bin:/bin").split(path.delimiter)) {
    const candidate = path.join(dir, "setpriv");
    if (dir !== "" && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Starts `command`. On Linux it goes through `setpriv --pdeathsig SIGKILL`, which makes the kernel
 * kill it when the Node thread that spawned it dies, even by SIGKILL (when no 'exit' handler runs);
 * setpriv execs the command in place, so the pid is the command's own. A process 'exit' handler
 * covers an ordinary exit everywhere.
 */
export function startProcess(options: StartProcessOptions): ManagedProcess {
  const env = options.env ?? process.env;
  const setpriv = process.platform === "linux" ? findSetpriv(env) : undefined;
  const [file, argv] =
    setpriv === undefined
      ? [options.command, options.args]
      : [setpriv, ["--pdeathsig", "SIGKILL", "--", options.command, ...options.args]];
  const child = spawn(file, argv, { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] });

  const limit = options.tailLines ?? 40;
  const lines: string[] = [];
  const partial: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
  const collect = (stream: "stdout" | "stderr", chunk: Buffer): void => {
    const parts = (partial[stream] + chunk.toString("utf8")).split("\n");
    partial[stream] = parts.pop() ?? "";
    for (const line of parts) {
      if (line.trim() === "") continue;
      lines.push(line);
      options.log?.(`[${options.name}] ${line}`);
    }
    if (lines.length > limit) lines.splice(0, lines.length - limit);
  };
  child.stdout.on("data", (chunk: Buffer) => collect("stdout", chunk));
  child.stderr.on("data", (chunk: Buffer) => collect("stderr", chunk));

  let exit: Exit | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
    child.once("error", (error) => {
      // A spawn failure emits 'error' without 'exit'.
      spawnError = error;
      exit ??= { code: null, signal: null };
      resolve(exit);
    });
  });

  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void }).unref?.();
  }

  let stopping: Promise<void> | undefined;
  return {
    name: options.name,
    pid: child.pid ?? -1,
    exit: () => exit,
    tail: () => {
      const rest = [partial.stdout, partial.stderr].filter((line) => line.trim() !== "");
      const text = [...lines, ...rest].join("\n");
      return spawnError === undefined
        ? text
        : `${text}\ncould not start ${options.command}: ${spawnError.message}`;
    },
    stop: (graceMs) => {
      stopping ??= stopChild(child, exited, graceMs).finally(() =>
        process.removeListener("exit", killOnExit),
      );
      return stopping;
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<Exit>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    await exited;
    return;
  }
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), graceMs);
  });
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
}

export function describeExit(exit: Exit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
}
