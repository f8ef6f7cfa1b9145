import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { createGitRemote, type GitRemoteFixture } from "../helpers/git";
import { DEPENDENCY_CACHE } from "../helpers/engine";

// A real `tidegate sync test` whose update blocks: the program's one dynamic resource writes a
// "started" file when its create begins, then waits until the test writes the "release" file.
// The project reuses the example's package.json and lockfile, so the dependency cache the
// integration tests fill serves it (else npm installs it once).

const repoRoot = path.resolve(__dirname, "../..");
const EXAMPLE = path.join(repoRoot, "stacks", "aws-sdk");

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    const fs = require("fs");
    fs.writeFileSync(inputs.started, String(process.pid));
    while (!fs.existsSync(inputs.release)) await new Promise((resolve) => setTimeout(resolve, 200));
    return { id: "blocker", outs: inputs };
  },
};

class Blocker extends pulumi.dynamic.Resource {
  constructor(name: string, args: { started: string; release: string }) {
    super(provider, name, args);
  }
}

new Blocker("blocker", { started: config.require("started"), release: config.require("release") });
`;

export interface BlockingSync {
  remote: GitRemoteFixture;
  /** The folder everything of this test is in (repository, data, state): processes are found by it. */
  root: string;
  dataDir: string;
  configPath: string;
  startedFile: string;
  releaseFile: string;
  cleanup(): void;
}

/**
 * A repository with the blocking program on branch `test`, and a tidegate.yaml for it. The files
 * the program reads and writes are in the environment's worktree, which a sandbox sees too.
 */
export async function blockingSync(options: { sandbox?: "off" | "bubblewrap" } = {}): Promise<BlockingSync> {
  const remote = await createGitRemote();
  const root = remote.root;
  const dataDir = path.join(root, "data");
  const worktree = path.join(dataDir, "workspaces", "test");
  const startedFile = path.join(worktree, "create-started");
  const releaseFile = path.join(worktree, "create-release");
  const project = "stacks/blocker";
  await remote.commitFiles(
    {
      ".gitignore": "node_modules/\n",
      [`${project}/Pulumi.yaml`]:
        "name: blocker\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
      [`${project}/package.json`]: fs.readFileSync(path.join(EXAMPLE, "package.json"), "utf8"),
      [`${project}/package-lock.json`]: fs.readFileSync(path.join(EXAMPLE, "package-lock.json"), "utf8"),
      [`${project}/tsconfig.json`]: fs.readFileSync(path.join(EXAMPLE, "tsconfig.json"), "utf8"),
      [`${project}/index.ts`]: PROGRAM,
      [`${project}/Pulumi.test.yaml`]: stringify({
        config: { "blocker:started": startedFile, "blocker:release": releaseFile },
      }),
      "environments/test.yaml": stringify({
        name: "test",
        branch: "test",
        stack: "test",
        project,
        order: 1,
        sync: { policy: "auto" },
        drift: { policy: "report" },
      }),
    },
    "A program whose update waits for a file",
  );
  await remote.push("main");
  await remote.switchBranch("test", "main");
  await remote.push("test");

  fs.writeFileSync(path.join(root, "passphrase"), "blocking-update-passphrase");
  const configPath = path.join(root, "tidegate.yaml");
  fs.writeFileSync(
    configPath,
    stringify({
      repository: { url: remote.url },
      dataDir: "data",
      backend: { url: "file://./state" },
      secrets: { passphraseFile: "passphrase" },
      sandbox: options.sandbox ?? "off",
    }),
  );
  // The dependency cache the integration tests keep: no npm install when it holds this lockfile.
  fs.mkdirSync(path.join(dataDir, "cache"), { recursive: true });
  fs.mkdirSync(DEPENDENCY_CACHE, { recursive: true });
  fs.symlinkSync(DEPENDENCY_CACHE, path.join(dataDir, "cache", "deps"));
  return { remote, root, dataDir, configPath, startedFile, releaseFile, cleanup: () => remote.cleanup() };
}

export interface TidegateProcess {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `tidegate <args>` as one node process (tsx as a loader, not its wrapper process, so the pid is
 * tidegate's own), detached: its own process group, as a terminal's foreground job would be.
 */
export function startTidegate(args: string[], cwd: string): TidegateProcess {
  const bin = path.join(repoRoot, "node_modules", ".bin");
  const tsx = path.join(repoRoot, "node_modules", "tsx", "dist");
  const loader = [
    "--require",
    path.join(tsx, "preflight.cjs"),
    "--import",
    pathToFileURL(path.join(tsx, "loader.mjs")).href,
  ];
  const child = spawn(process.execPath, [...loader, path.join(repoRoot, "src", "main.ts"), ...args], {
    cwd,
    env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exit };
}

/** Waits until `file` exists (the blocking create began), failing with the process's output. */
export async function waitForFile(
  file: string,
  tidegate: TidegateProcess,
  timeoutMs = 240_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (tidegate.child.exitCode !== null) throw new Error(`tidegate exited early:\n${tidegate.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}:\n${tidegate.output()}`);
    await sleep(250);
  }
}
