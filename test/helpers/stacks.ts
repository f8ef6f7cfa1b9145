import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { inject } from "vitest";
import { awsEnvVars } from "../../src/devenv/emulator";
import { PulumiStack } from "../../src/adapters/pulumi/stack";
import { repoRoot } from "../../src/config/repo";
import { environmentProcessEnv } from "../../src/adapters/targets";

export interface TestStack {
  stack: PulumiStack;
  stackName: string;
  /** Destroys what the stack created and removes its temporary backend. */
  cleanup(): Promise<void>;
}

/**
 * A fresh stack of one of the repository's projects on a temporary `file://` backend, with a
 * random name and passphrase. The engine's environment is the allowlist of the test's own plus
 * `env`, by default the settings that point AWS SDKs at the emulator the global setup started.
 */
export async function openTestStack(
  project: string,
  config: Record<string, string | { secret: string }> = {},
  env: Record<string, string> = awsEnvVars(inject("aws")),
): Promise<TestStack> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-it-"));
  const stackName = `it${randomBytes(4).toString("hex")}`;
  // A copy of the project, so stack config files never land in the repository; its node_modules
  // is the repository's, as a program's own installed dependencies would be.
  const workDir = path.join(scratch, "project");
  fs.cpSync(path.join(repoRoot(__dirname), project), workDir, { recursive: true });
  fs.symlinkSync(path.join(repoRoot(__dirname), "node_modules"), path.join(workDir, "node_modules"));
  const stack = await PulumiStack.open({
    workDir,
    stackName,
    backendUrl: `file://${path.join(scratch, "backend")}`,
    passphrase: randomBytes(16).toString("hex"),
    pulumiHome: path.join(scratch, "home"),
    toolchain: inject("toolchain"),
    env: environmentProcessEnv({ engine: env }),
  });
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === "string") await stack.setConfig(key, value);
    else await stack.setConfig(key, value.secret, true);
  }
  return {
    stack,
    stackName,
    async cleanup() {
      try {
        await stack.destroy();
        await stack.remove();
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}
