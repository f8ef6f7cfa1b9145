// Throughput (issue 12): a drift sweep of 100 environment×stack pairs through the daemon's work queue
// (daemon.concurrency workers) against 100 × one raw `pulumi refresh --preview-only` ÷ the
// concurrency reached. Run alone with `npx tsx bench/sweep.ts [--json <file>] [--concurrency <n>]`;
// `npm run bench` runs it too.
//
// The program is one dynamic resource with no read: a refresh starts the engine, the Node language
// host's dynamic provider and reads one resource back, so the sweep measures what tidegate adds
// around a refresh, not a cloud's latency (the example program refreshes against the AWS emulator,
// whose calls on 2 shared cores would dominate). One stack is deployed by the engine; the other 99
// get a copy of its checkpoint and history under their own names (what 99 more deploys would have
// written, in milliseconds instead of minutes).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { enginePath, type PulumiToolchain } from "../src/adapters/pulumi/toolchain";
import { fileBackendRoot } from "../src/adapters/pulumi/file-state";
import { repoRoot } from "../src/config/repo";
import { Daemon, type DaemonEngine } from "../src/daemon/daemon";
import { provisionPulumi } from "../src/devenv/toolchain/pulumi";
import { writeTidegateConfig } from "../test/helpers/example";
import { createGitRemote } from "../test/helpers/git";
import { type GoalRow, runAlone } from "./goals";
import { openBenchEngine } from "./engine";

const run = promisify(execFile);

export const SWEEP_PAIRS = 100;
/** Issue 12: the sweep's wall time over (pairs × one raw refresh ÷ concurrency reached). */
export const SWEEP_GOAL = 1.3;
const PROJECT = "sweep";
const PASSPHRASE = "sweep-bench-passphrase";
const YEARLY = "0 0 1 1 *";

const PROGRAM = `"use strict";
// One dynamic resource, no read: a refresh keeps what it has.
const pulumi = require("@pulumi/pulumi");
const provider = {
  async create(inputs) {
    return { id: inputs.label, outs: inputs };
  },
};
new pulumi.dynamic.Resource(provider, "marker", { label: pulumi.getStack() });
`;

function repositoryFiles(environments: readonly string[]): Record<string, string> {
  const files: Record<string, string> = {
    ".gitignore": "node_modules/\n",
    [`${PROJECT}/Pulumi.yaml`]: `name: ${PROJECT}\nruntime: nodejs\nmain: index.js\n`,
    [`${PROJECT}/package.json`]: JSON.stringify(
      // The pulumi SDK version the example program pins: already in npm's cache after setup.
      { name: PROJECT, private: true, main: "index.js", dependencies: { "@pulumi/pulumi": "3.270.0" } },
      null,
      2,
    ),
    [`${PROJECT}/index.js`]: PROGRAM,
  };
  environments.forEach((name, i) => {
    files[`${PROJECT}/Pulumi.${name}.yaml`] = "config: {}\n";
    files[`environments/${name}.yaml`] = stringify({
      name,
      branch: name,
      stack: name,
      project: PROJECT,
      order: i + 1,
      sync: { policy: "auto" },
      drift: { policy: "report" },
    });
  });
  return files;
}

/** The stack `from`'s checkpoint and history, copied under the name `to`. */
function copyStack(backendRoot: string, from: string, to: string): void {
  const rename = (text: string) => text.split(from).join(to);
  const stacks = path.join(backendRoot, ".pulumi", "stacks", PROJECT);
  fs.writeFileSync(
    path.join(stacks, `${to}.json`),
    rename(fs.readFileSync(path.join(stacks, `${from}.json`), "utf8")),
  );
  const history = path.join(backendRoot, ".pulumi", "history", PROJECT);
  if (!fs.existsSync(path.join(history, from))) return;
  fs.mkdirSync(path.join(history, to), { recursive: true });
  for (const file of fs.readdirSync(path.join(history, from))) {
    fs.writeFileSync(
      path.join(history, to, rename(file)),
      rename(fs.readFileSync(path.join(history, from, file), "utf8")),
    );
  }
}

