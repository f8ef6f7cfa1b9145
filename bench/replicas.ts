// Replicas sweeping together (issue 16): a no-change sweep of 200 environment×stack pairs by 1, 2 and
// 3 replicas on one PostgreSQL, and by one process on SQLite as the baseline, with the share of the
// sweep spent coordinating (the ownership heartbeats). Run alone with
// `npx tsx bench/replicas.ts [--json <file>]`; `npm run bench` runs it too.
//
// What runs, in this one process: each replica is the real engine (composeEngine on its own data
// directory, the store tidegate.yaml names) with the real daemon's work queue (daemon.concurrency
// workers) and the real Ownership class on that store, as `tidegate run` composes them. A poll is
// the daemon's: `git ls-remote` of the real remote (branch and config ref), the status reads of its
// health, then engine.poll, which sees the head it last checked and runs nothing. A full
// `tidegate run` per replica would also run its startup check of every environment (Pulumi), which
// this sweep is not about.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { stringify } from "yaml";
import { ownerDeadness, processOwner } from "../src/adapters/owner";
import type { LeaseStore, OwnerId } from "../src/adapters/store/port";
import type { Engine } from "../src/app/engine";
import { OWNER_LEASE_PREFIX, REPLICA_LEASE_PREFIX } from "../src/app/replicas";
import { repoRoot } from "../src/config/repo";
import type { Daemon } from "../src/daemon/daemon";
import { Ownership } from "../src/daemon/ownership";
import { startPostgres, type PostgresServer } from "../src/devenv/postgres/server";
import { provisionPulumi } from "../src/devenv/toolchain/pulumi";
import type { PulumiToolchain } from "../src/adapters/pulumi/toolchain";
import { writeTidegateConfig } from "../test/helpers/example";
import type { GitRemoteFixture } from "../test/helpers/git";
import { manyEnvironments, seedSynced } from "./environments";
import { type GoalRow, runAlone } from "./goals";
import { benchDaemon, openBenchEngine } from "./engine";
import { overheadRows, type ReplicaSample, summarizeSweep, type SweepSummary } from "./sweep-overhead";

export const PAIRS = 200;
export const REPLICA_COUNTS = [1, 2, 3] as const;
const PASSPHRASE = "replicas-bench-passphrase";
const TTL_MS = 30_000;
/** No scheduled look during the bench: the sweep asks for the polls itself. */
const YEARLY = "0 0 1 1 *";

export const MEASURED = [
  `What is measured: a no-change sweep of ${PAIRS} environments (one stack each) on ${PAIRS} branches`,
  "of one real Git repository, their statuses seeded as Synced at the branches' heads; each pair",
  "polled as the daemon polls it (its work queue; git ls-remote of the branch and config ref; the",
  "health's status reads; engine.poll, which finds the head unchanged and runs no Pulumi). Each",
  "replica is the real engine, daemon work queue and Ownership class, all in this one process (one",
  "event loop: a replica's store calls also wait for the others' work), on one PostgreSQL database;",
  "every replica is registered live before the sweep. Taking ownership (a replica's first sweep), in",
  "rounds: every replica still claiming beats at once (claims its fair share in one transaction,",
  "racing the others), then each polls what it gained, until every pair has an owner or it holds",
  "its largest share. Holding ownership (every later sweep, once the shares settled): every replica",
  "beats at once (renews what it owns), then polls that; the daemon beats on a timer beside its",
  "polls, so counting it in series overstates it. The heartbeats wait for each other, not for the",
  "polls: in one process a heartbeat overlapping another replica's polls also timed that replica's",
  "Git processes starting, which separate replicas never wait for (measured that way, 3 replicas",
  "holding read 17.7% on a loaded machine). Coordination overhead, taking ownership: all replicas'",
  "heartbeat time / all replicas' sweep time; a replica's first sweep also makes its Git mirror, as",
  "its start does. Holding ownership: one replica's heartbeat / daemon.replicas.heartbeat, the share",
  "of its time that staying an owner costs (the heartbeat runs on its own timer, not once a sweep;",
  "its share of one sweep is in the row's detail). Heartbeats per pair: all heartbeat time / pairs;",
  "of which acquiring: the store's claims of owner leases, lost races included. Baseline: the same",
  "polls by one process on SQLite, no ownership.",
];

