import { type ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { openAuditLog } from "../../src/compose";
import { isProcessAlive } from "../../src/adapters/pid";
import { runCli } from "../helpers/cli";
import { writeTidegateConfig } from "../helpers/example";
import { createGitRemote, type GitRemoteFixture } from "../helpers/git";
import { startedBy } from "../helpers/processes";

// `kill -9` of tidegate in the middle of an update, and what a person does next: `tidegate status`
// shows the run Interrupted, `tidegate recover test` shows what the update left and clears it once
// confirmed, and the next sync succeeds. Real Git, the real Pulumi CLI, a file:// backend, real
// processes; the program's dynamic resource "slow" blocks its create while its config says so.

const repoRoot = path.resolve(__dirname, "../..");
const PROJECT = "app";
const STACK = "test";
const SLOW_URN = `urn:pulumi:${STACK}::recover-it::pulumi-nodejs:dynamic:Resource::slow`;
const QUICK_URN = `urn:pulumi:${STACK}::recover-it::pulumi-nodejs:dynamic:Resource::quick`;

// A create that writes `.started` beside the program, then waits as long as `block` is true.
const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import * as path from "path";

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    const fs = require("fs");
    fs.writeFileSync(inputs.marker, inputs.name);
    while (inputs.block) await new Promise((resolve) => setTimeout(resolve, 1000));
    return { id: inputs.name, outs: inputs };
  },
};

class Step extends pulumi.dynamic.Resource {
  constructor(name: string, block: boolean, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { name, block, marker: path.join(process.cwd(), ".started-" + name) }, opts);
  }
}