async function median(n: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

export interface SweepResult {
  wallMs: number;
  /** The most drift checks running at once. */
  reached: number;
  refreshMs: number;
  setupMs: number;
  /** Mean ms per stage of the sweep's checks. */
  stages: Record<string, number>;
}

/** One sweep: every pair's drift check asked of the daemon at once; wall time, concurrency reached. */
async function sweep(
  daemon: Daemon,
  environments: readonly string[],
  inFlight: { now: number; max: number },
): Promise<number> {
  inFlight.max = 0;
  const started = performance.now();
  const results = await Promise.all(
    environments.map((key) =>
      daemon.request({ key, kind: "drift", priority: "schedule", reason: "bench sweep" }),
    ),
  );
  const wallMs = performance.now() - started;
  const failed = results.findIndex((r) => r.status !== "succeeded");
  if (failed >= 0) throw new Error(`drift check of ${environments[failed]}: ${results[failed]?.status}`);
  return wallMs;
}

export async function sweepBench(
  options: { concurrency?: number; log?: (line: string) => void } = {},
): Promise<{ result: SweepResult; goals: GoalRow[] }> {
  const log = options.log ?? ((line: string) => console.error(line));
  const benchStarted = performance.now();
  const root = repoRoot(__dirname);
  const toolchain: PulumiToolchain = await provisionPulumi({ repoRoot: root, onProgress: log });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-bench-sweep-"));
  const remote = await createGitRemote();
  try {
    const environments = Array.from({ length: SWEEP_PAIRS }, (_, i) => `env${String(i).padStart(3, "0")}`);
    await remote.commitFiles(repositoryFiles(environments), `${SWEEP_PAIRS} environments`);
    await remote.push("main");
    await remote.git("push", "origin", ...environments.map((env) => `main:refs/heads/${env}`));
    const configPath = writeTidegateConfig(scratch, remote.url, PASSPHRASE);
    fs.appendFileSync(
      configPath,
      stringify({
        defaults: { schedule: { poll: YEARLY, drift: YEARLY } },
        ...(options.concurrency !== undefined ? { daemon: { concurrency: options.concurrency } } : {}),
      }),
    );
    const {
      config,
      engine,
      log: logger,
    } = await openBenchEngine(configPath, {
      toolchain,
      passphrase: PASSPHRASE,
      dependencyCacheDir: path.join(scratch, "deps"),
    });
    try {
      const [first, ...rest] = environments as [string, ...string[]];
      log(
        `sweep: deploying ${first} (one dependency install), then copying its state to ${rest.length} stacks`,
      );
      const deployed = await engine.check(first, { kind: "sync", trigger: "bench", allowSync: true });
      if (deployed.status !== "Synced")
        throw new Error(`deploy of ${first}: ${deployed.status} ${deployed.reason ?? ""}`);
      const backendRoot = fileBackendRoot(config.backendUrl);
      if (backendRoot === undefined) throw new Error("the sweep bench needs a file:// backend");
      for (const env of rest) copyStack(backendRoot, first, env);

      // Its checks' stage timings, and how many run at once, seen from around the daemon's runs.
      const stages: Record<string, number> = {};
      let checks = 0;
      const observed: DaemonEngine = {
        environments: engine.environments,
        store: engine.store,
        git: engine.git,
        audit: engine.audit,
        poll: (...args) => engine.poll(...args),
        check: async (...args) => {
          const report = await engine.check(...args);
          if (report.status === "Failed") throw new Error(`${args[0]}: Failed: ${report.reason ?? ""}`);
          checks++;
          for (const [stage, ms] of Object.entries(report.timings)) stages[stage] = (stages[stage] ?? 0) + ms;
          return report;
        },
        repositoryOf: (env) => engine.repositoryOf(env),
      };
      const inFlight = { now: 0, max: 0 };
      const daemon = new Daemon({
        engine: observed,
        log: logger,
        workers: config.daemon.concurrency,
        onRun: () => {
          inFlight.max = Math.max(inFlight.max, ++inFlight.now);
          return () => inFlight.now--;
        },
      });
      try {
        // The first sweep also makes each environment's worktree; the daemon's every later one
        // (every drift schedule) finds them there: that one is measured.
        log(
          `sweep: first drift sweep of ${SWEEP_PAIRS} pairs (makes the worktrees), concurrency ${config.daemon.concurrency}`,
        );
        const firstMs = await sweep(daemon, environments, inFlight);
        for (const stage of Object.keys(stages)) delete stages[stage];
        checks = 0;
        log(`sweep: first sweep took ${(firstMs / 1000).toFixed(1)} s; measuring the second`);
        const wallMs = await sweep(daemon, environments, inFlight);
        const reached = inFlight.max;
        const setupMs = performance.now() - benchStarted - wallMs;

        const env = {
          ...process.env,
          PATH: enginePath(toolchain),
          PULUMI_BACKEND_URL: config.backendUrl,
          PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
          PULUMI_SKIP_UPDATE_CHECK: "true",
          PULUMI_HOME: path.join(scratch, "data", "pulumi-home"),
        };
        const projectDir = path.join(scratch, "data", "workspaces", first, PROJECT);
        const refreshMs = await median(3, () =>
          run(
            path.join(toolchain.binDir, "pulumi"),
            ["refresh", "--preview-only", "--stack", first, "--non-interactive", "--cwd", projectDir],
            { env, maxBuffer: 64 << 20 },
          ),
        );
        // The same raw refreshes, `reached` at once (3 each, of different stacks): what the machine's
        // cores give at that concurrency, which the goal's formula takes to scale perfectly.
        const lanesStarted = performance.now();
        await Promise.all(
          Array.from({ length: reached }, async (_, lane) => {
            for (let i = 0; i < 3; i++) {
              const stack = environments[lane * 3 + i] as string;
              await run(
                path.join(toolchain.binDir, "pulumi"),
                ["refresh", "--preview-only", "--stack", stack, "--non-interactive"],
                { env, cwd: path.join(scratch, "data", "workspaces", stack, PROJECT), maxBuffer: 64 << 20 },
              );
            }
          }),
        );
        const contendedFloorMs = ((performance.now() - lanesStarted) / (reached * 3)) * SWEEP_PAIRS;
        for (const stage of Object.keys(stages)) stages[stage] = (stages[stage] ?? 0) / Math.max(1, checks);
        const floorMs = (SWEEP_PAIRS * refreshMs) / reached;
        const result: SweepResult = { wallMs, reached, refreshMs, setupMs, stages };
        log(`sweep: bench took ${((performance.now() - benchStarted) / 1000).toFixed(0)} s in all`);
        return {
          result,
          goals: [
            {
              measure: `drift sweep of ${SWEEP_PAIRS} pairs / (${SWEEP_PAIRS} × raw refresh ÷ concurrency reached)`,
              value: wallMs / floorMs,
              goal: SWEEP_GOAL,
              unit: "×",
              detail: `${(wallMs / 1000).toFixed(1)} s vs ${SWEEP_PAIRS} × ${(refreshMs / 1000).toFixed(2)} s ÷ ${reached} = ${(floorMs / 1000).toFixed(1)} s (daemon.concurrency ${config.daemon.concurrency}; the first sweep, making the worktrees, took ${(firstMs / 1000).toFixed(1)} s; setup ${(setupMs / 1000).toFixed(0)} s); against raw refreshes run ${reached} at once (${(contendedFloorMs / 1000).toFixed(1)} s for ${SWEEP_PAIRS}): ${(wallMs / contendedFloorMs).toFixed(2)}×`,
            },
          ],
        };
      } finally {
        await daemon.stop();
      }
    } finally {
      await engine.close();
    }
  } finally {
    remote.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Where a sweep's check spends its time, mean ms per stage. */
export function formatSweepStages(result: SweepResult): string {
  const parts = Object.entries(result.stages).map(([stage, ms]) => `${stage} ${Math.round(ms)}`);
  return `Drift sweep, mean ms per check and stage (stages may overlap): ${parts.join(", ")}\n`;
}

function concurrencyOption(argv: readonly string[]): number | undefined {
  const at = argv.indexOf("--concurrency");
  if (at < 0) return undefined;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error("bench: --concurrency needs a whole number ≥ 1");
  return value;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const concurrency = concurrencyOption(argv);
  runAlone(argv, async () => {
    const { result, goals } = await sweepBench(concurrency !== undefined ? { concurrency } : {});
    return { goals, table: formatSweepStages(result) };
  });
}