interface Fixture {
  remote: GitRemoteFixture;
  environments: string[];
  head: string;
}

/** One repository: 200 environment files, each on its own branch, all at one commit. */
async function prepareRepository(): Promise<Fixture> {
  const { remote, names, head } = await manyEnvironments(
    PAIRS,
    (i) => `env-${String(i + 1).padStart(3, "0")}`,
  );
  return { remote, environments: names, head };
}

/** A tidegate.yaml in its own folder (its own data directory), on PostgreSQL when `store` is given. */
function writeConfig(dir: string, remoteUrl: string, store?: { url: string; password: string }): string {
  fs.mkdirSync(dir, { recursive: true });
  const configPath = writeTidegateConfig(dir, remoteUrl, PASSPHRASE);
  if (store) fs.writeFileSync(path.join(dir, "pg-password"), store.password, { mode: 0o600 });
  fs.appendFileSync(
    configPath,
    stringify({
      defaults: { schedule: { poll: YEARLY, drift: YEARLY } },
      ...(store ? { store: { url: store.url, password: { file: "pg-password" } } } : {}),
    }),
  );
  return configPath;
}

interface Replica {
  engine: Engine;
  daemon: Daemon;
  workers: number;
  /** daemon.replicas.heartbeat: how often a running replica beats. */
  heartbeatMs: number;
}

async function openReplica(configPath: string, toolchain: PulumiToolchain): Promise<Replica> {
  const opened = await openBenchEngine(configPath, { toolchain, passphrase: PASSPHRASE });
  const { config, engine } = opened;
  return {
    engine,
    daemon: benchDaemon(opened),
    workers: config.daemon.concurrency,
    heartbeatMs: config.daemon.heartbeatMs,
  };
}

const poll = (replica: Replica, env: string) =>
  replica.daemon.request({ key: env, kind: "poll", priority: "schedule", reason: "bench sweep" });

/** Polls the environments through the replica's work queue; a poll that does not succeed ends the bench. */
async function pollAll(
  replica: Replica,
  environments: readonly string[],
  sample: Pick<ReplicaSample, "polls"> | undefined,
  polls: Map<string, number>,
): Promise<void> {
  await Promise.all(
    environments.map(async (env) => {
      const result = await poll(replica, env);
      if (result.status !== "succeeded") throw new Error(`poll of ${env}: ${result.status}`);
      polls.set(env, (polls.get(env) ?? 0) + 1);
      if (sample) sample.polls++;
    }),
  );
}

const emptySample = (): ReplicaSample => ({
  wallMs: 0,
  ownershipMs: 0,
  acquireMs: 0,
  claimed: 0,
  lost: 0,
  polls: 0,
});

/** The owner-lease acquire calls of one replica, timed; a key a batch claim did not take is a race lost. */
function timedLeases(
  store: LeaseStore,
  sample: ReplicaSample,
): Pick<LeaseStore, "acquire" | "acquireLeases" | "renewLeases" | "release" | "leases"> {
  return {
    acquireLeases: async (keys, owner, ttlMs, now, isDead) => {
      const started = performance.now();
      try {
        const taken = await store.acquireLeases(keys, owner, ttlMs, now, isDead);
        sample.lost += keys.filter((key) => key.startsWith(OWNER_LEASE_PREFIX)).length - taken.length;
        return taken;
      } finally {
        sample.acquireMs += performance.now() - started;
      }
    },
    acquire: async (key, owner, ttlMs, now, isDead) => {
      if (!key.startsWith(OWNER_LEASE_PREFIX)) return store.acquire(key, owner, ttlMs, now, isDead);
      const started = performance.now();
      try {
        const lease = await store.acquire(key, owner, ttlMs, now, isDead);
        if (!lease) sample.lost++;
        return lease;
      } finally {
        sample.acquireMs += performance.now() - started;
      }
    },
    renewLeases: (...args) => store.renewLeases(...args),
    release: (...args) => store.release(...args),
    leases: (prefix) => store.leases(prefix),
  };
}

