// The daemon's memory (issue 12): a daemon with 300 environments stays under 300 MB resident
// between runs. Run alone with `npx tsx bench/daemon-memory.ts [--json <file>]`; `npm run bench`
// runs it too.
//
// What runs: a separate Node process (this file with --child) composing what `tidegate run` composes
// (the real engine on tidegate.yaml, its SQLite store of 300 environments and 30,000 runs, the
// daemon with its work queue, schedules, request feed and replica ownership), whose startup sweep
// polls every environment; each status is recorded at its branch's head, so no poll runs Pulumi.
// `tidegate run` itself cannot be measured so: its startup is a full check (a Pulumi preview) of
// every environment. Its VmRSS (and peak, VmHWM) are read from /proc after the sweep settles. The
// child loads TypeScript through tsx; an idle Node with tsx is measured beside it, as its floor.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { stringify } from "yaml";
import { ownerDeadness, processOwner } from "../src/adapters/owner";
import { openSqliteStore, STORE_FILE } from "../src/adapters/store/sqlite";
import { repoRoot } from "../src/config/repo";
import { Daemon, type DaemonEngine } from "../src/daemon/daemon";
import { provisionPulumi } from "../src/devenv/toolchain/pulumi";
import { exampleRepositoryFiles, writeTidegateConfig } from "../test/helpers/example";
import { createGitRemote } from "../test/helpers/git";
import { seedStore } from "./api";
import { type GoalRow, runAlone } from "./goals";
import { openBenchEngine } from "./engine";

export const MEMORY_ENVIRONMENTS = 300;
export const MEMORY_GOAL_MB = 300;
const PASSPHRASE = "memory-bench-passphrase";
const YEARLY = "0 0 1 1 *";
const SETTLED = "settled";
const root = path.resolve(__dirname, "..");
const node = path.join(root, "node_modules", ".bin", "node");

/** The child: the daemon as `tidegate run` composes it, a startup sweep of polls, then idle. */
async function child(configPath: string): Promise<void> {
  const toolchain = await provisionPulumi({ repoRoot: repoRoot(__dirname), onProgress: () => {} });
  const { config, engine, log } = await openBenchEngine(configPath, { toolchain, passphrase: PASSPHRASE });
  let checked = 0;
  const counted: DaemonEngine = {
    environments: engine.environments,
    store: engine.store,
    git: engine.git,
    audit: engine.audit,
    check: (...args) => {
      checked++;
      return engine.check(...args);
    },
    poll: async (...args) => {
      const report = await engine.poll(...args);
      if (report !== undefined) checked++;
      return report;
    },
    repositoryOf: (env) => engine.repositoryOf(env),
    recoverInterruptedRuns: () => engine.recoverInterruptedRuns(),
  };
  const { ownershipTtlMs, heartbeatMs, ...retry } = config.daemon;
  const daemon = new Daemon({
    engine: counted,
    log,
    requests: engine.store,
    retry: { ...retry, configRef: config.configRef },
    workers: config.daemon.concurrency,
    replica: {
      store: engine.store,
      me: processOwner(),
      ttlMs: ownershipTtlMs,
      heartbeatMs,
      isDead: ownerDeadness({ ttlMs: ownershipTtlMs }),
    },
  });
  const results = await Promise.all(
    engine.environments.map((env) =>
      daemon.request({ key: env.name, kind: "poll", priority: "schedule", reason: "startup sweep" }),
    ),
  );
  const failed = results.filter((r) => r.status !== "succeeded").length;
  if (failed > 0 || checked > 0)
    throw new Error(`startup sweep: ${failed} polls failed, ${checked} ran a check`);
  daemon.watch();
  process.stdout.write(`${SETTLED}\n`);
  await new Promise<void>((resolve) => process.once("SIGTERM", resolve));
  await daemon.stop();
  await engine.close();
}

/** VmRSS and VmHWM of a process, in MB. */
function residentMemory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** Starts `args` under the pinned Node with tsx, waits for its line `settled` (or `readyAfterMs`). */
async function measureProcess(
  args: string[],
  ready: "settled" | number,
): Promise<{ rss: number; peak: number }> {
  const proc = spawn(node, ["--import", "tsx", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", resolve));
  try {
    if (ready === SETTLED) {
      let stdout = "";
      const settled = new Promise<void>((resolve) =>
        proc.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes(SETTLED)) resolve();
        }),
      );
      const code = await Promise.race([settled.then(() => undefined), exited]);
      if (code !== undefined) throw new Error(`daemon process exited (${code}): ${stderr.slice(-2000)}`);
      await delay(3000); // between runs: the sweep's garbage had its chance to go
    } else await delay(ready);
    if (proc.pid === undefined) throw new Error("the process did not start");
    return residentMemory(proc.pid);
  } finally {
    proc.kill("SIGTERM");
    await exited;
  }
}

export async function daemonMemoryBench(
  log: (line: string) => void = (l) => console.error(l),
): Promise<GoalRow[]> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-bench-memory-"));
  const remote = await createGitRemote();
  try {
    const names = Array.from({ length: MEMORY_ENVIRONMENTS }, (_, i) => `env${String(i).padStart(3, "0")}`);
    // The example program's files: never run, as nothing changes.
    const head = await remote.commitFiles(
      exampleRepositoryFiles(names.map((name) => ({ name, stack: name, sync: "auto", drift: "report" }))),
      `${MEMORY_ENVIRONMENTS} environments`,
    );
    await remote.push("main");
    await remote.git("push", "origin", ...names.map((env) => `main:refs/heads/${env}`));
    const configPath = writeTidegateConfig(scratch, remote.url, PASSPHRASE);
    fs.appendFileSync(configPath, stringify({ defaults: { schedule: { poll: YEARLY, drift: YEARLY } } }));
    fs.mkdirSync(path.join(scratch, "data"), { recursive: true });
    log(`daemon memory: seeding ${MEMORY_ENVIRONMENTS} environments × 100 runs`);
    const store = openSqliteStore(path.join(scratch, "data", STORE_FILE));
    await seedStore(store, names);
    // Each environment as its last check left it: Synced at its branch's head (a poll runs nothing).
    const at = new Date().toISOString();
    for (const name of names) {
      const last = await store.status(name);
      await store.setStatus({
        environment: name,
        branch: name,
        stack: name,
        status: "Synced",
        pendingCount: 0,
        driftCount: 0,
        ...(last?.lastRunId !== undefined ? { lastRunId: last.lastRunId } : {}),
        headCommit: head,
        deployedCommit: head,
        lastRunAt: at,
        updatedAt: at,
      });
    }
    await store.close();
    log("daemon memory: starting the daemon process");
    const daemon = await measureProcess([__filename, "--child", configPath], SETTLED);
    const floor = await measureProcess(["-e", "setInterval(() => {}, 1000)"], 1500);
    return [
      {
        measure: `daemon, ${MEMORY_ENVIRONMENTS} environments, between runs: resident memory`,
        value: daemon.rss,
        goal: MEMORY_GOAL_MB,
        unit: "MB",
        detail: `VmRSS ${Math.round(daemon.rss)} MB, peak (VmHWM) ${Math.round(daemon.peak)} MB, 3 s after a startup sweep of ${MEMORY_ENVIRONMENTS} polls (store of 30,000 runs); an idle Node with tsx: ${Math.round(floor.rss)} MB`,
      },
    ];
  } finally {
    remote.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") {
    child(argv[1] as string).catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  } else {
    runAlone(argv, async () => ({ goals: await daemonMemoryBench() }));
  }
}
