import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse, stringify } from "yaml";
import { awsEnvVars } from "../../src/devenv/emulator";
import { runCli } from "../helpers/cli";
import { createEngineFixture, type EngineFixture } from "../helpers/engine";

// `tidegate run` as a real child process on a real repository, store and engine: an approval given
// by a second process reaches the daemon through the store's requests, and the daemon syncs at once,
// long before any schedule (here: once a year) or the 5-minute gate re-check could have.

const repoRoot = path.resolve(__dirname, "../..");
const bin = path.join(repoRoot, "node_modules", ".bin");
const APPROVER = "alice@example.com";
// Never fires while the test runs: only a request can explain a second run.
const YEARLY = "0 0 1 1 *";

interface Daemon {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDaemon(configPath: string, env: Record<string, string>): Daemon {
  const child = spawn(
    path.join(bin, "tsx"),
    [path.join(repoRoot, "src", "main.ts"), "run", "--config", configPath, "--log-format", "json"],
    {
      env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}`, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

/** Polls `probe` every 500 ms until it returns a value, or fails after `timeoutMs`. */
async function eventually<T>(
  what: string | (() => string),
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`,
      );
    }
    await sleep(500);
  }
}

describe("tidegate run: the daemon as a work queue", () => {
  let f: EngineFixture;
  let daemon: Daemon | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    const aws = awsEnvVars(inject("aws"));
    // The daemon hands a stack only what its environment declares: the emulator's endpoint and
    // region as config, its keys as credentials read from the daemon's own environment.
    f = await createEngineFixture([
      {
        name: "prod",
        sync: "gated",
        drift: "report",
        definition: {
          config: { AWS_ENDPOINT_URL: aws.AWS_ENDPOINT_URL, AWS_REGION: aws.AWS_REGION },
          credentials: {
            read: {
              AWS_ACCESS_KEY_ID: { env: "AWS_ACCESS_KEY_ID" },
              AWS_SECRET_ACCESS_KEY: { env: "AWS_SECRET_ACCESS_KEY" },
            },
          },
        },
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
    if (daemon && daemon.child.exitCode === null) {
      daemon.child.kill("SIGKILL");
      await daemon.exit;
    }
    await f?.cleanup();
  });

  it("syncs a gated environment within seconds of an approval given by another process, and stops cleanly on SIGINT", async () => {
    daemon = startDaemon(f.configPath, env);
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
});
