// The daemon's memory (issue 12): a daemon with 300 environments stays under 300 MB resident
// between runs. Run alone with `npx tsx bench/daemon-memory.ts [--json <file>]`; `npm run bench`
// runs it too.
//
// What runs: `tidegate run` itself, from the compiled CLI (built first), on a tidegate.yaml of 300
// environments and a SQLite store of 30,000 runs, with its HTTP API, schedules, request feed and
// replica ownership. Its startup is `daemon.startup: poll`: each status is recorded at its
// branch's head, so no poll runs Pulumi (the default startup would preview all 300). Its VmRSS (and
// peak, VmHWM) are read from /proc 3 s after it prints that it is watching; an idle Node is
// measured beside it, as its floor.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { stringify } from "yaml";
import { openSqliteStore, STORE_FILE } from "../src/adapters/store/sqlite";
import { writeTidegateConfig } from "../test/helpers/example";
import { environmentName, manyEnvironments, seedSynced } from "./environments";
import { seedStore } from "./api";
import { buildCli } from "./cli";
import { type GoalRow, runAlone } from "./goals";

export const MEMORY_ENVIRONMENTS = 300;
export const MEMORY_GOAL_MB = 300;
const PASSPHRASE = "memory-bench-passphrase";
const YEARLY = "0 0 1 1 *";
const root = path.resolve(__dirname, "..");
const node = path.join(root, "node_modules", ".bin", "node");

/** VmRSS and VmHWM of a process, in MB. */
function residentMemory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** Starts `args` under the pinned Node; once its stdout says `ready` (or after `readyAfterMs`), reads its memory. */
async function measureProcess(
  args: string[],
  ready: string | number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ rss: number; peak: number }> {
  const proc = spawn(node, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", resolve));
  try {
    if (typeof ready === "string") {
      let stdout = "";
      const settled = new Promise<void>((resolve) =>
        proc.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes(ready)) resolve();
        }),
      );
      const code = await Promise.race([settled.then(() => undefined), exited]);
      if (code !== undefined) throw new Error(`daemon process exited (${code}): ${stderr.slice(-2000)}`);
      await delay(3000); // between runs: the startup's garbage had its chance to go
    } else await delay(ready);
    if (proc.pid === undefined) throw new Error("the process did not start");
    return residentMemory(proc.pid);
  } finally {
    proc.kill("SIGTERM");
    await exited;
  }
}

/** How many runs the store holds for these environments. */
async function runCount(dataDir: string, names: readonly string[]): Promise<number> {
  const store = openSqliteStore(path.join(dataDir, STORE_FILE));
  try {
    let count = 0;
    for (const name of names) count += (await store.runs({ environment: name, limit: 1000 })).length;
    return count;
  } finally {
    await store.close();
  }
}

export async function daemonMemoryBench(
  log: (line: string) => void = (l) => console.error(l),
): Promise<GoalRow[]> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-bench-memory-"));
  const { remote, names, head } = await manyEnvironments(MEMORY_ENVIRONMENTS, environmentName);
  try {
    const configPath = writeTidegateConfig(scratch, remote.url, PASSPHRASE);
    fs.appendFileSync(
      configPath,
      stringify({
        defaults: { schedule: { poll: YEARLY, drift: YEARLY } },
        daemon: { startup: "poll" },
        server: { listen: "127.0.0.1:0" },
      }),
    );
    fs.mkdirSync(path.join(scratch, "data"), { recursive: true });
    log(`daemon memory: seeding ${MEMORY_ENVIRONMENTS} environments × 100 runs`);
    const store = openSqliteStore(path.join(scratch, "data", STORE_FILE));
    await seedStore(store, names);
    await seedSynced(store, names, head);
    await store.close();
    buildCli();
    const runsBefore = await runCount(path.join(scratch, "data"), names);
    log("daemon memory: starting tidegate run");
    const daemon = await measureProcess(
      [path.join(root, "bin", "tidegate.js"), "run", "--config", configPath, "--log-format", "json"],
      `Watching ${MEMORY_ENVIRONMENTS} environments`,
      { ...process.env, PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
    );
    const ran = (await runCount(path.join(scratch, "data"), names)) - runsBefore;
    if (ran !== 0)
      throw new Error(`daemon memory: the startup ran ${ran} checks; it should only have polled`);
    const floor = await measureProcess(["-e", "setInterval(() => {}, 1000)"], 1500);
    return [
      {
        measure: `daemon, ${MEMORY_ENVIRONMENTS} environments, between runs: resident memory`,
        value: daemon.rss,
        goal: MEMORY_GOAL_MB,
        unit: "MB",
        detail: `tidegate run (compiled): VmRSS ${Math.round(daemon.rss)} MB, peak (VmHWM) ${Math.round(daemon.peak)} MB, 3 s after it started watching (startup: poll of ${MEMORY_ENVIRONMENTS} environments, no check; store of 30,000 runs); an idle Node: ${Math.round(floor.rss)} MB`,
      },
    ];
  } finally {
    remote.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runAlone(process.argv.slice(2), async () => ({ goals: await daemonMemoryBench() }));
}
