import * as fs from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { Store } from "../../src/adapters/store/port";
import { loadEngineConfig, openStore, storeSpec } from "../../src/compose";
import type { RunReport, RunRecord } from "../../src/domain/model";
import { DEPENDENCY_CACHE, YEARLY } from "../helpers/engine";
import { writeTidegateConfig } from "../helpers/example";
import { createGitRemote, type GitRemoteFixture } from "../helpers/git";
import { killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// One `tidegate run --once` with daemon.concurrency 4 over 20 environments, each on its own branch
// (its own commit) and its own stack, half of them synced at once (auto), half waiting for an
// approval (gated). Every report is its own environment's; no two runs of one environment overlap
// while runs of different ones do; and every update runs under its environment's lease (sampled
// from the store while the updates run).

const repoRoot = path.resolve(__dirname, "../..");
const PROJECT = "app";
const PROJECT_NAME = "concurrency-it";
const ENVS = Array.from({ length: 20 }, (_, i) => `e${String(i + 1).padStart(2, "0")}`);
const CONCURRENCY = 4;
const stackOf = (env: string) => `s-${env}`;
// Odd environments sync on their own; even ones wait for an approval.
const policyOf = (env: string): "auto" | "gated" => (Number(env.slice(1)) % 2 === 1 ? "auto" : "gated");
// One component resource named after the branch's config: a pending create with no provider
// plugin. Plain JavaScript: no TypeScript compile in each of the 60-odd Pulumi runs.
const PROGRAM = [
  `"use strict";`,
  `const pulumi = require("@pulumi/pulumi");`,
  `const marker = new pulumi.Config().require("marker");`,
  `class Marker extends pulumi.ComponentResource {`,
  `  constructor(name) {`,
  `    super("tidegateit:index:Marker", name, {}, {});`,
  `    this.registerOutputs({});`,
  `  }`,
  `}`,
  `new Marker(\`marker-\${marker}\`);`,
  `exports.seen = marker;`,
  ``,
].join("\n");

const source = (file: string) => fs.readFileSync(path.join(repoRoot, "stacks", "aws-sdk", file), "utf8");

let remote: GitRemoteFixture;
let configPath: string;
let dataDir: string;
let store: Store;
let daemon: TidegateProcess | undefined;
const heads = new Map<string, string>();

beforeAll(async () => {
  remote = await createGitRemote();
  const files: Record<string, string> = {
    ".gitignore": "node_modules/\n",
    [`${PROJECT}/Pulumi.yaml`]: `name: ${PROJECT_NAME}\nmain: index.js\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n`,
    // The example's dependencies: their installed tree is in the tests' cache already.
    [`${PROJECT}/package.json`]: source("package.json"),
    [`${PROJECT}/package-lock.json`]: source("package-lock.json"),
    [`${PROJECT}/index.js`]: PROGRAM,
  };
  ENVS.forEach((env, i) => {
    files[`environments/${env}.yaml`] = stringify({
      name: env,
      branch: env,
      stack: stackOf(env),
      project: PROJECT,
      order: i + 1,
      sync: { policy: policyOf(env) },
      drift: { policy: "report" },
    });
  });
  await remote.commitFiles(files, "Twenty environments of a one-component program");
  await remote.push("main");
  // Each branch its own commit: the stack config naming its environment.
  for (const env of ENVS) {
    await remote.switchBranch(env, "main");
    const sha = await remote.commitFiles(
      { [`${PROJECT}/Pulumi.${stackOf(env)}.yaml`]: `config:\n  ${PROJECT_NAME}:marker: ${env}\n` },
      `The ${env} stack's marker`,
    );
    heads.set(env, sha);
    await remote.push(env);
  }
  await remote.switchBranch("main");
  configPath = writeTidegateConfig(remote.root, remote.url, "concurrency-it-passphrase");
  fs.appendFileSync(
    configPath,
    stringify({
      defaults: { schedule: { poll: YEARLY, drift: YEARLY } },
      daemon: { concurrency: CONCURRENCY },
    }),
  );
  const resolved = await loadEngineConfig(configPath);
  dataDir = resolved.dataDir;
  fs.mkdirSync(path.join(dataDir, "cache"), { recursive: true });
  fs.mkdirSync(DEPENDENCY_CACHE, { recursive: true });
  fs.symlinkSync(DEPENDENCY_CACHE, path.join(dataDir, "cache", "deps"));
  store = openStore(storeSpec(resolved));
});

afterAll(async () => {
  await killTidegate(daemon);
  await store?.close();
  remote?.cleanup();
});

/** The JSON reports of one environment, oldest first. */
function reportsOf(env: string): RunReport[] {
  const dir = path.join(dataDir, "reports", env);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json") && f !== "latest.json")
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as RunReport);
}

/** The most runs in flight at one instant, from the runs' start and end times. */
function maxOverlap(runs: RunRecord[]): number {
  const edges = runs.flatMap((run) => [
    { at: Date.parse(run.startedAt), step: 1 },
    { at: Date.parse(run.endedAt ?? run.startedAt), step: -1 },
  ]);
  // An end before a start at the same instant: touching runs do not overlap.
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let now = 0;
  let max = 0;
  for (const edge of edges) max = Math.max(max, (now += edge.step));
  return max;
}

interface Sample {
  /** Stacks whose update lease (tidegate's, held for a whole sync) was the same in two reads, by holder. */
  updating: Map<string, string>;
  /** The environment leases in the read between: environment → holder. */
  leased: Map<string, string>;
}

