import { spawn } from "node:child_process";

export interface ProvisionScriptOptions {
  /** Only look; never start a build (the scripts exit 3 when nothing is built). */
  checkOnly?: boolean;
  /** Receives the script's progress lines. */
  onProgress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface ProvisionFailure {
  message: string;
  /** The script said it is not built yet (exit 3 from --check). */
  missing: boolean;
}

/**
 * Runs one of the provisioning scripts (scripts/toolchain.sh, scripts/kubernetes.sh): progress on
 * stderr, the bin folder as the last line of stdout. Resolves the folder or rejects with the
 * script's error lines.
 */
export async function runProvisionScript(
  script: string,
  options: ProvisionScriptOptions,
  fail: (failure: ProvisionFailure) => Error,
): Promise<string> {
  const args = options.checkOnly ? ["--check"] : [];
  const { code, stdout, stderr } = await runScript(script, args, options, fail);
  const binDir = stdout.trim().split("\n").pop() ?? "";
  if (code === 0 && binDir) return binDir;
  throw fail(scriptFailure(script, code, stderr));
}

/** Runs a script with `args`; resolves its exit code, whole stdout and stderr lines. */
export function runScript(
  script: string,
  args: string[],
  options: Pick<ProvisionScriptOptions, "onProgress" | "env">,
  fail: (failure: ProvisionFailure) => Error,
): Promise<{ code: number | null; stdout: string; stderr: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script, ...args], {
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
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
    child.on("error", (err) =>
      reject(fail({ message: `cannot run ${script}: ${err.message}`, missing: false })),
    );
    child.on("close", (code) => {
      if (partial) stderr.push(partial);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The script's error lines, or its last lines when none says what went wrong. */
export function scriptFailure(script: string, code: number | null, stderr: string[]): ProvisionFailure {
  const detail = stderr.filter((l) => l.includes("error") || l.includes("not built")).join("\n");
  const message = detail || `${script} exited with code ${String(code)}:\n${stderr.slice(-20).join("\n")}`;
  return { message, missing: code === 3 };
}
