import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GetQueueAttributesCommand, GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { awsEnvVars } from "../../src/devenv/emulator";
import { awsClients, emulatorDefinition } from "../helpers/aws";
import { createEngineFixture, PROJECT, type EngineFixture } from "../helpers/engine";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// Two real tidegate processes on one data directory race on one environment: the daemon syncs
// commit X and stalls in a gate check (it waits for a file the test writes) while a person pushes Y
// and runs `tidegate sync test`. Before the environment lease, the sync checked Y out into the
// worktree under the daemon, which then applied Y's configuration and recorded X as deployed. Now
// the sync waits for the daemon, says who holds the environment, and each run applies and records
// its own commit.

const YEARLY = "0 0 1 1 *";
const VISIBILITY = "platform-sdk:queueVisibilityTimeout";

describe("two tidegate processes racing on one environment", () => {
  let f: EngineFixture;
  let env: Record<string, string>;
  let daemon: TidegateProcess | undefined;
  let sync: TidegateProcess | undefined;
  const stalled = () => path.join(f.remote.root, "daemon-in-check");
  const release = () => path.join(f.remote.root, "release");

  beforeAll(async () => {
    const aws = awsEnvVars(inject("aws"));
    // Commits whose STALL file says "yes" hold their check until the test writes the release file;
    // the decision is taken once, so a checkout under the running check cannot end the stall.
    const stallCheck = `if [ "$(cat STALL 2>/dev/null)" = yes ]; then touch '${"$ROOT"}/daemon-in-check'; while [ ! -e '${"$ROOT"}/release' ]; do sleep 0.2; done; fi; echo checked`;
    f = await createEngineFixture([
      {
        name: "test",
        sync: "auto",
        drift: "report",
        gates: { checks: [{ name: "stall", run: "PLACEHOLDER", timeout: "10m" }] },
        definition: emulatorDefinition(),
      },
    ]);
    // The check names the test's folder, known only now: the config ref's definition carries it.
    const definitionFile = "environments/test.yaml";
    const definition = (await f.readAt("main", definitionFile)).replace(
      "PLACEHOLDER",
      stallCheck.replaceAll("$ROOT", f.remote.root),
    );
    await f.commitTo("main", { [definitionFile]: definition }, "Stall the check on commits that ask for it");
    // The same definition on the branch: the gates at the deployed commit are in force too.
    await f.commitTo("test", { [definitionFile]: definition }, "Stall the check on commits that ask for it");
    const config = parse(fs.readFileSync(f.configPath, "utf8")) as Record<string, unknown>;
    fs.writeFileSync(
      f.configPath,
      stringify({ ...config, defaults: { schedule: { poll: YEARLY, drift: YEARLY } } }),
    );
    env = { ...aws };
  }, 120_000);
  afterAll(async () => {
    await killTidegate(sync);
    await killTidegate(daemon);
    await f?.cleanup();
  }, 60_000);

  it("lets one process at a time write the environment: the sync waits, names the daemon, and what is recorded is what was applied", async () => {
    const configFile = f.stackConfigFile("test");
    const x = await f.commitTo("test", { [`${PROJECT}/STALL`]: "yes\n" }, "X: stall in the check");

    daemon = startTidegate(["run", "--config", f.configPath, "--log-format", "json"], env);
    const d = daemon;
    // The daemon's startup check of X stops in the gate check, after its preview, before its update.
    await eventually(
      () => `the daemon to stall in the check (daemon stderr:\n${d.stderr().slice(-4000)})`,
      300_000,
      async () => {
        if (d.child.exitCode !== null) throw new Error(`the daemon exited: ${d.stderr().slice(-4000)}`);
        return fs.existsSync(stalled()) ? true : undefined;
      },
    );
    const [daemonRun] = await f.engine.store.runs({ environment: "test", limit: 1 });
    expect(daemonRun?.endedAt).toBeUndefined();

    // Y changes the stack's configuration and does not stall.
    const xConfig = await f.readAt("test", configFile);
    const y = await f.commitTo(
      "test",
      {
        [`${PROJECT}/STALL`]: "no\n",
        [configFile]: xConfig.replace(`${VISIBILITY}: 30`, `${VISIBILITY}: 45`),
      },
      "Y: a longer visibility timeout",
    );
    // The default bound (10 minutes) covers the daemon's update; the same command line runs on a
    // tidegate from before the lease, to show this test failing there.
    sync = startTidegate(["sync", "test", "--config", f.configPath], env);
    const s = sync;
    // The sync says who holds the environment (or, without the lease, goes ahead and finishes).
    await eventually(
      () => `the sync to wait or finish (sync stderr:\n${s.stderr().slice(-4000)})`,
      300_000,
      async () => (s.stderr().includes("is held by") || s.child.exitCode !== null ? true : undefined),
    );
    fs.writeFileSync(release(), "");
    const exit = await s.exit;
    await eventually(
      () => `every run of test to end (daemon stderr:\n${d.stderr().slice(-6000)})`,
      300_000,
      async () => {
        const runs = await f.engine.store.runs({ environment: "test" });
        return runs.length >= 2 && runs.every((r) => r.endedAt !== undefined) ? runs : undefined;
      },
    );
    d.child.kill("SIGINT");
    await d.exit;

    // What is recorded as deployed is exactly what was applied: the live queue has the visibility
    // timeout of the deployed commit's stack configuration.
    const state = await f.engine.store.status("test");
    const deployed = state?.deployedCommit ?? "(none)";
    const atDeployed = parse(await f.remote.git("show", `${deployed}:${configFile}`)) as {
      config: Record<string, number>;
    };
    const { sqs } = awsClients();
    const queueName = `platform-sdk-${f.stackName("test")}-events`;
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    const live = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["VisibilityTimeout"] }),
    );
    const commits = { [x]: "X", [y]: "Y" };
    expect(
      { deployed: commits[deployed] ?? deployed, visibility: Number(live.Attributes?.VisibilityTimeout) },
      `the deployed commit's configuration was not the one applied (sync stderr:\n${s.stderr().slice(-3000)})`,
    ).toEqual({ deployed: commits[deployed] ?? deployed, visibility: atDeployed.config[VISIBILITY] });

    // The sync waited for the daemon and said once who held the environment, then applied Y.
    const waiting = s
      .stderr()
      .split("\n")
      .filter((line) => line.includes("is held by"));
    expect(waiting, s.stderr().slice(-3000)).toHaveLength(1);
    expect(waiting[0]).toContain(`environment test is held by ${os.hostname()} pid `);
    expect(waiting[0]).toContain(`(run ${daemonRun?.id}, since `);
    expect(waiting[0]).toMatch(/; waiting…$/);
    expect(exit, s.stderr().slice(-3000)).toEqual({ code: 0, signal: null });
    expect(state).toMatchObject({ status: "Synced", deployedCommit: y });
    expect(live.Attributes?.VisibilityTimeout).toBe("45");
    // Each run applied and recorded its own commit, the daemon's first.
    const runs = await f.engine.store.runs({ environment: "test" });
    expect(runs.map((r) => [r.id === daemonRun?.id ? "daemon" : "sync", r.commit, r.outcome])).toEqual([
      ["sync", y, "succeeded"],
      ["daemon", x, "succeeded"],
    ]);
  }, 900_000);
});
