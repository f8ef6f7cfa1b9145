// No-change polling at scale (issue 12): 300 environments on one repository, polled through the
// daemon's work queue as their schedules poll them, against one `git ls-remote` of every branch of
// that repository. Run alone with `npx tsx bench/polls.ts [--json <file>]`; `npm run bench` runs it.
//
// What is measured: the real engine and daemon on a SQLite store, every environment's status
// recorded Synced at its branch's head, so a poll lists the heads, finds nothing moved and runs no
// Pulumi. The polls of one sweep share one listing (src/adapters/git/shared-heads.ts); the rest is
// tidegate's bookkeeping per environment (the queue, the store's status, health).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { repoRoot } from "../src/config/repo";
import { provisionPulumi } from "../src/devenv/toolchain/pulumi";
import { writeTidegateConfig } from "../test/helpers/example";
import { environmentName, manyEnvironments, seedSynced } from "./environments";
import { benchDaemon, openBenchEngine } from "./engine";
import { type GoalRow, runAlone } from "./goals";

const run = promisify(execFile);

export const POLLED_ENVIRONMENTS = 300;
/** Issue 12: no-change polling of 300 environments ≤ 1.5× one ls-remote of their repository. */
export const POLL_GOAL = 1.5;
const PASSPHRASE = "polls-bench-passphrase";
const YEARLY = "0 0 1 1 *";
const SWEEPS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

export async function pollBench(log: (line: string) => void = (l) => console.error(l)): Promise<GoalRow[]> {
  const toolchain = await provisionPulumi({ repoRoot: repoRoot(__dirname), onProgress: log });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-bench-polls-"));
  const { remote, names, head } = await manyEnvironments(POLLED_ENVIRONMENTS, environmentName);
  try {
    const configPath = writeTidegateConfig(scratch, remote.url, PASSPHRASE);
    fs.appendFileSync(configPath, stringify({ defaults: { schedule: { poll: YEARLY, drift: YEARLY } } }));
    const opened = await openBenchEngine(configPath, { toolchain, passphrase: PASSPHRASE });
    const { config, engine } = opened;
    const daemon = benchDaemon(opened);
    try {
      await seedSynced(engine.store, names, head);
      const sweep = async () => {
        const started = performance.now();
        const results = await Promise.all(
          names.map((key) => daemon.request({ key, kind: "poll", priority: "schedule", reason: "bench" })),
        );
        const failed = results.findIndex((r) => r.status !== "succeeded");
        if (failed >= 0) throw new Error(`poll of ${names[failed]}: ${results[failed]?.status}`);
        return performance.now() - started;
      };
      const listing = async () => {
        const started = performance.now();
        await run("git", ["ls-remote", "--heads", remote.url]);
        return performance.now() - started;
      };
      log(
        `polls: a first sweep of ${POLLED_ENVIRONMENTS} environments (makes the mirror), then ${SWEEPS} timed`,
      );
      await sweep();
      const sweeps: number[] = [];
      const listings: number[] = [];
      // In turns, so both see the same machine.
      for (let i = 0; i < SWEEPS; i++) {
        sweeps.push(await sweep());
        listings.push(await listing());
      }
      const runs = await engine.store.runs();
      if (runs.length > 0) throw new Error(`a no-change sweep started ${runs.length} runs`);
      const sweepMs = median(sweeps);
      const listingMs = median(listings);
      return [
        {
          measure: `no-change poll of ${POLLED_ENVIRONMENTS} environments (one repository) / one git ls-remote of it`,
          value: sweepMs / listingMs,
          goal: POLL_GOAL,
          unit: "×",
          detail: `${sweepMs.toFixed(1)} ms vs ${listingMs.toFixed(1)} ms (medians of ${SWEEPS}; the polls share one listing, concurrency ${config.daemon.concurrency}, no run started)`,
        },
      ];
    } finally {
      await daemon.stop();
      await engine.close();
    }
  } finally {
    remote.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runAlone(process.argv.slice(2), async () => ({ goals: await pollBench() }));
}
