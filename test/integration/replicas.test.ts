import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { isProcessAlive } from "../../src/adapters/pid";
import type { Lease, Store } from "../../src/adapters/store/port";
import { loadEngineConfig, openStore, storeSpec } from "../../src/compose";
import { parseOwnerId } from "../../src/domain/owner";
import { DEPENDENCY_CACHE, YEARLY } from "../helpers/engine";
import { writeTidegateConfig } from "../helpers/example";
import { createGitRemote, type GitRemoteFixture } from "../helpers/git";
import { environmentFiles, programFiles, pushEnvironments } from "../helpers/program-repo";
import { killStartedBy } from "../helpers/processes";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// Three `tidegate run` processes on one store share four environments: each environment is owned by
// one replica, every one is checked, and no two runs of one environment overlap. `kill -9` of a
// replica: the others take its environments over (and look at them) within the ownership TTL and a
// heartbeat. SIGTERM of another: it releases its environments as it stops, and the last one takes
// them at its next heartbeat, without waiting out the TTL. The store is the one tidegate.yaml names.

const PROJECT = "app";
const ENVS = ["dev", "test", "stage", "prod"];
const TTL_MS = 8_000;
const HEARTBEAT_MS = 1_000;
// A program with no resources: each check is a cheap preview.
const PROGRAM = `import * as pulumi from "@pulumi/pulumi";\nexport const project = pulumi.getProject();\n`;

let remote: GitRemoteFixture;
let configPath: string;
let store: Store;
const replicas: TidegateProcess[] = [];

beforeAll(async () => {
  remote = await createGitRemote();
  const files = {
    ...programFiles(PROJECT, "replicas-it", PROGRAM),
    ...environmentFiles(PROJECT, ENVS, () => ({ sync: { policy: "gated" }, drift: { policy: "report" } })),
  };
  await pushEnvironments(remote, files, "Four environments of an empty program", ENVS);
  configPath = writeTidegateConfig(remote.root, remote.url, "replicas-it-passphrase");
  const config = fs.readFileSync(configPath, "utf8");
  fs.writeFileSync(
    configPath,
    config +
      stringify({
        defaults: { schedule: { poll: YEARLY, drift: YEARLY } },
        server: { listen: "127.0.0.1:0" },
        daemon: { replicas: { ownershipTtl: `${TTL_MS / 1000}s`, heartbeat: `${HEARTBEAT_MS / 1000}s` } },
      }),
  );
  const resolved = await loadEngineConfig(configPath);
  // The installed dependencies are a cache: the tests' one spares each replica an npm install.
  fs.mkdirSync(path.join(resolved.dataDir, "cache"), { recursive: true });
  fs.mkdirSync(DEPENDENCY_CACHE, { recursive: true });
  fs.symlinkSync(DEPENDENCY_CACHE, path.join(resolved.dataDir, "cache", "deps"));
  store = openStore(storeSpec(resolved));
});

afterAll(async () => {
  // The replicas themselves (tsx's wrapper does not pass a SIGKILL on), whatever happened.
  if (remote) killStartedBy(remote.root);
  for (const replica of replicas) await killTidegate(replica);
  await store?.close();
  remote?.cleanup();
});

const start = (): TidegateProcess => {
  const replica = startTidegate(["run", "--config", configPath, "--log-format", "json"], {});
  replicas.push(replica);
  return replica;
};
const logs = () => replicas.map((r, i) => `--- replica ${i}:\n${r.stderr().slice(-3000)}`).join("\n");
const pidOf = (owner: string) => parseOwnerId(owner)?.pid ?? -1;
// Current, and held by a process still alive (as a replica on this host judges it).
const live = (leases: Lease[]) =>
  leases.filter((l) => Date.parse(l.expiresAt) > Date.now() && isProcessAlive(pidOf(l.owner)));
const owners = async () =>
  new Map(live(await store.leases("owner:")).map((l) => [l.key.slice("owner:".length), l.owner]));

/** Every environment owned by one of `among`, and every one of those owning at least one. */
async function spreadOver(among: string[]): Promise<Map<string, string> | undefined> {
  const now = await owners();
  if (!ENVS.every((env) => among.includes(now.get(env) ?? ""))) return undefined;
  return among.every((r) => [...now.values()].includes(r)) ? now : undefined;
}

/** The replicas the store lists alive, by owner id. */
async function liveReplicas(): Promise<string[]> {
  return live(await store.leases("replica:")).map((l) => l.owner);
}

/** Runs of each environment never overlap, whoever ran them; returns each environment's run owners' pids. */
async function runsByEnvironment(): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const env of ENVS) {
    const runs = (await store.runs({ environment: env })).reverse();
    runs.forEach((run, i) => {
      const next = runs[i + 1];
      if (!next) return;
      expect(run.endedAt, `${env}: run ${run.id} still running when ${next.id} started`).toBeDefined();
      expect(Date.parse(run.endedAt as string)).toBeLessThanOrEqual(Date.parse(next.startedAt));
    });
    out.set(
      env,
      runs.map((run) => pidOf(run.owner ?? "")),
    );
  }
  return out;
}