/** R replicas on one fresh PostgreSQL database sweep the pairs once. */
async function replicaSweep(
  count: number,
  fixture: Fixture,
  pg: PostgresServer,
  scratch: string,
  toolchain: PulumiToolchain,
): Promise<[SweepSummary, SweepSummary]> {
  const url = await pg.createDatabase(`sweep${count}`);
  const replicas: Replica[] = [];
  for (let i = 0; i < count; i++) {
    const configPath = writeConfig(path.join(scratch, `pg${count}-${i}`), fixture.remote.url, {
      url,
      password: pg.password,
    });
    replicas.push(await openReplica(configPath, toolchain));
  }
  try {
    await seedSynced(replicas[0]!.engine.store, fixture.environments, fixture.head);
    const isDead = ownerDeadness({ ttlMs: TTL_MS });
    const polls = new Map<string, number>();
    const setups = replicas.map((replica) => {
      const me: OwnerId = processOwner();
      const sample = emptySample();
      const gained: string[] = [];
      const ownership = new Ownership({
        store: timedLeases(replica.engine.store, sample),
        me,
        environments: fixture.environments,
        ttlMs: TTL_MS,
        heartbeatMs: TTL_MS,
        isDead,
        onGained: (envs) => gained.push(...envs),
      });
      return { replica, me, sample, gained, ownership };
    });
    // Every replica alive before the sweep, as after each one's first heartbeat.
    const now = new Date().toISOString();
    for (const { replica, me } of setups)
      await replica.engine.store.acquire(REPLICA_LEASE_PREFIX + me, me, TTL_MS, now);
    const largestShare = Math.ceil(PAIRS / count);
    const everyPairOwned = () =>
      fixture.environments.every((env) => setups.some(({ ownership }) => ownership.owns(env)));

    // In rounds: every replica still claiming beats at once (racing the others), then each polls
    // what it gained. The heartbeats wait for each other, not for the polls: in this one process a
    // heartbeat overlapping another replica's polls would also time that replica's Git processes
    // starting, which separate replicas (separate processes) never wait for.
    const started = performance.now();
    let claiming = setups;
    for (let round = 0; claiming.length > 0; round++) {
      if (round === 2 * PAIRS) throw new Error("the replicas did not take every pair");
      const batches = await Promise.all(
        claiming.map(async ({ sample, gained, ownership }) => {
          const beat = performance.now();
          await ownership.tick();
          sample.ownershipMs += performance.now() - beat;
          const batch = gained.splice(0);
          sample.claimed += batch.length;
          return batch;
        }),
      );
      await Promise.all(
        claiming.map(async ({ replica, sample }, i) => {
          await pollAll(replica, batches[i] ?? [], sample, polls);
          sample.wallMs = performance.now() - started;
        }),
      );
      // Done when nothing is left, or at its largest share (the others take the rest).
      claiming = claiming.filter(
        ({ ownership }) => !everyPairOwned() && ownership.mine().length < largestShare,
      );
      // Nobody gained anything: the owners of the rest are still settling; look again shortly.
      if (batches.every((batch) => batch.length === 0)) await delay(5);
    }
    await assertNoChange(replicas[0]!.engine, fixture.environments, polls);
    const taking = summarizeSweep(
      "taking ownership",
      PAIRS,
      setups.map(({ sample }) => sample),
    );

    // Every later sweep: each replica's heartbeat renews what it owns, then it polls that. First the
    // shares settle (a replica above its fair share hands one over per heartbeat), untimed.
    for (let round = 0; ; round++) {
      const before = setups.map(({ ownership }) => ownership.mine().join());
      for (const { ownership } of setups) await ownership.tick();
      if (setups.every(({ ownership }, i) => ownership.mine().join() === before[i])) break;
      if (round === 2 * PAIRS) throw new Error("the replicas' shares did not settle");
    }
    for (const { gained } of setups) gained.splice(0);
    polls.clear();
    for (const { sample } of setups) Object.assign(sample, emptySample());
    // The heartbeats at once, then the polls (as above: not timing one replica's Git in another's heartbeat).
    const again = performance.now();
    await Promise.all(
      setups.map(async ({ sample, gained, ownership }) => {
        await ownership.tick();
        sample.ownershipMs = performance.now() - again;
        sample.claimed = gained.splice(0).length;
      }),
    );
    await Promise.all(
      setups.map(async ({ replica, sample, ownership }) => {
        await pollAll(replica, ownership.mine(), sample, polls);
        sample.wallMs = performance.now() - again;
      }),
    );
    await assertNoChange(replicas[0]!.engine, fixture.environments, polls);
    await Promise.all(setups.map(({ ownership }) => ownership.stop()));
    const holding = summarizeSweep(
      "holding ownership",
      PAIRS,
      setups.map(({ sample }) => sample),
    );
    return [taking, holding];
  } finally {
    for (const replica of replicas) {
      await replica.daemon.stop();
      await replica.engine.close();
    }
  }
}

