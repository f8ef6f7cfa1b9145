import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";

import { findFreePort, httpResponds, sleep } from "./ports";

export interface MotoOptions {
  repoRoot: string;
  env: NodeJS.ProcessEnv;
  log: (message: string) => void;
  /** How long to wait for the server to answer HTTP; default 60 s. */
  readyTimeoutMs?: number;
}

export interface RunningMoto {
  endpoint: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const OUTPUT_LINES_KEPT = 40;
const STOP_GRACE_MS = 5_000;
const PORT_ATTEMPTS = 3;

/**
 * Started with the venv's python, this makes the kernel SIGKILL the server when the Node process that
 * spawned it dies (even by SIGKILL, where no 'exit' handler runs), then execs moto_server in place, so
 * the pid we hold is moto_server's. PR_SET_PDEATHSIG (1) survives execve; it is Linux-only, elsewhere
 * the process 'exit' handler below is the only guard.
 */
const PARENT_DEATH_SHIM = [
  "import ctypes, os, signal, sys",
  "try:",
  "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)",
  "except (OSError, AttributeError):",
  "    pass",
  "if os.getppid() != int(sys.argv[1]):",
  "    sys.exit('parent process already gone')",
  "os.execv(sys.argv[2], sys.argv[2:])",
].join("\n");

export function venvPaths(repoRoot: string): { script: string; python: string; motoServer: string } {
  return {
    script: path.join(repoRoot, "scripts", "emulator-venv.sh"),
    python: path.join(repoRoot, ".venv", "bin", "python"),
    motoServer: path.join(repoRoot, ".venv", "bin", "moto_server"),
  };
}

/** Keeps the last `limit` lines written to the given streams. */
function tailCollector(limit: number): { push(chunk: Buffer): void; text(): string } {
  const lines: string[] = [];
  let partial = "";
  return {
    push(chunk) {
      const parts = (partial + chunk.toString("utf8")).split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts.filter((line) => line.trim() !== ""));
      if (lines.length > limit) lines.splice(0, lines.length - limit);
    },
    text() {
      return [...lines, partial].filter((line) => line.trim() !== "").join("\n");
    },
  };
}

/** Runs scripts/emulator-venv.sh (a fast no-op when the pinned moto is installed). */
export function ensureMotoVenv(options: Pick<MotoOptions, "repoRoot" | "env" | "log">): Promise<void> {
  const { script } = venvPaths(options.repoRoot);
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script], {
      cwd: options.repoRoot,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail = tailCollector(OUTPUT_LINES_KEPT);
    const forward = (chunk: Buffer): void => {
      tail.push(chunk);
      for (const line of chunk.toString("utf8").split("\n")) {
        const text = line.replace(/^\[emulator\]\s*/, "").trim();
        if (text !== "") options.log(text);
      }
    };
    child.stdout.on("data", forward);
    child.stderr.on("data", forward);
    child.once("error", (error) => reject(new Error(`could not run ${script}: ${error.message}`)));
    child.once("close", (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${script} failed (${signal ?? `exit code ${String(code)}`}); last output:\n${tail.text()}`,
          ),
        );
    });
  });
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function exitOf(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

async function stopChild(child: ChildProcess, exited: Promise<Exit>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), STOP_GRACE_MS);
  });
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
}

type Attempt = { ok: true; moto: RunningMoto } | { ok: false; portTaken: boolean; message: string };

async function attemptStart(options: MotoOptions, port: number): Promise<Attempt> {
  const { python, motoServer } = venvPaths(options.repoRoot);
  const endpoint = `http://${HOST}:${port}`;
  const child = spawn(
    python,
    ["-c", PARENT_DEATH_SHIM, String(process.pid), motoServer, "-H", HOST, "-p", String(port)],
    {
      cwd: options.repoRoot,
      env: { ...options.env, PYTHONUNBUFFERED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  // Werkzeug prints "Running on http://127.0.0.1:<port>" once *this* process has bound the port; an
  // HTTP answer alone could come from another server that took the port after findFreePort.
  const boundMarker = new RegExp(`Running on https?://\\S*:${port}\\b`);
  let bound = false;
  const tail = tailCollector(OUTPUT_LINES_KEPT);
  const collect = (chunk: Buffer): void => {
    tail.push(chunk);
    bound ||= boundMarker.test(tail.text());
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  const exited = exitOf(child);

  // The emulator must never keep Node alive nor outlive it.
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  child.unref();
  for (const stream of [child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    child.ref(); // keep Node alive until the server has exited, so `await stop()` resolves
    stopping ??= stopChild(child, exited).finally(() => {
      process.removeListener("exit", killOnExit);
    });
    return stopping;
  };

  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let exit: Exit | undefined;
  void exited.then((value) => {
    exit = value;
  });
  while (Date.now() < deadline) {
    if (spawnError !== undefined) {
      await stop();
      return { ok: false, portTaken: false, message: `could not start ${motoServer}: ${spawnError.message}` };
    }
    if (exit !== undefined) {
      await stop();
      const output = tail.text();
      return {
        ok: false,
        portTaken: /address already in use/i.test(output),
        message:
          `moto_server exited (${exit.signal ?? `code ${String(exit.code)}`}) before answering on ${endpoint}; ` +
          `last output:\n${output}`,
      };
    }
    if (bound && (await httpResponds(`${endpoint}/moto-api/data.json`, 1_000))) {
      if (child.pid === undefined) break;
      return { ok: true, moto: { endpoint, port, pid: child.pid, stop } };
    }
    await sleep(200);
  }
  await stop();
  return {
    ok: false,
    portTaken: false,
    message: `moto_server did not answer on ${endpoint} within ${timeoutMs} ms; last output:\n${tail.text()}`,
  };
}

/**
 * Installs (if needed) and starts moto's server on 127.0.0.1 on a free port, and resolves once it
 * answers HTTP. Retries on another port when the chosen one was taken in the meantime.
 */
export async function startMoto(options: MotoOptions): Promise<RunningMoto> {
  await ensureMotoVenv(options);
  let lastMessage = "";
  for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
    const port = await findFreePort(HOST);
    options.log(`starting moto_server on ${HOST}:${port}`);
    const result = await attemptStart(options, port);
    if (result.ok) return result.moto;
    lastMessage = result.message;
    if (!result.portTaken) break;
    options.log(`port ${port} was taken before moto_server bound it; trying another`);
  }
  throw new Error(lastMessage);
}