const config = new pulumi.Config();
const quick = new Step("quick", false);
new Step("slow", config.getBoolean("block") ?? false, { dependsOn: quick });
`;

const source = (file: string) => fs.readFileSync(path.join(repoRoot, "stacks", "aws-sdk", file), "utf8");

let remote: GitRemoteFixture;
let configPath: string;
let dataDir: string;
let stateDir: string;
let passphrase: string;
const tidegate = (args: string[], timeout = 600_000) =>
  runCli([...args, "--config", configPath], { cwd: remote.root, timeout });

beforeAll(async () => {
  remote = await createGitRemote();
  passphrase = "recover-it-passphrase";
  await remote.commitFiles(
    {
      ".gitignore": "node_modules/\n.started-*\n",
      [`${PROJECT}/Pulumi.yaml`]:
        "name: recover-it\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
      [`${PROJECT}/package.json`]: source("package.json"),
      [`${PROJECT}/package-lock.json`]: source("package-lock.json"),
      [`${PROJECT}/tsconfig.json`]: source("tsconfig.json"),
      [`${PROJECT}/index.ts`]: PROGRAM,
      [`${PROJECT}/Pulumi.${STACK}.yaml`]: stringify({ config: { "recover-it:block": true } }),
      "environments/test.yaml": stringify({
        name: "test",
        branch: "test",
        stack: STACK,
        project: PROJECT,
        order: 1,
        sync: { policy: "auto" },
        drift: { policy: "report" },
      }),
    },
    "A program whose update blocks",
  );
  await remote.push("main");
  await remote.switchBranch("test", "main");
  await remote.push("test");
  configPath = writeTidegateConfig(remote.root, remote.url, passphrase);
  dataDir = path.join(remote.root, "data");
  stateDir = path.join(remote.root, "state");
});

afterAll(() => {
  // A failed test may leave a process behind: it must not outlive the suite.
  for (const leftover of startedBy(undefined, remote.root)) {
    try {
      process.kill(leftover.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  remote.cleanup();
});

describe("kill -9 mid-update, then tidegate recover", () => {
  it("shows Interrupted, refuses without --yes off a terminal, clears the stack with --yes, and the next sync succeeds", async () => {
    // 1. A sync whose update blocks on "slow"; killed (the real node process, not tsx's wrapper).
    const sync = startCli(["sync", "test", "--config", configPath], remote.root);
    const started = path.join(dataDir, "workspaces", "test", PROJECT, ".started-slow");
    await waitFor(
      () => fs.existsSync(started),
      480_000,
      () => sync.output(),
    );
    const pid = realNode(sync.child.pid ?? 0);
    process.kill(pid, "SIGKILL");
    await waitFor(
      () => !isProcessAlive(pid),
      10_000,
      () => "tidegate still alive",
    );
    // Everything tidegate started (the Pulumi CLI, the language host, the provider) died with it.
    await waitFor(
      () => startedBy(pid, remote.root).length === 0,
      5_000,
      () => `processes tidegate started outlived it: ${JSON.stringify(startedBy(pid, remote.root))}`,
    );

    // 2. The status a person sees, with no daemon running.
    const status = await tidegate(["status", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const [row] = (JSON.parse(status.stdout) as { environments: { status: string; reason?: string }[] })
      .environments;
    expect(row?.status).toBe("Interrupted");
    expect(row?.reason).toMatch(/sync run .* started .* `tidegate recover test`/);

    // 3. Not confirmed: stdin is no terminal here, so it refuses and changes nothing.
    const refused = await tidegate(["recover", "test"]);
    const refusedOutput = `${refused.stdout}\n${refused.stderr}`;
    expect(refused.code, refusedOutput).toBe(1);
    expect(refused.stdout).toContain(`creating ${SLOW_URN}`);
    expect(refused.stdout).toMatch(/Pulumi's lock: held/);
    expect(refused.stdout).toMatch(/export PULUMI_BACKEND_URL='file:\/\//);
    expect(refused.stdout).toMatch(/PULUMI_CONFIG_PASSPHRASE=\.\.\. +# the passphrase from file /);
    expect(refused.stdout).toMatch(/cancel --stack 'test' --yes/);
    expect(refused.stdout).toContain("--clear-pending-creates");
    expect(refused.stdout).toMatch(/run it again with --yes/);
    expect(refusedOutput).not.toContain(passphrase);
    const before = await exportStack(refused.stdout);
    expect(before.pending).toEqual([`creating ${SLOW_URN}`]);

    // 4. Confirmed: Pulumi's lock released, the pending create cleared, then checked.
    const recovered = await tidegate(["recover", "test", "--yes"]);
    const recoveredOutput = `${recovered.stdout}\n${recovered.stderr}`;
    expect(recovered.code, recoveredOutput).toBe(0);
    expect(recovered.stdout).toMatch(/Recovered 'test'/);
    expect(recoveredOutput).not.toContain(passphrase);
    const after = await exportStack(recovered.stdout);
    expect(after.pending).toEqual([]);
    expect(after.urns).toContain(QUICK_URN); // nothing destroyed
    const locks = path.join(stateDir, ".pulumi", "locks", "organization", "recover-it", STACK);
    expect(fs.existsSync(locks) ? fs.readdirSync(locks) : []).toEqual([]);

    // 5. Audited, and the chain verifies.
    const audit = openAuditLog(dataDir);
    const steps = (await audit.entries({ action: "recover" })).map((e) => [e.details?.step, e.verdict]);
    expect(steps).toEqual([
      ["inspect", "shown"],
      ["confirm", "declined"],
      ["inspect", "shown"],
      ["cancel", "released"],
      ["refresh", "recovered"],
    ]);
    expect((await audit.entries({ action: "recover" }))[0]?.details?.pendingOperations).toEqual([
      `creating ${SLOW_URN}`,
    ]);
    expect((await audit.verify()).ok).toBe(true);

    // 6. The program no longer blocks: the next sync creates "slow" and the environment is Synced.
    await remote.commitFiles(
      { [`${PROJECT}/Pulumi.${STACK}.yaml`]: stringify({ config: { "recover-it:block": false } }) },
      "Let the update finish",
    );
    await remote.push("test");
    const next = await tidegate(["sync", "test"]);
    expect(next.code, `${next.stdout}\n${next.stderr}`).toBe(0);
    const final = await tidegate(["status", "--json"]);
    expect(JSON.parse(final.stdout)).toMatchObject({
      environments: [{ environment: "test", status: "Synced" }],
    });
  });
});

/** The CLI as runCli starts it, but left running; its output is kept. */
function startCli(args: string[], cwd: string): { child: ChildProcess; output: () => string } {
  const bin = path.join(repoRoot, "node_modules", ".bin");
  const child = spawn(path.join(bin, "tsx"), [path.join(repoRoot, "src", "main.ts"), ...args], {
    cwd,
    env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

/** tsx runs the CLI in a child node process: that one is tidegate. */
function realNode(wrapper: number): number {
  const children = fs.readFileSync(`/proc/${wrapper}/task/${wrapper}/children`, "utf8").trim().split(/\s+/);
  const node = children
    .map(Number)
    .find((pid) => pid > 0 && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("main.ts"));
  return node ?? wrapper;
}

async function waitFor(done: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * `pulumi stack export` run by hand the way `tidegate recover` printed it: its variables (with the
 * passphrase from its file) and its pulumi.
 */
async function exportStack(printed: string): Promise<{ pending: string[]; urns: string[] }> {
  const value = (name: string) => new RegExp(`export ${name}='([^']*)'`).exec(printed)?.[1];
  const pulumi = /'([^']*)' refresh --stack/.exec(printed)?.[1];
  const cwd = /^ {2}cd '([^']*)'$/m.exec(printed)?.[1];
  expect(pulumi && cwd && value("PULUMI_BACKEND_URL") && value("PULUMI_HOME"), printed).toBeTruthy();
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: remote.root,
    PULUMI_BACKEND_URL: value("PULUMI_BACKEND_URL") ?? "",
    PULUMI_HOME: value("PULUMI_HOME") ?? "",
    PULUMI_CONFIG_PASSPHRASE: passphrase,
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(pulumi ?? "", ["stack", "export", "--stack", STACK], { cwd, env }, (error, out, err) =>
      error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out),
    ),
  );
  const deployment = (
    JSON.parse(stdout) as {
      deployment: {
        resources?: { urn: string }[];
        pending_operations?: { resource: { urn: string }; type: string }[];
      };
    }
  ).deployment;
  return {
    pending: (deployment.pending_operations ?? []).map((op) => `${op.type} ${op.resource.urn}`),
    urns: (deployment.resources ?? []).map((r) => r.urn),
  };
}
