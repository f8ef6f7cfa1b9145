import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { awsEnvVars } from "../../src/devenv/emulator";
import { emulatorDefinition } from "../helpers/aws";
import { runCli } from "../helpers/cli";
import { createEngineFixture, type EngineFixture } from "../helpers/engine";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// `tidegate run` as a real child process on a real repository, store and engine: an approval given
// by a second process reaches the daemon through the store's requests, and the daemon syncs at once,
// long before any schedule (here: once a year) or the 5-minute gate re-check could have.

const APPROVER = "alice@example.com";
// Never fires while the test runs: only a request can explain a second run.
const YEARLY = "0 0 1 1 *";

describe("tidegate run: the daemon as a work queue", () => {
  let f: EngineFixture;
  let daemon: TidegateProcess | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    // The daemon hands a stack only what its environment declares: the emulator's endpoint and
    // region as config, its keys as credentials read from the daemon's own environment.
    f = await createEngineFixture([
      {
        name: "prod",
        sync: "gated",
        drift: "report",
        definition: emulatorDefinition(),
      },
    ]);
    const config = parse(fs.readFileSync(f.configPath, "utf8")) as Record<string, unknown>;
    fs.writeFileSync(
      f.configPath,
      stringify({ ...config, defaults: { schedule: { poll: YEARLY, drift: YEARLY } } }),
    );
    env = { ...awsEnvVars(inject("aws")), TIDEGATE_ACTOR: APPROVER };
  });
  afterAll(async () => {
    await killTidegate(daemon);
    await f?.cleanup();
  });

  it("syncs a gated environment within seconds of an approval given by another process, and stops cleanly on SIGINT", async () => {
    daemon = startTidegate(["run", "--config", f.configPath, "--log-format", "json"], env);
    const d = daemon;
    const status = async () => (await f.engine.store.status("prod"))?.status;

    // The startup check finds the change and holds it at its approval gate.
    await eventually(
      `prod AwaitingApproval (daemon stderr:\n${d.stderr().slice(-2000)})`,
      300_000,
      async () => {
        if (d.child.exitCode !== null) throw new Error(`the daemon exited: ${d.stderr().slice(-2000)}`);
        return (await status()) === "AwaitingApproval" ? true : undefined;
      },
    );
    await eventually("the daemon to watch", 30_000, async () =>
      d.stdout().includes("Watching 1 environment") ? true : undefined,
    );
    const digest = (await f.engine.store.latestReport("prod"))?.plan?.digest;
    expect(digest).toMatch(/^sha256:/);

    const approved = await runCli(
      ["approve", "prod", "--digest", digest as string, "--config", f.configPath],
      {
        env,
        timeout: 300_000,
      },
    );
    expect(approved.code, approved.stderr).toBe(0);
    expect((await f.engine.store.approvals("prod")).map((a) => a.approver)).toEqual([APPROVER]);

    // The cron schedules fire once a year and the gate re-check waits 5 minutes: only the request can
    // explain a sync now.
    await eventually(
      () => `prod Synced (daemon stderr:\n${d.stderr().slice(-12000)})`,
      90_000,
      async () => ((await status()) === "Synced" ? true : undefined),
    );
    const [latest] = await f.engine.store.runs({ environment: "prod", limit: 1 });
    expect(latest?.trigger).toBe(`approved by ${APPROVER}`);
    expect(latest?.kind).toBe("check");
    expect(d.stderr()).toContain("request received");

    d.child.kill("SIGINT");
    const exit = await d.exit;
    // 130: a person's interrupt (a SIGTERM from a service manager exits 0).
    expect(exit, d.stderr().slice(-2000)).toEqual({ code: 130, signal: null });
    expect(d.stderr()).toContain("work queue stopped");
    // run: the startup check and the approval's; nothing skipped or failed.
    const stopped = d
      .stderr()
      .split("\n")
      .filter((line) => line.includes("work queue stopped"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(stopped[0]).toMatchObject({ enqueued: 2, run: 2, failed: 0, dropped: [] });
  });

  it("with daemon.startup: poll, a restart checks nothing whose branch has not moved", async () => {
    const runsBefore = (await f.engine.store.runs({ environment: "prod", limit: 100 })).length;
    expect(runsBefore).toBeGreaterThan(0);
    const config = parse(fs.readFileSync(f.configPath, "utf8")) as Record<string, unknown>;
    fs.writeFileSync(f.configPath, stringify({ ...config, daemon: { startup: "poll" } }));
    daemon = startTidegate(["run", "--config", f.configPath, "--log-format", "json"], env);
    const d = daemon;
    await eventually(
      () => `the daemon to watch (daemon stderr:\n${d.stderr().slice(-2000)})`,
      60_000,
      async () => (d.stdout().includes("Watching 1 environment") ? true : undefined),
    );
    expect(d.stdout()).toContain("Synced");
    expect((await f.engine.store.runs({ environment: "prod", limit: 100 })).length).toBe(runsBefore);

    d.child.kill("SIGTERM");
    expect(await d.exit, d.stderr().slice(-2000)).toEqual({ code: 0, signal: null });
    const stopped = d
      .stderr()
      .split("\n")
      .filter((line) => line.includes("work queue stopped"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // One look, the startup's poll, which found the head recorded and ran no check.
    expect(stopped[0]).toMatchObject({ enqueued: 1, run: 1, failed: 0 });
  });
});
