import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { isProcessAlive } from "../../src/adapters/pid";
import type { Store } from "../../src/adapters/store/port";
import { openStore } from "../../src/adapters/store/open";
import { postgresPool } from "../../src/adapters/store/postgres";
import { LISTENER_NAME } from "../../src/adapters/store/postgres/listen";
import { startPostgres, type PostgresServer } from "../../src/devenv/postgres/server";
import { parseOwnerId } from "../../src/domain/owner";
import { apiCall, apiUrlOf } from "../helpers/api";
import { runCli } from "../helpers/cli";
import { DEPENDENCY_CACHE, YEARLY } from "../helpers/engine";
import { createGitRemote, type GitRemoteFixture } from "../helpers/git";
import { environmentFiles, programFiles, pushEnvironments } from "../helpers/program-repo";
import { killStartedBy } from "../helpers/processes";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// Two `tidegate run` replicas on one PostgreSQL store, each owning one of two environments, both
// reading requests only once an hour (daemon.requestPoll): a check asked of the replica that does
// not own the environment, through its HTTP API, is run by the owner within seconds. Only the
// store's notification can have told the owner.

const PROJECT = "app";
const ENVS = ["alpha", "beta"];
// A program with no resources: each check is a cheap preview.
const PROGRAM = `import * as pulumi from "@pulumi/pulumi";\nexport const project = pulumi.getProject();\n`;

let pg: PostgresServer;
let remote: GitRemoteFixture;
let store: Store;
const env: Record<string, string> = {};
const replicas: TidegateProcess[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  env.NOTIFY_STORE_PASSWORD = pg.password;
  remote = await createGitRemote();
  const files = {
    ...programFiles(PROJECT, "notify-it", PROGRAM),
    ...environmentFiles(PROJECT, ENVS, () => ({ sync: { policy: "gated" }, drift: { policy: "report" } })),
  };
  await pushEnvironments(remote, files, "Two environments of an empty program", ENVS);
  fs.writeFileSync(path.join(remote.root, "passphrase"), "notify-it-passphrase");
  // One data directory each, as on two hosts; the installed dependencies are the tests' cache.
  fs.mkdirSync(DEPENDENCY_CACHE, { recursive: true });
  for (const i of [0, 1]) {
    fs.mkdirSync(path.join(remote.root, `data-${i}`, "cache"), { recursive: true });
    fs.symlinkSync(DEPENDENCY_CACHE, path.join(remote.root, `data-${i}`, "cache", "deps"));
    fs.writeFileSync(
      configOf(i),
      stringify({
        repository: { url: remote.url },
        dataDir: `data-${i}`,
        backend: { url: "file://./state" },
        secrets: { passphraseFile: "passphrase" },
        sandbox: "off",
        store: { url: pg.url, password: { env: "NOTIFY_STORE_PASSWORD" } },
        defaults: { schedule: { poll: YEARLY, drift: YEARLY } },
        server: { listen: "127.0.0.1:0" },
        // Requests are read once an hour, unless a notification wakes the replica.
        daemon: { requestPoll: "1h", replicas: { ownershipTtl: "8s", heartbeat: "1s" } },
      }),
    );
  }
  store = openStore({ kind: "postgres", url: pg.url, password: pg.password });
}, 120_000);

afterAll(async () => {
  if (remote) killStartedBy(remote.root);
  for (const replica of replicas) await killTidegate(replica);
  await store?.close();
  remote?.cleanup();
  await pg?.stop();
}, 60_000);

function configOf(i: number): string {
  return path.join(remote.root, `tidegate-${i}.yaml`);
}
const logs = () => replicas.map((r, i) => `--- replica ${i}:\n${r.stderr().slice(-3000)}`).join("\n");
const pidOf = (owner: string) => parseOwnerId(owner)?.pid ?? -1;

describe("a request made through a replica that does not own the environment", () => {
  it("is run by the owner at once, woken by the store's notification (its poll is hourly)", async () => {
    for (const i of [0, 1])
      replicas.push(startTidegate(["run", "--config", configOf(i), "--log-format", "json"], env));
    const apis = await Promise.all(replicas.map((replica) => apiUrlOf(replica)));

    // Each replica owns one environment, both have checked theirs, and both listen.
    const admin = postgresPool({ url: pg.url, password: pg.password, max: 1 });
    const owners = await eventually(
      () => `each replica owning one environment, checked, and listening\n${logs()}`,
      180_000,
      async () => {
        const held = (await store.leases("owner:")).filter(
          (l) => Date.parse(l.expiresAt) > Date.now() && isProcessAlive(pidOf(l.owner)),
        );
        const byEnv = new Map(held.map((l) => [l.key.slice("owner:".length), pidOf(l.owner)]));
        if (new Set(ENVS.map((name) => byEnv.get(name))).size !== 2) return undefined;
        if (!ENVS.every((name) => replicas.some((r) => r.child.pid === byEnv.get(name)))) return undefined;
        const open = (await store.runs()).filter((run) => run.endedAt === undefined);
        if ((await store.statuses()).length !== ENVS.length || open.length > 0) return undefined;
        const { rows } = await admin.query(
          "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
          [LISTENER_NAME],
        );
        return rows.length === 2 ? byEnv : undefined;
      },
    ).finally(() => admin.end());

    const created = await runCli(
      ["token", "create", "--name", "ci", "--scope", "read", "--scope", "sync:alpha", "--json"].concat([
        "--config",
        configOf(0),
      ]),
      { env, timeout: 60_000 },
    );
    expect(created.code, created.stderr).toBe(0);
    const secret = (JSON.parse(created.stdout) as { secret: string }).secret;

    // Asked of the other replica's API; the owner runs it.
    const owner = owners.get("alpha");
    const other = replicas.findIndex((r) => r.child.pid !== owner);
    const accepted = await apiCall(apis[other] as string, secret, "POST", "/environments/alpha/check");
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const progress = await eventually(
      () => `the owner runs the check asked of the other replica\n${logs()}`,
      120_000,
      async () => {
        const follow = `/environments/alpha/requests/${String(accepted.body.seq)}`;
        const answer = await apiCall(apis[other] as string, secret, "GET", follow);
        return answer.body.state === "finished" ? answer.body : undefined;
      },
    );
    // Within minutes, where the owner reads requests hourly: the notification woke it.
    const run = (await store.runs({ environment: "alpha" })).find((r) => r.id === progress.runId);
    expect(run?.trigger).toContain("check requested by");
    expect(pidOf(run?.owner ?? ""), logs()).toBe(owner);
  }, 300_000);
});
