import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../../src/adapters/store/sqlite";
import type { Store } from "../../src/adapters/store/port";
import { dataPaths } from "../../src/config/paths";
import { runCli } from "../helpers/cli";
import { createGitRemote, type GitRemoteFixture } from "../helpers/git";
import { type GitHttpServer, startGitHttpServer } from "../helpers/git-http";
import { type DyingFront, startDyingFront } from "./servers";
import { tempDir } from "./support";

// `tidegate run` as a real process, watching a repository over https through a front that dies
// and comes back (connection refused meanwhile), with an environment whose every run fails the
// same way: its Pulumi.yaml names its own backend, which tidegate refuses before installing or
// running anything. The schedules fire once a year; the looks come from requests of priority
// "schedule" left in the store, as a webhook's "go look" would, so back-off and stall apply.
// The whole case takes 20-40 s; a loaded machine stretches the daemon's start, hence its own limit.

const repoRoot = path.resolve(__dirname, "../..");
const bin = path.join(repoRoot, "node_modules", ".bin");
const USER = "bot";
const PASSWORD = "fault-backoff-password";
const STALL_AFTER = 3;

interface AuditLine {
  action: string;
  verdict?: string;
  reason?: string;
  environment?: string;
}

describe("tidegate run: a failing environment and a Git server that dies", () => {
  let remote: GitRemoteFixture;
  let server: GitHttpServer;
  let front: DyingFront;
  let temp: ReturnType<typeof tempDir>;
  let daemon: ChildProcess | undefined;
  let store: Store | undefined;
  let stderr = "";
  let stdout = "";
  let exit: Promise<number | null>;
  let configPath: string;
  let env: Record<string, string>;

  const dataDir = () => path.join(temp.dir, "data");
  const audit = (): AuditLine[] => {
    const file = dataPaths(dataDir()).audit;
    if (!fs.existsSync(file)) return [];
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditLine);
  };
  const openStore = (): Store => (store ??= openSqliteStore(dataPaths(dataDir()).store));
  const poke = () =>
    openStore().addRequest({
      environment: "test",
      reason: "webhook: push",
      priority: "schedule",
      at: new Date().toISOString(),
    });
  /** Pokes the daemon every 300 ms until `probe` returns a value. */
  const until = async <T>(
    what: string,
    timeoutMs: number,
    probe: () => Promise<T | undefined>,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (daemon?.exitCode !== null) throw new Error(`the daemon exited: ${stderr.slice(-3000)}`);
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; daemon log:\n${stderr.slice(-6000)}`);
      await poke();
      await sleep(300);
    }
  };

  beforeAll(async () => {
    temp = tempDir("backoff");
    remote = await createGitRemote({ initialBranch: "main" });
    await remote.commitFiles(
      {
        "environments/test.yaml": [
          "name: test",
          "branch: test",
          "stack: test",
          "project: app",
          "order: 1",
          "sync: { policy: auto }",
          "drift: { policy: report }",
          "",
        ].join("\n"),
        // tidegate chooses where state lives: a program naming its own backend is refused.
        "app/Pulumi.yaml": "name: app\nruntime: nodejs\nbackend:\n  url: file:///tmp/elsewhere\n",
      },
      "An environment whose program names its own backend",
    );
    await remote.push("main");
    await remote.switchBranch("test", "main");
    await remote.push("test");

    server = await startGitHttpServer({ projectRoot: remote.root, username: USER, password: PASSWORD });
    const key = path.join(temp.dir, "key.pem");
    const cert = path.join(temp.dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      { stdio: "ignore" },
    );
    front = await startDyingFront(
      Number(new URL(server.url("remote.git")).port),
      fs.readFileSync(key, "utf8"),
      fs.readFileSync(cert, "utf8"),
    );
    // The daemon's Git trusts the front's certificate through the user's Git configuration.
    fs.mkdirSync(path.join(temp.dir, "xdg", "git"), { recursive: true });
    fs.writeFileSync(path.join(temp.dir, "xdg", "git", "config"), `[http]\n\tsslCAInfo = ${cert}\n`);

    configPath = path.join(temp.dir, "tidegate.yaml");
    fs.writeFileSync(
      configPath,
      [
        "repository:",
        `  url: ${front.url("remote.git")}`,
        `  username: ${USER}`,
        "  tokenEnv: FAULT_GIT_TOKEN",
        "  timeouts: { connect: 2s, lowSpeed: 2s, lsRemote: 10s, operation: 30s }",
        "dataDir: data",
        "secrets: { passphraseEnv: FAULT_PASSPHRASE }",
        'defaults: { schedule: { poll: "0 0 1 1 *", drift: "0 0 1 1 *" } }',
        `daemon: { retry: { initial: 1s, max: 2s }, stallAfter: ${STALL_AFTER} }`,
        "",
      ].join("\n"),
    );
    env = {
      FAULT_GIT_TOKEN: PASSWORD,
      FAULT_PASSPHRASE: "fault-backoff-passphrase",
      XDG_CONFIG_HOME: path.join(temp.dir, "xdg"),
      TIDEGATE_ACTOR: "ada@example.com",
    };
  });

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill("SIGKILL");
      await exit;
    }
    await store?.close();
    await front?.close();
    await server?.close();
    remote?.cleanup();
    temp?.remove();
  });

  it("backs off, stalls after identical failures, keeps the status stale through the outage, and resumes on a new commit", async () => {
    daemon = spawn(
      path.join(bin, "tsx"),
      [path.join(repoRoot, "src", "main.ts"), "run", "--config", configPath, "--log-format", "json"],
      {
        env: {
          ...process.env,
          PATH: `${bin}${path.delimiter}${process.env.PATH}`,
          TIDEGATE_LOG_LEVEL: "debug",
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    daemon.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    daemon.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const child = daemon;
    exit = new Promise((resolve) => child.on("exit", (code) => resolve(code)));

    // The startup check fails: that is the first of the identical failures.
    await until("the daemon to watch", 120_000, async () =>
      stdout.includes("Watching 1 environment") ? true : undefined,
    );
    expect((await openStore().status("test"))?.status).toBe("Failed");

    // Looks asked for meanwhile wait out the back-off; after STALL_AFTER failures, Stalled.
    const stalled = await until("Stalled", 60_000, async () => {
      const state = await openStore().status("test");
      return state?.status === "Stalled" ? state : undefined;
    });
    expect(stalled.reason).toContain(`${STALL_AFTER} identical failures in a row`);
    expect(stalled.reason).toContain("names the project's own backend");
    expect(stalled.reason).toContain("tidegate check test");
    const failedRuns = (await openStore().runs({ environment: "test" })).filter(
      (r) => r.outcome === "failed",
    );
    expect(failedRuns).toHaveLength(STALL_AFTER);
    expect(stderr).toContain("backing off before the next scheduled look");
    expect(stderr).toContain("scheduled look skipped: backing off");
    expect(audit().filter((e) => e.action === "stall")).toMatchObject([
      { verdict: "stalled", environment: "test" },
    ]);

    // Stalled: looks consume no run.
    for (let i = 0; i < 5; i++) {
      await poke();
      await sleep(300);
    }
    await until("a held look", 10_000, async () =>
      stderr.includes("Stalled until something changes") ? true : undefined,
    );
    expect(await openStore().runs({ environment: "test" })).toHaveLength(STALL_AFTER);

    // The Git server dies: the status stays Stalled, marked stale, audited once.
    await front.die();
    const stale = await until(
      "the stale mark",
      60_000,
      async () => (await openStore().status("test"))?.stale,
    );
    expect(stale.reason).toContain(`127.0.0.1:${front.port}`);
    expect(stale.reason).not.toContain(PASSWORD);
    expect(stale.lastPollAt).toBeDefined();
    for (let i = 0; i < 10; i++) {
      await poke();
      await sleep(300);
    }
    expect((await openStore().status("test"))?.status).toBe("Stalled");
    expect(audit().filter((e) => e.action === "outage")).toMatchObject([{ verdict: "started" }]);
    const shown = await runCli(["status", "--config", configPath], { env });
    expect(shown.stdout).toContain("Stalled (stale)");
    // An age under a few seconds reads "just now".
    expect(shown.stdout).toMatch(/stale since .+, last successful poll (?:.+ ago|just now): /);

    // It comes back: the mark goes, a second entry says so; still Stalled (nothing changed).
    await front.revive();
    await until("the stale mark to clear", 60_000, async () =>
      (await openStore().status("test"))?.stale ? undefined : true,
    );
    expect(
      audit()
        .filter((e) => e.action === "outage")
        .map((e) => e.verdict),
    ).toEqual(["started", "ended"]);
    expect((await openStore().status("test"))?.status).toBe("Stalled");
    expect(await openStore().runs({ environment: "test" })).toHaveLength(STALL_AFTER);

    // A new commit on the branch brings it back: one more run, at that commit.
    await remote.switchBranch("test");
    const fix = await remote.commitFile("app/README.md", "still broken\n", "Try again");
    await remote.push("test");
    const resumed = await until("a run at the new commit", 60_000, async () =>
      (await openStore().runs({ environment: "test" })).find((r) => r.commit === fix && r.endedAt),
    );
    expect(resumed.outcome).toBe("failed");
    const stallEntries = audit().filter((e) => e.action === "stall");
    expect(stallEntries.map((e) => e.verdict)).toEqual(["stalled", "resumed"]);
    expect(stallEntries[1]?.reason).toContain("branch 'test' moved");

    child.kill("SIGTERM"); // as a service manager stops it: a clean stop exits 0
    expect(await exit).toBe(0);
    expect(stderr).toMatch(/"skippedBackoff":[1-9]/);
    expect(stderr).toMatch(/"skippedStalled":[1-9]/);
    const verified = await runCli(["audit", "verify", "--config", configPath], { env });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(stderr + stdout).not.toContain(PASSWORD);
  }, 300_000);
});
