import * as fs from "node:fs";
import * as path from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { stringify } from "yaml";
import { isProcessAlive } from "../../src/adapters/pid";
import { PulumiStack } from "../../src/adapters/pulumi/stack";
import type { Lease, Store } from "../../src/adapters/store/port";
import { openStore } from "../../src/adapters/store/open";
import { environmentProcessEnv } from "../../src/adapters/targets";
import { startPostgres, type PostgresServer } from "../../src/devenv/postgres/server";
import { parseOwnerId } from "../../src/domain/owner";
import { awsClients } from "../helpers/aws";
import { runCli } from "../helpers/cli";
import { DEPENDENCY_CACHE, YEARLY } from "../helpers/engine";
import { createGitRemote, type GitRemoteFixture } from "../helpers/git";
import { environmentFiles, programFiles, pushEnvironments } from "../helpers/program-repo";
import { killStartedBy } from "../helpers/processes";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// Three `tidegate run` replicas on one PostgreSQL store serving twelve environments of two
// repositories, every stack in a bucket of the emulator's S3: every environment is checked, and
// each replica owns some; a commit to one branch is applied exactly once (the backend's
// history counts the updates); `kill -9` of the replica updating another environment: a survivor
// takes that environment over within the ownership TTL, the cut run is marked interrupted with its
// owner, nothing is applied twice or destroyed; the one audit chain verifies, with entries of all
// three replicas.

const PROJECT = "app";
const TTL_MS = 6_000;
const HEARTBEAT_MS = 1_000;
const KEY_ID = "replicaspgkey";
const SECRET = "replicas-pg-secret-5b1d0e2f";
const PASSPHRASE = "replicas-pg-passphrase";
// Environment variables tidegate reads: the backend's credentials and the store's password.
const env: Record<string, string> = { RPG_STATE_KEY_ID: KEY_ID, RPG_STATE_SECRET: SECRET };

// One marker resource when the stack config gives it a value (an empty stack otherwise: a check is
// a cheap preview). Its create and update write `started` (when given) and sleep `delayMs`: an
// update that lasts long enough to kill its replica in the middle.
const PROGRAM = `import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const value = config.get("value");

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    if (inputs.started) require("fs").writeFileSync(inputs.started, String(process.pid));
    await new Promise((resolve) => setTimeout(resolve, inputs.delayMs));
    return { id: "marker", outs: inputs };
  },
  async update(_id, _olds, news) {
    if (news.started) require("fs").writeFileSync(news.started, String(process.pid));
    await new Promise((resolve) => setTimeout(resolve, news.delayMs));
    return { outs: news };
  },
};

class Marker extends pulumi.dynamic.Resource {
  constructor(name: string, args: { value: string; delayMs: number; started: string }) {
    super(provider, name, args);
  }
}

if (value !== undefined) {
  new Marker("marker", {
    value,
    delayMs: config.getNumber("delayMs") ?? 0,
    started: config.get("started") ?? "",
  });
}
export const project = pulumi.getProject();
`;

/** A repository of environments; a second one is another entry (see issue 16's many repositories). */
interface RepositorySpec {
  name: string;
  /** Environments that apply their commits (sync auto) and hold a marker; the others are gated and empty. */
  applying: string[];
  gated: string[];
}
const REPOSITORIES: RepositorySpec[] = [
  { name: "one", applying: ["slow"], gated: ["g01", "g02", "g03", "g04", "g05", "g06"] },
  { name: "two", applying: ["applied"], gated: ["h01", "h02", "h03", "h04"] },
];
/** Each environment's key across tidegate ("<repository>.<environment>"), and its repository. */
const KEYS = new Map(
  REPOSITORIES.flatMap((r) =>
    [...r.applying, ...r.gated].map((name) => [name, `${r.name}.${name}`] as const),
  ),
);
const ENVS = [...KEYS.keys()];
const keyOf = (name: string) => KEYS.get(name) ?? name;
const repositoryOf = (name: string) => keyOf(name).split(".")[0] ?? "";

const stackConfig = (config: Record<string, string | number>) =>
  stringify({ config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`replicas-pg:${k}`, v])) });

let pg: PostgresServer;
/** Each repository's remote, by its name. */
const remotes = new Map<string, GitRemoteFixture>();
/** Where the test keeps its files (the first repository's fixture). */
let root: string;
let backendUrl: string;
let configPath: string;
let store: Store;
const replicas: TidegateProcess[] = [];
const outputs: string[] = [];