describe("replicas sharing the environments of one store", () => {
  it("spread the work, take over a killed replica's environments within the TTL, and take a stopped one's at once", async () => {
    for (let i = 0; i < 3; i++) start();
    // All three alive, each owning some, and every environment checked (no run left open).
    const ids = await eventually(
      () => `three live replicas\n${logs()}`,
      120_000,
      async () => {
        const now = await liveReplicas();
        return now.length === 3 ? now : undefined;
      },
    );
    const spread = await eventually(
      () => `the environments spread over 3 replicas\n${logs()}`,
      120_000,
      () => spreadOver(ids),
    );
    await eventually(
      () => `every environment checked\n${logs()}`,
      180_000,
      async () => {
        const statuses = await store.statuses();
        const open = (await store.runs()).filter((run) => run.endedAt === undefined);
        return statuses.length === ENVS.length && open.length === 0 ? true : undefined;
      },
    );
    expect((await store.statuses()).map((s) => s.status)).toEqual(ENVS.map(() => "Synced"));
    // Each replica id names the process: a replica's runs are its own.
    const pids = new Set(ids.map(pidOf));
    for (const [env, runPids] of await runsByEnvironment()) {
      expect(runPids.length, env).toBeGreaterThan(0);
      for (const pid of runPids) expect(pids.has(pid), `${env}: run by pid ${pid}`).toBe(true);
      // The last look at each environment is its owner's.
      expect(runPids.at(-1), env).toBe(pidOf(spread.get(env) ?? ""));
    }

    // kill -9 of the replica owning the most: the two others take its environments over and look at them.
    const victim = ids.reduce((a, b) =>
      [...spread.values()].filter((o) => o === a).length >= [...spread.values()].filter((o) => o === b).length
        ? a
        : b,
    );
    const victimEnvs = ENVS.filter((env) => spread.get(env) === victim);
    const runsBefore = new Map(ENVS.map((env) => [env, 0]));
    for (const [env, runPids] of await runsByEnvironment()) runsBefore.set(env, runPids.length);
    process.kill(pidOf(victim), "SIGKILL");
    const killedAt = Date.now();
    await eventually("the killed replica gone", 10_000, async () =>
      isProcessAlive(pidOf(victim)) ? undefined : true,
    );
    const survivors = ids.filter((id) => id !== victim);
    await eventually(
      () => `the survivors own everything\n${logs()}`,
      TTL_MS + 4 * HEARTBEAT_MS,
      () => spreadOver(survivors),
    );
    expect(Date.now() - killedAt).toBeLessThan(TTL_MS + 4 * HEARTBEAT_MS);
    await eventually(
      () => `the taken-over environments looked at again\n${logs()}`,
      120_000,
      async () => {
        const runs = await runsByEnvironment();
        const open = (await store.runs()).filter((run) => run.endedAt === undefined);
        const looked = victimEnvs.every((env) => (runs.get(env)?.length ?? 0) > (runsBefore.get(env) ?? 0));
        return looked && open.length === 0 ? runs : undefined;
      },
    );
    const afterKill = await owners();
    for (const env of victimEnvs) {
      const runPids = (await runsByEnvironment()).get(env) ?? [];
      expect(runPids.at(-1), env).toBe(pidOf(afterKill.get(env) ?? ""));
    }

    // SIGTERM of one survivor: it releases what it owns as it stops; the last replica takes all at
    // its next heartbeat, long before the TTL.
    const [stopped, last] = survivors as [string, string];
    const stoppedProcess = replicas.find((r) => r.stderr().includes(stopped));
    process.kill(pidOf(stopped), "SIGTERM");
    const termAt = Date.now();
    await eventually(
      () => `the stopped replica gone\n${logs()}`,
      30_000,
      async () => (isProcessAlive(pidOf(stopped)) ? undefined : true),
    );
    // Released, not left to expire: no lease names it any more (the killed one's is still there).
    expect(stoppedProcess?.stderr()).toContain("environments handed over");
    expect((await store.leases("replica:")).map((l) => l.owner)).toContain(victim);
    expect((await store.leases("owner:")).filter((l) => l.owner === stopped)).toEqual([]);
    expect((await store.leases("replica:")).filter((l) => l.owner === stopped)).toEqual([]);
    await eventually(
      () => `the last replica owns everything\n${logs()}`,
      TTL_MS,
      () => spreadOver([last]),
    );
    expect(Date.now() - termAt).toBeLessThan(TTL_MS);
    expect(await liveReplicas()).toEqual([last]);
    await runsByEnvironment();

    // The last one stops cleanly too, and leaves no lease behind.
    const lastProcess = replicas.find((r) => r.stderr().includes(last));
    process.kill(pidOf(last), "SIGTERM");
    expect(await lastProcess?.exit).toEqual({ code: 0, signal: null });
    expect(await store.leases("owner:")).toEqual([]);
    expect((await store.leases("replica:")).map((l) => l.owner)).toEqual([victim]);
  }, 290_000);
});
