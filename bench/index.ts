// npm run bench: tidegate's overhead against the raw tools, as ratios measured in one run on this
// machine (the real engine, real Git, the emulator). Absolute times vary by machine; ratios less so.
// Run some rows of the engine table alone: `npx tsx bench/index.ts --only d,e`.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { awsEnvVars, startEmulator } from "../src/devenv/emulator";
import { person } from "../src/app/actor";
import { provisionPulumi } from "../src/devenv/toolchain/pulumi";
import { enginePath } from "../src/adapters/pulumi/toolchain";
import { repoRoot } from "../src/config/repo";
import { exampleRepositoryFiles, PROJECT, writeTidegateConfig } from "../test/helpers/example";
import { createGitRemote } from "../test/helpers/git";
import { apiBench, formatLatencyTable } from "./api";
import { startBench, statusBench } from "./cli";
import { formatSweepTable, replicaBench } from "./replicas";
import { formatSweepStages, sweepBench } from "./sweep";
import { daemonMemoryBench } from "./daemon-memory";
import { pollBench } from "./polls";
import { formatGoalTable, type GoalRow, judge, jsonTarget, writeGoalJson } from "./goals";
import { openBenchEngine } from "./engine";

const run = promisify(execFile);

async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

/** Median of n runs: one slow outlier on a 2-core machine should not decide a ratio. */
async function median(n: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push((await time(fn)).ms);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Issue 12's goals: the most each ratio may be. */
const GOALS = { poll: 1.5, check: 1.2, drift: 1.15, approvedSync: 1.25 };

/** `--only d,e`: just those rows of the engine's table (and none of the other benches), for quick work on them. */
function onlyRows(argv: readonly string[]): Set<string> | undefined {
  const i = argv.indexOf("--only");
  if (i < 0) return undefined;
  const rows = (argv[i + 1] ?? "").split(",").filter((r) => /^[a-e]$/.test(r));
  if (rows.length === 0) throw new Error("bench: --only needs row letters, e.g. --only d,e");
  return new Set(rows);
}

async function main(): Promise<void> {
  const target = jsonTarget(process.argv.slice(2));
  const only = onlyRows(process.argv.slice(2));
  const runs = (row: string) => only === undefined || only.has(row);
  const goals: GoalRow[] = [];
  const root = repoRoot(__dirname);
  const toolchain = await provisionPulumi({ repoRoot: root, onProgress: (l) => console.error(l) });
  const emulator = await startEmulator({ repoRoot: root, log: () => undefined });
  const remote = await createGitRemote();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-bench-"));
  try {
    const stack = `b${randomBytes(3).toString("hex")}-test`;
    const stackFile = `${PROJECT}/Pulumi.${stack}.yaml`;
    const gatedStack = `${stack.replace(/-test$/, "")}-gated`;
    const gatedFile = `${PROJECT}/Pulumi.${gatedStack}.yaml`;
    const files = exampleRepositoryFiles([
      { name: "test", stack, sync: "auto", drift: "report" },
      { name: "gated", stack: gatedStack, sync: "gated", drift: "report" },
    ]);
    await remote.commitFiles(files, "seed");
    await remote.push("main");
    for (const branch of ["gated", "test"]) {
      await remote.switchBranch(branch, "main");
      await remote.push(branch);
    }

    const passphrase = randomBytes(12).toString("hex");
    const configPath = writeTidegateConfig(scratch, remote.url, passphrase);
    const depsCache = path.join(scratch, "deps");
    const { config, engine } = await openBenchEngine(configPath, {
      toolchain,
      passphrase,
      stackEnv: awsEnvVars(emulator),
      dependencyCacheDir: depsCache,
    });
    const env = {
      ...process.env,
      ...awsEnvVars(emulator),
      PATH: enginePath(toolchain),
      PULUMI_BACKEND_URL: config.backendUrl,
      PULUMI_CONFIG_PASSPHRASE: passphrase,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_HOME: path.join(scratch, "data", "pulumi-home"),
    };
    const projectDir = path.join(scratch, "data", "workspaces", "test", PROJECT);
    const pulumi = (...args: string[]) =>
      run(
        path.join(toolchain.binDir, "pulumi"),
        [...args, "--stack", stack, "--non-interactive", "--cwd", projectDir],
        { env, maxBuffer: 64 << 20 },
      );

    // Deploy once (cold dependency install measured here), so later checks see a deployed stack.
    const cold = await time(() => engine.check("test", { kind: "sync", trigger: "bench", allowSync: true }));
    const rows: Array<[string, number, number, number?]> = [];

    // (a) a no-change poll cycle vs one `git ls-remote` of the same branch.
    if (runs("a")) {
      const lsRemote = await median(7, () => run("git", ["ls-remote", "--heads", remote.url, "test"]));
      const poll = await median(7, () => engine.poll("test"));
      rows.push(["(a) no-change poll cycle / git ls-remote", poll, lsRemote, GOALS.poll]);
    }

    // (b) push → pending change reported vs a raw `pulumi preview` (warm dependencies).
    let n = 0;
    const base = fs.readFileSync(path.join(remote.workDir, stackFile), "utf8");
    const pushChange = async () => {
      n++;
      await remote.commitFiles(
        { [stackFile]: base.replace("queueVisibilityTimeout: 30", `queueVisibilityTimeout: ${30 + n}`) },
        `change ${n}`,
      );
      await remote.push("test");
    };
    let checkMs = 0;
    const stages: Record<string, Record<string, number>> = {};
    const addStages = (row: string, timings: Record<string, number>, runs: number) => {
      const into = (stages[row] ??= {});
      for (const [stage, ms] of Object.entries(timings)) into[stage] = (into[stage] ?? 0) + ms / runs;
    };
    if (runs("b")) {
      for (let i = 0; i < 3; i++) {
        await pushChange();
        const checked = await time(() =>
          engine.check("test", { kind: "check", trigger: "bench", allowSync: false }),
        );
        checkMs += checked.ms;
        addStages("(b)", checked.value.timings, 3);
      }
      checkMs /= 3;
      const preview = await median(3, () => pulumi("preview", "--diff"));
      rows.push(["(b) check after a push / raw pulumi preview", checkMs, preview, GOALS.check]);
    }

    // (c) the same check with a cold vs a cached dependency install.
    if (runs("c")) {
      fs.rmSync(depsCache, { recursive: true, force: true });
      await pushChange();
      const coldCheck = (
        await time(() => engine.check("test", { kind: "check", trigger: "bench", allowSync: false }))
      ).ms;
      await pushChange();
      const warmCheck = (
        await time(() => engine.check("test", { kind: "check", trigger: "bench", allowSync: false }))
      ).ms;
      rows.push(["(c) check with cold install / with cached install", coldCheck, warmCheck]);
    }

    // (d) a drift check vs a raw `pulumi refresh --preview-only`.
    if (runs("d")) {
      const drift = await median(3, async () => {
        const checked = await time(() =>
          engine.check("test", { kind: "drift", trigger: "bench", allowSync: false }),
        );
        // "whole run" less the stages: the lease, the store, the report and the audit around them.
        addStages("(d)", { ...checked.value.timings, "whole run": checked.ms }, 3);
      });
      const refresh = await median(3, () => pulumi("refresh", "--preview-only"));
      rows.push(["(d) drift check / raw pulumi refresh --preview-only", drift, refresh, GOALS.drift]);
    }

    // (e) a sync that needed an approval (its digest the approved one, the update held to the plan its
    // preview saved; previewed again under the lease only if the stack's state changed meanwhile) vs
    // an ungated sync of the same change.
    const gatedBase = fs.readFileSync(path.join(remote.workDir, gatedFile), "utf8");
    const syncOnce = async (branch: string, file: string, text: string, value: number, approve: boolean) => {
      await remote.switchBranch(branch);
      await remote.commitFiles(
        { [file]: text.replace("queueVisibilityTimeout: 30", `queueVisibilityTimeout: ${value}`) },
        `sync ${value}`,
      );
      await remote.push(branch);
      if (approve) await engine.approve(branch, { actor: person("bench-approver@example.com") });
      else await engine.check(branch, { kind: "check", trigger: "bench", allowSync: false });
      const synced = await time(() =>
        engine.check(branch, { kind: "sync", trigger: "bench", allowSync: true }),
      );
      if (value >= 40)
        addStages(
          approve ? "(e) approved" : "(e) ungated",
          { ...synced.value.timings, "whole run": synced.ms },
          3,
        );
      return synced.ms;
    };
    if (runs("e")) {
      await syncOnce("gated", gatedFile, gatedBase, 31, true); // first deploy of the gated stack
      let gatedMs = 0;
      let ungatedMs = 0;
      for (let i = 0; i < 3; i++) {
        gatedMs += await syncOnce("gated", gatedFile, gatedBase, 40 + i, true);
        ungatedMs += await syncOnce("test", stackFile, base, 60 + i, false);
      }
      rows.push([
        "(e) approved sync (plan verified) / ungated sync",
        gatedMs / 3,
        ungatedMs / 3,
        GOALS.approvedSync,
      ]);
    }

    console.log(`first sync with a cold dependency install: ${(cold.ms / 1000).toFixed(1)} s`);
    console.log("");
    console.log("| comparison | tidegate | baseline | ratio |");
    console.log("|---|---:|---:|---:|");
    for (const [name, ours, theirs, goal] of rows) {
      if (goal !== undefined) {
        const detail = `${(ours / 1000).toFixed(2)} s vs ${(theirs / 1000).toFixed(2)} s`;
        goals.push({ measure: name, value: ours / theirs, goal, unit: "×", detail });
      }
      console.log(
        `| ${name} | ${(ours / 1000).toFixed(2)} s | ${(theirs / 1000).toFixed(2)} s | ${(ours / theirs).toFixed(2)}× |`,
      );
    }
    console.log("");
    console.log("Where a check's time goes (mean ms per stage; stages may overlap):");
    for (const [row, timings] of Object.entries(stages)) {
      const parts = Object.entries(timings).map(([stage, ms]) => `${stage} ${Math.round(ms)}`);
      console.log(`${row} ${parts.join(", ")}`);
    }
    await engine.close();
  } finally {
    await emulator.stop();
    remote.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  // The HTTP API and the dashboard on a large store (no emulator or Pulumi needed).
  if (only) {
    if (target) writeGoalJson(target, judge(goals));
    return;
  }
  console.log("");
  console.log(formatLatencyTable(await apiBench()));
  // Starting and reading: the CLI as processes (bench/cli.ts).
  goals.push(...(await startBench()), ...(await statusBench()));
  // No-change polls of 300 environments against one ls-remote (bench/polls.ts).
  goals.push(...(await pollBench()));
  // Replicas sweeping on PostgreSQL against one process on SQLite (bench/replicas.ts).
  const replicas = await replicaBench();
  console.log("");
  console.log(formatSweepTable(replicas));
  goals.push(...replicas.goals);
  // Throughput and the daemon's memory (bench/sweep.ts, bench/daemon-memory.ts).
  const drift = await sweepBench();
  console.log("");
  console.log(formatSweepStages(drift.result));
  goals.push(...drift.goals, ...(await daemonMemoryBench()));
  const results = judge(goals);
  console.log("");
  console.log("Issue 12's and 16's goals:");
  console.log(formatGoalTable(results));
  if (target) writeGoalJson(target, results);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