beforeAll(async () => {
  const aws = inject("aws");
  const bucket = `tidegate-replicas-${Date.now().toString(36)}`;
  await awsClients().s3.send(new CreateBucketCommand({ Bucket: bucket }));
  backendUrl = `s3://${bucket}?endpoint=${new URL(aws.endpoint).host}&s3ForcePathStyle=true&disableSSL=true&region=${aws.region}`;
  pg = await startPostgres();
  env.RPG_STORE_PASSWORD = pg.password;

  for (const repository of REPOSITORIES) remotes.set(repository.name, await seed(repository, aws.region));
  root = remotes.get("one")?.root ?? "";

  fs.writeFileSync(path.join(root, "passphrase"), PASSPHRASE);
  configPath = path.join(root, "tidegate.yaml");
  fs.writeFileSync(
    configPath,
    stringify({
      repositories: REPOSITORIES.map(({ name }) => ({ name, url: remotes.get(name)?.url })),
      dataDir: "data",
      backend: { url: backendUrl },
      secrets: { passphraseFile: "passphrase" },
      // The program writes a file outside its worktree (the slow update's start); and it is cheaper.
      sandbox: "off",
      store: { url: pg.url, password: { env: "RPG_STORE_PASSWORD" } },
      defaults: { schedule: { poll: YEARLY, drift: YEARLY } },
      server: { listen: "127.0.0.1:0" },
      daemon: { replicas: { ownershipTtl: `${TTL_MS / 1000}s`, heartbeat: `${HEARTBEAT_MS / 1000}s` } },
    }),
  );
  // One data directory each, as on three hosts; the installed dependencies are the tests' cache.
  fs.mkdirSync(DEPENDENCY_CACHE, { recursive: true });
  for (let i = 0; i < 3; i++) {
    fs.mkdirSync(path.join(root, `data-${i}`, "cache"), { recursive: true });
    fs.symlinkSync(DEPENDENCY_CACHE, path.join(root, `data-${i}`, "cache", "deps"));
  }
  store = openStore({ kind: "postgres", url: pg.url, password: pg.password });
}, 120_000);

/** One repository of environments on their own branches, every stack in the bucket. */
async function seed(repository: RepositorySpec, region: string): Promise<GitRemoteFixture> {
  const remote = await createGitRemote();
  const names = [...repository.applying, ...repository.gated];
  const files = {
    ...programFiles(PROJECT, "replicas-pg", PROGRAM),
    ...environmentFiles(
      PROJECT,
      names,
      (name) => ({
        sync: { policy: repository.applying.includes(name) ? "auto" : "gated" },
        drift: { policy: "report" },
        backend: { url: backendUrl },
        config: { AWS_REGION: region },
        credentials: {
          read: {
            AWS_ACCESS_KEY_ID: { env: "RPG_STATE_KEY_ID" },
            AWS_SECRET_ACCESS_KEY: { env: "RPG_STATE_SECRET" },
          },
        },
      }),
      (name) => (repository.applying.includes(name) ? stackConfig({ value: "v1" }) : "config: {}\n"),
    ),
  };
  await pushEnvironments(remote, files, `${names.length} environments of a one-marker program`, names);
  return remote;
}

afterAll(async () => {
  // The replicas and whatever they left running (tsx's wrapper does not pass a SIGKILL on).
  for (const remote of remotes.values()) killStartedBy(remote.root);
  for (const replica of replicas) await killTidegate(replica);
  await store?.close();
  for (const remote of remotes.values()) remote.cleanup();
  await pg?.stop();
}, 60_000);

/** tidegate.yaml with replica `i`'s own data directory: another host, as far as tidegate knows. */
const replicaConfig = (i: number): string => {
  const file = path.join(root, `tidegate-${i}.yaml`);
  fs.writeFileSync(file, fs.readFileSync(configPath, "utf8").replace("dataDir: data", `dataDir: data-${i}`));
  return file;
};
const start = (i: number): TidegateProcess => {
  const replica = startTidegate(["run", "--config", replicaConfig(i), "--log-format", "json"], env);
  replicas.push(replica);
  return replica;
};
const tidegate = async (args: string[]) => {
  const run = await runCli([...args, "--config", configPath], { env, timeout: 120_000 });
  outputs.push(run.stdout, run.stderr);
  return run;
};
const logs = () => replicas.map((r, i) => `--- replica ${i}:\n${r.stderr().slice(-3000)}`).join("\n");
const pidOf = (owner: string) => parseOwnerId(owner)?.pid ?? -1;
const live = (leases: Lease[]) =>
  leases.filter((l) => Date.parse(l.expiresAt) > Date.now() && isProcessAlive(pidOf(l.owner)));
