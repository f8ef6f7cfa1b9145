import { HeadBucketCommand } from "@aws-sdk/client-s3";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "vitest";
import type { Engine } from "../../src/app/engine";
import { openSqliteStore } from "../../src/adapters/store/sqlite";
import { dataPaths } from "../../src/config/paths";
import type { RunOptions } from "../../src/reconcile/run";
import { awsClients } from "../helpers/aws";
import { createEngineFixture, type EngineFixture } from "../helpers/engine";

// Faults against a deployed stack: a fixture whose environments are synced once, and the checks
// every such fault ends with (nothing destroyed, nothing lost).

export const SYNC: RunOptions = { kind: "sync", trigger: "fault", allowSync: true };

/** A fault test deploys a stack first: minutes on a loaded 2-core machine. */
export const STACK_TIMEOUT = 420_000;

/** Folders of a fixture: the file:// backend and the data directory, both beside tidegate.yaml. */
export function foldersOf(f: EngineFixture): { backend: string; data: string } {
  const root = path.dirname(f.configPath);
  return { backend: path.join(root, "state"), data: path.join(root, "data") };
}

/** The stack's checkpoint in the file:// backend. */
export function checkpointFile(f: EngineFixture, env: string): string {
  return path.join(foldersOf(f).backend, ".pulumi", "stacks", "platform-sdk", `${f.stackName(env)}.json`);
}

/** A fixture whose auto environments are all deployed (Synced) before the fault. */
export async function deployedFixture(
  names: string[],
  /** Runs before the first sync, e.g. to mount a filesystem at the backend or data folder. */
  prepare?: (f: EngineFixture) => void,
): Promise<EngineFixture> {
  const f = await createEngineFixture(names.map((name) => ({ name, sync: "auto", drift: "report" })));
  prepare?.(f);
  for (const name of names) {
    const report = await f.engine.check(name, SYNC);
    expect(report.status, report.reason).toBe("Synced");
  }
  return f;
}

/** Commits a new queue visibility timeout to the environment's stack config: a pending update. */
export function commitVisibilityTimeout(f: EngineFixture, env: string, seconds: number): Promise<string> {
  const file = f.stackConfigFile(env);
  const config = fs.readFileSync(path.join(f.remote.workDir, file), "utf8");
  return f.commitTo(
    env,
    { [file]: config.replace(/queueVisibilityTimeout: \d+/, `queueVisibilityTimeout: ${seconds}`) },
    `Visibility timeout ${seconds}s`,
  );
}

/** Whether the environment's bucket is still in the emulator. */
export async function bucketExists(f: EngineFixture, env: string): Promise<boolean> {
  const { s3 } = awsClients();
  try {
    await s3.send(new HeadBucketCommand({ Bucket: `platform-sdk-${f.stackName(env)}-artifacts` }));
    return true;
  } catch {
    return false;
  }
}

/**
 * Nothing destroyed and nothing lost: every environment's bucket is still there, the audit chain
 * verifies, and the store opens afresh with each environment's status.
 */
export async function expectNothingLost(
  f: EngineFixture,
  envs: string[],
  /** The engine and its data directory, when not the fixture's first. */
  which: { engine: Engine; data: string } = { engine: f.engine, data: foldersOf(f).data },
): Promise<void> {
  for (const env of envs) expect(await bucketExists(f, env), `${env}'s bucket`).toBe(true);
  const verified = await which.engine.audit.verify();
  expect(verified.ok, JSON.stringify(verified)).toBe(true);
  const store = openSqliteStore(dataPaths(which.data).store);
  try {
    for (const env of envs) expect((await store.status(env))?.environment).toBe(env);
  } finally {
    await store.close();
  }
}