/** The holder of each stack's update lease now (tidegate's lease files beside the file backend). */
function stackLeases(): Map<string, string> {
  const dir = path.join(remote.root, "state", ".tidegate", "leases");
  const out = new Map<string, string>();
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!name.endsWith(".lease")) continue;
    try {
      const file = fs.readFileSync(path.join(dir, name, "owner.json"), "utf8");
      out.set(name.slice(0, -".lease".length), file);
    } catch {
      // being taken or released
    }
  }
  return out;
}

/**
 * Until `done`: stack leases, environment leases, stack leases again. A stack whose update lease
 * is the same in both reads was being synced all along, so its environment's lease must show in
 * the read between, held by the same run.
 */
async function sampleLeases(done: () => boolean): Promise<Sample[]> {
  const samples: Sample[] = [];
  while (!done()) {
    const before = stackLeases();
    const leases = await store.leases("environment:");
    const after = stackLeases();
    const updating = new Map<string, string>();
    for (const [stack, file] of after) {
      if (before.get(stack) === file) updating.set(stack, (JSON.parse(file) as { owner: string }).owner);
    }
    const leased = new Map(leases.map((l) => [l.key.slice("environment:".length), l.owner]));
    samples.push({ updating, leased });
    await sleep(50);
  }
  return samples;
}

describe(`run --once with daemon.concurrency ${CONCURRENCY} over ${ENVS.length} environments`, () => {
  it("keeps every report its own, one run per environment at a time, runs side by side, updates under the lease", async () => {
    const began = Date.now();
    const running = startTidegate(["run", "--once", "--config", configPath, "--log-format", "json"], {});
    daemon = running;
    let exited = false;
    const exit = running.exit.then((result) => {
      exited = true;
      return result;
    });
    const samples = await sampleLeases(() => exited);
    const result = await exit;
    const tookMs = Date.now() - began;
    const logs = running.stderr();
    expect(result, logs.slice(-4000)).toEqual({ code: 0, signal: null });

    // Every environment's report is its own: environment, stack, branch, its branch's head commit,
    // and pending resources whose URNs name its own stack and its own marker.
    for (const env of ENVS) {
      const reports = reportsOf(env);
      expect(reports.length, env).toBeGreaterThan(0);
      for (const report of reports) {
        expect(report.environment).toBe(env);
        expect(report.stack).toBe(stackOf(env));
        expect(report.branch).toBe(env);
        expect(report.desired?.sha, env).toBe(heads.get(env));
        const urns = report.pending?.resources.map((r) => r.urn) ?? [];
        expect(urns.length, `${env}: pending changes`).toBeGreaterThan(0);
        for (const urn of urns) expect(urn, env).toMatch(new RegExp(`^urn:pulumi:${stackOf(env)}::`));
        expect(urns, env).toContain(
          `urn:pulumi:${stackOf(env)}::${PROJECT_NAME}::tidegateit:index:Marker::marker-${env}`,
        );
      }
      // Auto environments synced their own commit; gated ones wait for an approval of it.
      const last = reports.at(-1) as RunReport;
      if (policyOf(env) === "auto") {
        expect(last.status, `${env}: ${last.reason ?? ""}`).toBe("Synced");
        expect(last.sync?.applied, env).toBe(true);
        expect(last.deployed?.commit, env).toBe(heads.get(env));
      } else {
        expect(last.status, `${env}: ${last.reason ?? ""}`).toBe("AwaitingApproval");
        expect(last.sync?.applied ?? false, env).toBe(false);
        expect(last.plan?.commit, env).toBe(heads.get(env));
      }
    }
    const statuses = new Map((await store.statuses()).map((s) => [s.environment, s]));
    for (const env of ENVS) {
      expect(statuses.get(env)?.stack, env).toBe(stackOf(env));
      expect(statuses.get(env)?.headCommit, env).toBe(heads.get(env));
    }

    // One run per environment at a time; runs of different environments side by side.
    const all: RunRecord[] = [];
    for (const env of ENVS) {
      const runs = (await store.runs({ environment: env })).reverse();
      expect(runs.length, env).toBeGreaterThan(0);
      for (const run of runs) {
        expect(run.environment).toBe(env);
        expect(run.stack).toBe(stackOf(env));
        expect(run.endedAt, `${env}: run ${run.id} never ended`).toBeDefined();
      }
      expect(maxOverlap(runs), `${env}: runs overlapped`).toBe(1);
      all.push(...runs);
    }
    const overlap = maxOverlap(all);
    expect(overlap).toBeGreaterThanOrEqual(2);
    expect(overlap).toBeLessThanOrEqual(CONCURRENCY);

    // Every update ran under its environment's lease: never skipped for another holder, and every
    // stack seen being synced had its environment leased by the same run at that moment.
    expect(logs).not.toContain("another tidegate is syncing");
    expect(logs).not.toContain("is held by");
    const seenUpdating = new Set<string>();
    for (const sample of samples) {
      for (const [stack, holder] of sample.updating) {
        const env = stack.slice("s-".length);
        seenUpdating.add(env);
        expect(sample.leased.get(env), `${env} synced without its environment's lease`).toBe(holder);
      }
    }
    // The sampling saw updates (a test that cannot fail is none), and only auto environments update.
    expect(seenUpdating.size).toBeGreaterThan(0);
    for (const env of seenUpdating) expect(policyOf(env), env).toBe("auto");
    // No lease is left behind once the process ended.
    expect(await store.leases("environment:")).toEqual([]);

    console.log(
      `concurrency ${CONCURRENCY}, ${ENVS.length} environments: ${all.length} runs in ${(tookMs / 1000).toFixed(1)} s, ` +
        `max overlap ${overlap}, ${samples.length} lease samples, ${seenUpdating.size} environments seen updating`,
    );
  }, 280_000);
});
