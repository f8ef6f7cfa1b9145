// Starting and reading, as a user sees them: `tidegate --help` against `node -e 0` of the same Node,
// and `tidegate status` (and `status --json`) as processes on a store of 300 environments and 30,000
// runs. Run alone with `npx tsx bench/cli.ts [--json <file>]`; `npm run bench` runs it too.
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { openSqliteStore, STORE_FILE } from "../src/adapters/store/sqlite";
import { exampleRepositoryFiles, writeTidegateConfig } from "../test/helpers/example";
import { createGitRemote } from "../test/helpers/git";
import { seedStore } from "./api";
import { type GoalRow, runAlone } from "./goals";

const run = promisify(execFile);
const root = path.resolve(__dirname, "..");
const node = path.join(root, "node_modules", ".bin", "node");
const tidegate = path.join(root, "bin", "tidegate.js");

export const STATUS_ENVIRONMENTS = 300;
/** Issue 12's goals for reading and starting. */
export const GOALS = { statusSeconds: 0.3, statusMegabytes: 100, helpRatio: 2 };

interface Sample {
  seconds: number;
  megabytes: number;
}

/** One process, its wall time and peak resident memory (GNU time's %e and %M). */
async function measure(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  const out = path.join(os.tmpdir(), `tidegate-bench-time-${process.pid}`);
  const started = performance.now();
  await run("/usr/bin/time", ["-o", out, "-f", "%M", command, ...args], { env, maxBuffer: 64 << 20 });
  const seconds = (performance.now() - started) / 1000;
  const kilobytes = Number(fs.readFileSync(out, "utf8").trim().split("\n").pop());
  fs.rmSync(out, { force: true });
  return { seconds, megabytes: kilobytes / 1024 };
}

/** The fastest of n runs (noise on a shared machine only adds time) and the largest peak memory. */
async function best(n: number, command: string, args: string[], env = process.env): Promise<Sample> {
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) samples.push(await measure(command, args, env));
  return {
    seconds: Math.min(...samples.map((s) => s.seconds)),
    megabytes: Math.max(...samples.map((s) => s.megabytes)),
  };
}

const ms = (seconds: number) => `${Math.round(seconds * 1000)} ms`;

let built = false;

/**
 * What a user runs: the compiled CLI, as setup.sh and `npm run build` leave it, built once per bench
 * process (src/ does not change under it). A checkout edited since its last build would run through
 * tsx (bin/tidegate.js refuses a stale dist/).
 */
export function buildCli(): void {
  if (built) return;
  const build = spawnSync("bash", [path.join(root, "scripts", "build.sh")], { cwd: root, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`bench: npm run build failed\n${build.stdout}${build.stderr}`);
  built = true;
}

export async function startBench(): Promise<GoalRow[]> {
  buildCli();
  const bare = await best(15, node, ["-e", "0"]);
  const help = await best(15, node, [tidegate, "--help"]);
  const compiled = "dist/, built just before";
  return [
    {
      measure: "tidegate --help / node -e 0",
      value: help.seconds / bare.seconds,
      goal: GOALS.helpRatio,
      unit: "×",
      detail: `${ms(help.seconds)} vs ${ms(bare.seconds)}, best of 15, from ${compiled}`,
    },
  ];
}

/** A tidegate.yaml over a repository of 300 environments, and a store with 100 runs of each. */
export async function prepareStatusFixture(
  scratch: string,
  log: (line: string) => void,
): Promise<{ config: string; cleanup: () => void }> {
  const remote = await createGitRemote();
  const names = Array.from({ length: STATUS_ENVIRONMENTS }, (_, i) => `env${String(i).padStart(3, "0")}`);
  await remote.commitFiles(
    exampleRepositoryFiles(names.map((name) => ({ name, stack: name, sync: "auto", drift: "report" }))),
    "300 environments",
  );
  await remote.push("main");
  const config = writeTidegateConfig(scratch, remote.url, "bench-passphrase");
  fs.mkdirSync(path.join(scratch, "data"), { recursive: true });
  log(`seeding ${STATUS_ENVIRONMENTS} environments × 100 runs`);
  const store = openSqliteStore(path.join(scratch, "data", STORE_FILE));
  await seedStore(store, names);
  // As the engine writes it when it loads the configuration: status reads it instead of Git.
  await store.setEnvironmentList(names.map((name) => ({ name, branch: name, stack: name })));
  await store.close();
  return { config, cleanup: () => remote.cleanup() };
}

export async function statusBench(log: (line: string) => void = (l) => console.error(l)): Promise<GoalRow[]> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-bench-status-"));
  let cleanup = () => {};
  try {
    const fixture = await prepareStatusFixture(scratch, log);
    cleanup = fixture.cleanup;
    const env = { ...process.env, TIDEGATE_CACHE_DIR: path.join(scratch, "cache") };
    const rows: GoalRow[] = [];
    for (const args of [["status"], ["status", "--json"]]) {
      const command = [tidegate, ...args, "--config", fixture.config];
      const first = await measure(node, command, env); // fills caches a first run may fill
      const sample = await best(5, node, command, env);
      const name = `tidegate ${args.join(" ")} (300 environments, 30,000 runs)`;
      const detail = `best of 5; the first run took ${first.seconds.toFixed(2)} s`;
      rows.push(
        { measure: `${name}: time`, value: sample.seconds, goal: GOALS.statusSeconds, unit: "s", detail },
        { measure: `${name}: peak memory`, value: sample.megabytes, goal: GOALS.statusMegabytes, unit: "MB" },
      );
    }
    return rows;
  } finally {
    cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runAlone(process.argv.slice(2), async () => ({
    goals: [...(await startBench()), ...(await statusBench())],
  }));
}
