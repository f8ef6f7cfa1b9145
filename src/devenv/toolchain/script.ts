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
export function runProvisionScript(
  script: string,
  options: ProvisionScriptOptions,
  fail: (failure: ProvisionFailure) => Error,
): Promise<string> {
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
    child.on("error", (err) =>
      reject(fail({ message: `cannot run ${script}: ${err.message}`, missing: false })),
    );
    child.on("close", (code) => {
      if (partial) stderr.push(partial);
      const binDir = stdout.trim().split("\n").pop() ?? "";
      if (code === 0 && binDir) {
        resolve(binDir);
        return;
      }
      const detail = stderr.filter((l) => l.includes("error") || l.includes("not built")).join("\n");
      const message =
        detail || `${script} exited with code ${String(code)}:\n${stderr.slice(-20).join("\n")}`;
      reject(fail({ message, missing: code === 3 }));
    });
  });
}
