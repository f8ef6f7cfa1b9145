import type { TestProject } from "vitest/node";
import { startEmulator, type Emulator } from "../../src/devenv/emulator";
import { provisionPulumi, type PulumiToolchain } from "../../src/devenv/toolchain/pulumi";
import { repoRoot } from "../../src/config/repo";

export interface ProvidedAws {
  kind: Emulator["kind"];
  endpoint: string;
  region: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    toolchain: PulumiToolchain;
    aws: ProvidedAws;
  }
}

// Provisions the real engine (cached after the first build) and starts one AWS emulator that
// every integration test shares; stops it when the run ends.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = repoRoot(__dirname);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const toolchain = await provisionPulumi({ repoRoot: root, onProgress: log });
  const emulator = await startEmulator({ repoRoot: root, log });
  log(
    `[integration] pulumi toolchain: ${toolchain.binDir}; AWS emulator: ${emulator.kind} at ${emulator.endpoint}`,
  );
  project.provide("toolchain", toolchain);
  project.provide("aws", { kind: emulator.kind, endpoint: emulator.endpoint, region: emulator.region });
  return async () => {
    await emulator.stop();
  };
}
