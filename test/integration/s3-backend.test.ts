import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { PulumiStack } from "../../src/adapters/pulumi/stack";
import { environmentProcessEnv } from "../../src/adapters/targets";
import { startPostgres, type PostgresServer } from "../../src/devenv/postgres/server";
import { awsClients } from "../helpers/aws";
import { runCli, type CliRun } from "../helpers/cli";
import {
  createEngineFixture,
  DEPENDENCY_CACHE,
  PROJECT,
  reportTexts,
  type EngineFixture,
} from "../helpers/engine";

// An environment whose Pulumi backend is a bucket on the AWS emulator's S3, driven by `tidegate`
// processes as a person runs them: the backend's credentials are the environment's own (read from
// variables only the environment names), and state, Pulumi's lock and the update history (the
// deployed-commit record) all live in the bucket.

const KEY_ID = "s3backendkey";
const SECRET = "s3-backend-secret-9f3e1c7a";
const VISIBILITY = "platform-sdk:queueVisibilityTimeout";

describe("an s3:// backend on the emulator", () => {
  let f: EngineFixture;
  let pg: PostgresServer;
  let bucket: string;
  let backendUrl: string;
  /** tidegate's own environment: the credentials under names only the environment file reads. */
  const env: Record<string, string> = { TEST_STATE_KEY_ID: KEY_ID, TEST_STATE_SECRET: SECRET };
  const outputs: string[] = [];

  const dataDirs = ["data", "data-a", "data-b", "data-c", "data-d"];
  const dataPath = (dataDir: string) => path.join(path.dirname(f.configPath), dataDir);
  /** The npm trees the engine tests installed before: no install in each new data directory. */
  const linkDependencyCache = (dataDir: string): void => {
    const deps = path.join(dataPath(dataDir), "cache", "deps");
    fs.mkdirSync(path.dirname(deps), { recursive: true });
    fs.mkdirSync(DEPENDENCY_CACHE, { recursive: true });
    fs.symlinkSync(DEPENDENCY_CACHE, deps);
  };
  /** tidegate.yaml of the fixture with another data directory: another host, as far as tidegate knows. */
  const configWithDataDir = (dataDir: string, extra: Record<string, unknown> = {}): string => {
    const config = parse(fs.readFileSync(f.configPath, "utf8")) as Record<string, unknown>;
    const file = path.join(path.dirname(f.configPath), `tidegate-${dataDir}.yaml`);
    fs.writeFileSync(file, stringify({ ...config, dataDir, ...extra }));
    return file;
  };
  const tidegate = async (args: string[], config = f.configPath): Promise<CliRun> => {
    const run = await runCli([...args, "--config", config], { env, timeout: 150_000 });
    outputs.push(run.stdout, run.stderr);
    return run;
  };
  const report = (run: CliRun) =>
    JSON.parse(run.stdout) as {
      status: string;
      reason?: string;
      deployed?: { commit?: string };
      pending?: { resources: unknown[] };
      sync?: { applied: boolean };
    };
  /** The stack's updates as the backend's history has them, read with the environment's credentials. */
  const updates = async (): Promise<Array<{ kind: string; result: string; message: string }>> => {
    const aws = inject("aws");
    // The project alone, apart from the work clone: the CLI may write the stack's settings file.
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-s3-history-"));
    fs.copyFileSync(path.join(f.remote.workDir, PROJECT, "Pulumi.yaml"), path.join(workDir, "Pulumi.yaml"));
    const stack = await PulumiStack.open({
      workDir,
      stackName: f.stackName("test"),
      backendUrl,
      passphrase: f.passphrase,
      toolchain: inject("toolchain"),
      pulumiHome: path.join(f.remote.root, "history-home"),
      env: environmentProcessEnv({
        credentials: { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: aws.region },
      }),
    });
    try {
      return (await stack.stack.history()).filter((u) => u.kind === "update");
    } finally {
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  };

  beforeAll(async () => {
    const aws = inject("aws");
    bucket = `tidegate-state-${Date.now().toString(36)}`;
    await awsClients().s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const endpoint = new URL(aws.endpoint).host;
    backendUrl = `s3://${bucket}?endpoint=${endpoint}&s3ForcePathStyle=true&disableSSL=true&region=${aws.region}`;
    f = await createEngineFixture([
      {
        name: "test",
        sync: "auto",
        drift: "report",
        definition: {
          backend: { url: backendUrl },
          config: { AWS_ENDPOINT_URL: aws.endpoint, AWS_REGION: aws.region },
          credentials: {
            read: {
              AWS_ACCESS_KEY_ID: { env: "TEST_STATE_KEY_ID" },
              AWS_SECRET_ACCESS_KEY: { env: "TEST_STATE_SECRET" },
            },
          },
        },
      },
    ]);
    for (const dataDir of dataDirs) linkDependencyCache(dataDir);
    pg = await startPostgres();
    env.TIDEGATE_STORE_PASSWORD = pg.password;
  }, 120_000);
  afterAll(async () => {
    await f?.cleanup();
    await pg?.stop();
  }, 60_000);

  it("keeps state and history in the bucket: a check sees the pending stack, a sync applies it, the next check reads the deployed commit back", async () => {
    const first = await tidegate(["check", "test", "--json"]);
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
    expect(report(first)).toMatchObject({ status: "OutOfSync" });
    expect(report(first).pending?.resources.length).toBeGreaterThan(0);

    const sync = await tidegate(["sync", "test", "--json"]);
    expect(sync.code, sync.stderr.slice(-3000)).toBe(0);
    expect(report(sync)).toMatchObject({ status: "Synced", sync: { applied: true } });

    const { Contents } = await awsClients().s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (Contents ?? []).map((o) => o.Key);
    expect(keys).toContain(`.pulumi/stacks/platform-sdk/${f.stackName("test")}.json`);

    const head = (await f.remote.git("rev-parse", "origin/test")).trim();
    const again = await tidegate(["check", "test", "--json"]);
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(report(again)).toMatchObject({ status: "Synced", deployed: { commit: head } });
    const history = await updates();
    expect(history).toHaveLength(1);
    expect(history[0]?.message).toContain(`tidegate-commit: ${head}`);
  }, 300_000);

  it("lets one of two tidegates with separate data directories update the stack; the other is refused by Pulumi's lock or finds the commit deployed", async () => {
    const file = f.stackConfigFile("test");
    const config = await f.readAt("test", file);
    const head = await f.commitTo(
      "test",
      { [file]: config.replace(`${VISIBILITY}: 30`, `${VISIBILITY}: 45`) },
      "A longer visibility timeout",
    );
    const runs = await Promise.all(
      ["data-a", "data-b"].map((dataDir) => tidegate(["sync", "test", "--json"], configWithDataDir(dataDir))),
    );
    const shown = runs.map((r) => `exit ${r.code}\n${r.stderr.slice(-2500)}`).join("\n----\n");

    // At most one more update, of the new commit. Without a shared store only Pulumi's lock keeps
    // the two apart, and two that take it at the same instant can both be refused (see the next test).
    const history = await updates();
    const reports = runs.map(report);
    const winners = reports.filter((r) => r.sync?.applied === true);
    expect(winners.length, shown).toBeLessThanOrEqual(1);
    expect(history, shown).toHaveLength(1 + winners.length);
    if (winners.length === 1) {
      expect(history[0]?.message).toContain(`tidegate-commit: ${head}`);
      expect(winners[0]).toMatchObject({ status: "Synced" });
    }
    // Each other one was refused by Pulumi's lock, which names its holder (the other's Pulumi CLI on
    // this host), or was too late to need the update.
    for (const loser of reports.filter((r) => r.sync?.applied !== true))
      expect(loser.reason ?? "", shown).toMatch(
        new RegExp(
          `locked by another update \\(held by \\S+@${os.hostname()} pid \\d+ since |deployed meanwhile`,
        ),
      );
  }, 300_000);

  it("two hosts on one PostgreSQL store share the environment's and the stack's leases: one updates and the other waits and finds the commit deployed, never refused by Pulumi's lock", async () => {
    const store = { store: { url: pg.url, password: { env: "TIDEGATE_STORE_PASSWORD" } } };
    const file = f.stackConfigFile("test");
    const config = await f.readAt("test", file);
    const head = await f.commitTo(
      "test",
      { [file]: config.replace(`${VISIBILITY}: 45`, `${VISIBILITY}: 60`) },
      "A longer visibility timeout still",
    );
    const before = (await updates()).length;
    const configs = ["data-c", "data-d"].map((dataDir) => configWithDataDir(dataDir, store));
    const runs = await Promise.all(configs.map((config) => tidegate(["sync", "test", "--json"], config)));
    const shown = runs.map((r) => `exit ${r.code}\n${r.stderr.slice(-2500)}`).join("\n----\n");

    expect(
      runs.map((r) => r.code),
      shown,
    ).toEqual([0, 0]);
    const history = await updates();
    expect(history, shown).toHaveLength(before + 1);
    expect(history[0]?.message).toContain(`tidegate-commit: ${head}`);
    const reports = runs.map(report);
    expect(
      reports.filter((r) => r.sync?.applied === true),
      shown,
    ).toHaveLength(1);
    expect(reports.map((r) => r.status)).toEqual(["Synced", "Synced"]);

    // One audit chain in the database, with both hosts' entries, verified from either.
    const verify = await tidegate(["audit", "verify", "--json"], configs[1]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    const audit = await tidegate(["audit", "--json"], configs[0]);
    const entries = (
      JSON.parse(audit.stdout) as {
        entries: Array<{ action: string; commit?: string; details?: { runId?: string } }>;
      }
    ).entries.filter((e) => e.commit === head && (e.action === "sync" || e.action === "check"));
    // Each host's run of the new commit is in the one chain: one applied it, the other checked.
    expect(entries.map((e) => e.action).sort(), audit.stdout.slice(-3000)).toEqual(["check", "sync"]);
    expect(new Set(entries.map((e) => e.details?.runId)).size).toBe(2);
    expect([...outputs, verify.stdout, audit.stdout].join("\n")).not.toContain(pg.password);
  }, 300_000);

  it("never writes the backend's credentials to an output, a report, the store or the audit log", () => {
    const stored = dataDirs.flatMap((dataDir) => [
      ...reportTexts(dataPath(dataDir)),
      ...fs
        .readdirSync(dataPath(dataDir))
        .filter((name) => name.startsWith("tidegate.db") || name.startsWith("audit"))
        .map((name) => fs.readFileSync(path.join(dataPath(dataDir), name)).toString("latin1")),
    ]);
    expect(stored.length).toBeGreaterThan(dataDirs.length * 2);
    const all = [...outputs, ...stored].join("\n");
    expect(all).toContain(f.stackName("test"));
    expect(all).not.toContain(SECRET);
  });
});
