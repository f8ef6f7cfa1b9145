import * as fs from "node:fs";
import * as path from "node:path";

import { type Emulator, startEmulator } from "../devenv/emulator";
import { httpResponds } from "../devenv/emulator/ports";
import { isProcessAlive } from "../adapters/pid";

// The AWS emulator of a data directory. The emulator holds its objects in memory, so a second one
// knows nothing of what the first created: `tidegate run` records the one it started in
// `<dataDir>/emulator.json`, and `check`, `drift` and `sync` on the same data directory use that
// one while it answers, and start their own only when no `tidegate run` is running.

const FILE = "emulator.json";

interface Recorded {
  endpoint: string;
  region: string;
  pid: number;
}

export interface CliEmulator {
  endpoint: string;
  region: string;
  /** "shared" when another tidegate process's emulator is used. */
  origin: "started" | "shared";
  /** Stops what this process started; forgets the record it wrote. Safe to call twice. */
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  repoRoot: string;
  dataDir: string;
  log: (message: string) => void;
  /** Record the emulator for other commands on this data directory (`tidegate run`). */
  share?: boolean;
  /** Use the one a running `tidegate run` recorded, when it answers. */
  reuse?: boolean;
}

export async function openEmulator(options: EmulatorOptions): Promise<CliEmulator> {
  const file = path.join(options.dataDir, FILE);
  if (options.reuse) {
    const running = await recordedEmulator(file);
    if (running) {
      options.log(`using the AWS emulator of tidegate run (pid ${running.pid}) at ${running.endpoint}`);
      return { endpoint: running.endpoint, region: running.region, origin: "shared", stop: async () => {} };
    }
  }
  const emulator: Emulator = await startEmulator({ repoRoot: options.repoRoot, log: options.log });
  if (options.share && emulator.kind !== "external") {
    fs.mkdirSync(options.dataDir, { recursive: true });
    const record: Recorded = { endpoint: emulator.endpoint, region: emulator.region, pid: process.pid };
    fs.writeFileSync(file, `${JSON.stringify(record)}\n`);
  }
  let stopped: Promise<void> | undefined;
  return {
    endpoint: emulator.endpoint,
    region: emulator.region,
    origin: "started",
    stop: () =>
      (stopped ??= (async () => {
        if (options.share) forget(file);
        await emulator.stop();
      })()),
  };
}

/** The emulator another live tidegate process recorded, when it still answers. */
async function recordedEmulator(file: string): Promise<Recorded | undefined> {
  let record: Partial<Recorded>;
  try {
    record = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Recorded>;
  } catch {
    return undefined;
  }
  const { endpoint, region, pid } = record;
  if (typeof endpoint !== "string" || typeof region !== "string" || typeof pid !== "number") return undefined;
  if (pid === process.pid || !isProcessAlive(pid)) return undefined;
  return (await httpResponds(endpoint, 2_000)) ? { endpoint, region, pid } : undefined;
}

/** Removes the record if it is still this process's. */
function forget(file: string): void {
  try {
    const record = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<Recorded>;
    if (record.pid === process.pid) fs.rmSync(file, { force: true });
  } catch {
    // Gone or unreadable: nothing of ours to remove.
  }
}
