/**
 * An AWS API emulator (S3, SQS, STS at least) for tests and the local default.
 *
 * Precedence (see chooseEmulator):
 *  1. AWS_ENDPOINT_URL is set: used as-is, nothing is started ("external").
 *  2. A Docker engine answers: LocalStack in a container via @testcontainers/localstack.
 *  3. Otherwise a host process on 127.0.0.1: moto's server from the project venv
 *     (scripts/emulator-venv.sh). LocalStack on the host does not run; see ./localstack.ts for why.
 */

import { repoRoot as findRepoRoot } from "../../config/repo";
import { dockerAvailable, startLocalstackContainer } from "./localstack";
import { startMoto } from "./moto";

export type EmulatorKind = "external" | "localstack-container" | "localstack-host" | "moto";

export interface Emulator {
  kind: EmulatorKind;
  /** Base URL for every service, e.g. http://127.0.0.1:40123. */
  endpoint: string;
  region: string;
  /** Stops what startEmulator started (a no-op for "external"); safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartEmulatorOptions {
  /**
   * The environment read for AWS_ENDPOINT_URL / AWS_REGION / AWS_DEFAULT_REGION and handed to the
   * processes started (the venv script, moto_server). Defaults to process.env; to override a variable
   * pass `{ ...process.env, NAME: value }`.
   */
  env?: NodeJS.ProcessEnv;
  /** The repository root (holds scripts/emulator-venv.sh and .venv). Defaults to this checkout. */
  repoRoot?: string;
  log?: (message: string) => void;
}

export interface EmulatorFacts {
  endpointUrl?: string;
  dockerAvailable: boolean;
  localstackHostWorks: boolean;
}

export const DEFAULT_REGION = "us-east-1";
const DUMMY_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" } as const;

/** Pure precedence: an explicit endpoint, then a LocalStack container, then a host process. */
export function chooseEmulator(facts: EmulatorFacts): EmulatorKind {
  if (facts.endpointUrl !== undefined && facts.endpointUrl.trim() !== "") return "external";
  if (facts.dockerAvailable) return "localstack-container";
  if (facts.localstackHostWorks) return "localstack-host";
  return "moto";
}

/** Options for an AWS SDK v3 client (S3Client, SQSClient, STSClient, ...) that talks to the emulator. */
export function awsClientConfig(emulator: Pick<Emulator, "endpoint" | "region">): {
  endpoint: string;
  region: string;
  forcePathStyle: true;
  credentials: { accessKeyId: string; secretAccessKey: string };
} {
  return {
    endpoint: emulator.endpoint,
    region: emulator.region,
    forcePathStyle: true,
    credentials: { ...DUMMY_CREDENTIALS },
  };
}

/** Environment for child processes (Pulumi, the AWS CLI, SDKs) so they talk to the emulator. */
export function awsEnvVars(emulator: Pick<Emulator, "endpoint" | "region">): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_REGION: emulator.region,
    AWS_DEFAULT_REGION: emulator.region,
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
  };
}

function regionFrom(env: NodeJS.ProcessEnv): string {
  return env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || DEFAULT_REGION;
}

function defaultLog(message: string): void {
  process.stderr.write(`[emulator] ${message}\n`);
}

export async function startEmulator(options: StartEmulatorOptions = {}): Promise<Emulator> {
  const env = options.env ?? process.env;
  const repoRoot = options.repoRoot ?? findRepoRoot(__dirname);
  const log = options.log ?? defaultLog;
  const region = regionFrom(env);
  const endpointUrl = env.AWS_ENDPOINT_URL?.trim() || undefined;

  const kind = chooseEmulator({
    endpointUrl,
    // Only probed when it matters: the probe loads testcontainers (about a second).
    dockerAvailable: endpointUrl === undefined && (await dockerAvailable()),
    // Host-mode LocalStack does not start with the PyPI package (see ./localstack.ts), so it is never
    // offered; chooseEmulator keeps the rung so the precedence stays documented and tested.
    localstackHostWorks: false,
  });

  switch (kind) {
    case "external":
      log(`using AWS_ENDPOINT_URL=${String(endpointUrl)} (nothing started)`);
      return { kind, endpoint: String(endpointUrl), region, stop: () => Promise.resolve() };
    case "localstack-container": {
      const localstack = await startLocalstackContainer({ env, log });
      log(`LocalStack container ready at ${localstack.endpoint}`);
      return { kind, endpoint: localstack.endpoint, region, stop: localstack.stop };
    }
    case "localstack-host":
      throw new Error("LocalStack host mode is not supported (see src/emulator/localstack.ts)");
    case "moto": {
      const moto = await startMoto({ repoRoot, env, log });
      log(`moto_server ready at ${moto.endpoint} (pid ${moto.pid})`);
      return { kind, endpoint: moto.endpoint, region, stop: moto.stop };
    }
  }
}