const owners = async () =>
  new Map(live(await store.leases("owner:")).map((l) => [l.key.slice("owner:".length), l.owner]));
const openRuns = async () => (await store.runs()).filter((run) => run.endedAt === undefined);

/** A commit to one environment's branch, and the push webhook's request to look at it. */
async function commitTo(name: string, config: Record<string, string | number>): Promise<string> {
  const remote = remotes.get(repositoryOf(name));
  if (!remote) throw new Error(`no repository holds ${name}`);
  await remote.switchBranch(name);
  await remote.commitFiles(
    { [`${PROJECT}/Pulumi.${name}.yaml`]: stackConfig(config) },
    `${name}: ${config.value}`,
  );
  await remote.push(name);
  const head = (await remote.git("rev-parse", "HEAD")).trim();
  await remote.switchBranch("main");
  await store.addRequest({
    environment: keyOf(name),
    reason: "webhook push",
    priority: "person",
    at: new Date().toISOString(),
  });
  return head;
}

interface Update {
  kind: string;
  result: string;
  message: string;
  resourceChanges?: Record<string, number>;
}
/** The stack in the backend, opened with the environment's credentials. */
async function openStack(name: string): Promise<PulumiStack> {
  const aws = inject("aws");
  return await PulumiStack.open({
    workDir: path.join(remotes.get(repositoryOf(name))?.workDir ?? "", PROJECT),
    stackName: name,
    backendUrl,
    passphrase: PASSPHRASE,
    toolchain: inject("toolchain"),
    pulumiHome: path.join(root, "history-home"),
    env: environmentProcessEnv({
      credentials: { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: aws.region },
    }),
  });
}
/** The stack's history as the backend has it, newest first. */
async function history(name: string): Promise<Update[]> {
  return (await (await openStack(name)).stack.history()) as Update[];
}
/** The URNs in the stack's state. */
async function resources(name: string): Promise<string[]> {
  const state = await (await openStack(name)).stack.exportStack();
  return ((state.deployment as { resources?: Array<{ urn: string }> }).resources ?? []).map((r) => r.urn);
}
/** Nothing of the stack ever deleted: no destroy, no update that deleted or replaced a resource. */
function expectNothingDestroyed(name: string, updates: Update[]): void {
  for (const u of updates) {
    expect(u.kind, name).not.toBe("destroy");
    expect(u.resourceChanges?.delete ?? 0, `${name}: ${JSON.stringify(u)}`).toBe(0);
    expect(u.resourceChanges?.replace ?? 0, `${name}: ${JSON.stringify(u)}`).toBe(0);
  }
}