/** One process on SQLite, no ownership: the same polls; and the heartbeat interval a replica would use. */
async function sqliteSweep(
  fixture: Fixture,
  scratch: string,
  toolchain: PulumiToolchain,
): Promise<{ wallMs: number; heartbeatMs: number }> {
  const replica = await openReplica(writeConfig(path.join(scratch, "sqlite"), fixture.remote.url), toolchain);
  try {
    await seedSynced(replica.engine.store, fixture.environments, fixture.head);
    const polls = new Map<string, number>();
    const started = performance.now();
    await pollAll(replica, fixture.environments, undefined, polls);
    const wallMs = performance.now() - started;
    await assertNoChange(replica.engine, fixture.environments, polls);
    return { wallMs, heartbeatMs: replica.heartbeatMs };
  } finally {
    await replica.daemon.stop();
    await replica.engine.close();
  }
}

/** A sweep counts only if every pair was polled and none was checked (no run recorded). */
async function assertNoChange(
  engine: Engine,
  environments: readonly string[],
  polls: ReadonlyMap<string, number>,
): Promise<void> {
  const missed = environments.filter((env) => !polls.has(env));
  if (missed.length > 0)
    throw new Error(`sweep missed ${missed.length} pairs: ${missed.slice(0, 5).join(", ")}`);
  const runs = await engine.store.runs();
  if (runs.length > 0)
    throw new Error(`a no-change sweep started ${runs.length} runs (e.g. ${runs[0]?.environment})`);
}

export interface ReplicaBenchResult {
  baselineMs: number;
  sweeps: SweepSummary[];
  goals: GoalRow[];
}

export async function replicaBench(
  log: (line: string) => void = (l) => console.error(l),
): Promise<ReplicaBenchResult> {
  const root = repoRoot(__dirname);
  const toolchain = await provisionPulumi({ repoRoot: root, onProgress: log });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-bench-replicas-"));
  const fixture = await prepareRepository();
  const pg = await startPostgres();
  try {
    log(`replica sweeps: ${PAIRS} pairs, SQLite baseline first`);
    const { wallMs: baselineMs, heartbeatMs } = await sqliteSweep(fixture, scratch, toolchain);
    const sweeps: SweepSummary[] = [];
    for (const count of REPLICA_COUNTS) {
      log(`replica sweeps: ${count} replica(s) on PostgreSQL`);
      sweeps.push(...(await replicaSweep(count, fixture, pg, scratch, toolchain)));
    }
    return { baselineMs, sweeps, goals: overheadRows(sweeps, baselineMs, heartbeatMs) };
  } finally {
    await pg.stop();
    fixture.remote.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The sweeps as a Markdown table, with what was measured under it. */
export function formatSweepTable(result: ReplicaBenchResult): string {
  const lines = [
    `| no-change sweep of ${PAIRS} pairs | wall time | heartbeats per pair | of which acquiring | coordination overhead |`,
    "|---|---:|---:|---:|---:|",
    `| SQLite, one process, no ownership (baseline) | ${(result.baselineMs / 1000).toFixed(2)} s | — | — | — |`,
    ...result.sweeps.map(
      (s) =>
        `| PostgreSQL, ${s.replicas} replica${s.replicas === 1 ? "" : "s"}, ${s.phase} | ${(s.wallMs / 1000).toFixed(2)} s | ${s.ownershipMsPerPair.toFixed(2)} ms | ${s.acquireMsPerPair.toFixed(2)} ms | ${(s.overhead * 100).toFixed(1)}% |`,
    ),
    "",
    ...MEASURED,
  ];
  return `${lines.join("\n")}\n`;
}

if (require.main === module) {
  runAlone(process.argv.slice(2), async () => {
    const result = await replicaBench();
    return { goals: result.goals, table: formatSweepTable(result) };
  });
}