describe("three replicas on one PostgreSQL store and an s3:// backend", () => {
  it("check every environment, apply a commit once, take over a replica killed mid-update without applying twice, and keep one audit chain", async () => {
    for (let i = 0; i < 3; i++) start(i);

    // Every environment checked: a status each in the store, no run open, the empty ones Synced
    // and the applying ones Synced after their first update.
    await eventually(
      () => `every environment checked\n${logs()}`,
      150_000,
      async () => {
        const statuses = await store.statuses();
        return statuses.length === ENVS.length && (await openRuns()).length === 0 ? true : undefined;
      },
    );
    const status = await tidegate(["status", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const shown = JSON.stringify(JSON.parse(status.stdout));
    for (const name of ENVS) expect(shown).toContain(`"${keyOf(name)}"`);
    expect(
      Object.fromEntries((await store.statuses()).map((s) => [s.environment, s.status])),
      logs(),
    ).toEqual(Object.fromEntries(ENVS.map((name) => [keyOf(name), "Synced"])));
    // The three processes, each with its replica lease (a heartbeat late under load lets it lapse
    // for a moment; the row stays until the replica stops).
    const ids = [...new Set((await store.leases("replica:")).map((l) => l.owner))].filter((id) =>
      isProcessAlive(pidOf(id)),
    );
    expect(ids, logs()).toHaveLength(3);
    // The work is spread: every environment of both repositories has an owner, and each replica owns some.
    const owned = await owners();
    expect([...owned.keys()].sort()).toEqual([...KEYS.values()].sort());
    expect(new Set(owned.values()).size, JSON.stringify([...owned])).toBe(3);

    // A commit to one branch: its owner applies it, once.
    const head = await commitTo("applied", { value: "v2" });
    await eventually(
      () => `the commit to 'applied' synced\n${logs()}`,
      90_000,
      async () => {
        const s = await store.status(keyOf("applied"));
        const runs = await store.runs({ environment: keyOf("applied") });
        return s?.status === "Synced" && runs[0]?.commit === head && runs[0].endedAt ? true : undefined;
      },
    );
    const applied = (await history("applied")).filter((u) => u.kind === "update");
    expect(applied.filter((u) => u.message.includes(`tidegate-commit: ${head}`))).toHaveLength(1);
    expect(applied.map((u) => u.result)).toEqual(["succeeded", "succeeded"]);

    // A slow update of 'slow': kill -9 of its owner in the middle.
    const started = path.join(root, "slow-started");
    const slowHead = await commitTo("slow", { value: "v2", delayMs: 8_000, started });
    await eventually(
      () => `the slow update started\n${logs()}`,
      90_000,
      async () => (fs.existsSync(started) ? true : undefined),
    );
    const running = (await store.runs({ environment: keyOf("slow") }))[0];
    expect(running?.endedAt).toBeUndefined();
    const victim = (await owners()).get(keyOf("slow")) ?? "";
    expect(ids).toContain(victim);
    expect(pidOf(running?.owner ?? "")).toBe(pidOf(victim));
    process.kill(pidOf(victim), "SIGKILL");
    const killedAt = Date.now();

    const survivors = ids.filter((id) => id !== victim);
    const taker = await eventually(
      () => `a survivor owns 'slow'\n${logs()}`,
      TTL_MS + 4 * HEARTBEAT_MS,
      async () => {
        const owner = (await owners()).get(keyOf("slow"));
        return owner !== undefined && survivors.includes(owner) ? owner : undefined;
      },
    );
    expect(Date.now() - killedAt).toBeLessThan(TTL_MS + 4 * HEARTBEAT_MS);

    // The cut run is marked interrupted, still naming the killed replica; the taker looks again.
    const cut = await eventually(
      () => `the cut run marked interrupted\n${logs()}`,
      30_000,
      async () => {
        const run = (await store.runs({ environment: keyOf("slow") })).find((r) => r.id === running?.id);
        return run?.outcome === "interrupted" ? run : undefined;
      },
    );
    expect(pidOf(cut.owner ?? "")).toBe(pidOf(victim));
    // It was applying its commit: its recovery is a sync's, not "nothing was changed".
    expect(cut.error?.recovery).toMatch(/pending operations/);
    await eventually(
      () => `'slow' looked at again by its new owner\n${logs()}`,
      120_000,
      async () => {
        const runs = await store.runs({ environment: keyOf("slow") });
        const after = runs.filter((r) => r.startedAt > (running?.startedAt ?? ""));
        return after.length > 0 && after.every((r) => r.endedAt) && (await openRuns()).length === 0
          ? after
          : undefined;
      },
    ).then((after) => {
      for (const run of after) expect(pidOf(run.owner ?? ""), JSON.stringify(run)).toBe(pidOf(taker));
    });

    // Nothing applied twice: at most one update of the slow commit succeeded, and none of either
    // stack destroyed anything; the marker is still in the state.
    const slow = await history("slow");
    const ofSlowHead = slow.filter(
      (u) => u.kind === "update" && u.message.includes(`tidegate-commit: ${slowHead}`),
    );
    expect(
      ofSlowHead.filter((u) => u.result === "succeeded").length,
      JSON.stringify(slow, null, 2),
    ).toBeLessThanOrEqual(1);
    expectNothingDestroyed("slow", slow);
    expectNothingDestroyed("applied", await history("applied"));
    for (const name of ["slow", "applied"])
      expect(await resources(name), name).toContainEqual(expect.stringMatching(/::marker$/));

    // One audit chain, verified, with entries of runs by each of the three replicas.
    const verify = await tidegate(["audit", "verify", "--json"]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    const audit = await tidegate(["audit", "--json"]);
    expect(audit.code, audit.stderr).toBe(0);
    const runOwner = new Map((await store.runs()).map((run) => [run.id, pidOf(run.owner ?? "")]));
    const entries = (JSON.parse(audit.stdout) as { entries: Array<{ details?: { runId?: string } }> })
      .entries;
    const writers = new Set(entries.map((e) => runOwner.get(e.details?.runId ?? "")).filter((o) => o));
    expect([...writers].sort()).toEqual(ids.map(pidOf).sort());

    expect([...outputs, logs()].join("\n")).not.toContain(SECRET);
    expect([...outputs, logs()].join("\n")).not.toContain(pg.password);
  }, 300_000);
});
