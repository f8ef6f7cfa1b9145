import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { makeEncryptionSalt, writeEncryptionSalt } from "../../adapters/pulumi/secrets";
import {
  CLOUD_PROJECT,
  CLUSTER_PROJECT,
  clusterEnvironmentFile,
  clusterStackConfig,
  projectName,
  type ExampleCluster,
} from "./stacks";

const run = promisify(execFile);

export interface SeedOptions {
  /** This checkout: the example comes from its stacks/ and environments/. */
  repoRoot: string;
  /** Where the example repository lives (`<dataDir>/example`). */
  dir: string;
  /** Environment branches to create, in promotion order. */
  branches: string[];
  /** The stacks' secrets passphrase: each committed stack config gets a salt made with it. */
  passphrase: string;
  /**
   * Seed each environment with a cluster stack after the cloud stack, reaching the local control
   * plane through this kubeconfig file; without it, the cloud stack alone (the one-stack form).
   */
  cluster?: ExampleCluster;
}

export interface SeededRepository {
  /** The bare repository tidegate watches, as a file:// URL. */
  url: string;
  /** A working clone to commit to, like a developer's. */
  workClone: string;
  created: boolean;
  /** Whether the environments list the cluster stack (as seeded the first time). */
  cluster: boolean;
}

/** What the seeding chose, beside the repository: later runs start the control plane only if needed. */
const SEED_FILE = "seed.json";

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("git", args, {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "tidegate example",
      GIT_AUTHOR_EMAIL: "example@tidegate.local",
      GIT_COMMITTER_NAME: "tidegate example",
      GIT_COMMITTER_EMAIL: "example@tidegate.local",
    },
  });
  return stdout.trim();
}

/** Whether the example repository in `dir` was seeded already. */
export function exampleSeeded(dir: string): boolean {
  return fs.existsSync(path.join(dir, "repository.git", "HEAD"));
}

/**
 * The embedded default's repository: a bare Git repository seeded from this checkout's example
 * stack and environment definitions, with one branch per environment, plus a working clone to
 * try commits from. Seeding happens once; later runs reuse what is there.
 */
export async function seedExampleRepository(options: SeedOptions): Promise<SeededRepository> {
  const bare = path.join(options.dir, "repository.git");
  const workClone = path.join(options.dir, "work");
  const url = `file://${bare}`;
  if (exampleSeeded(options.dir))
    return { url, workClone, created: false, cluster: seededCluster(options.dir) };

  const scratch = `${options.dir}.seeding-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  const src = path.join(scratch, "src");
  fs.mkdirSync(src, { recursive: true });
  const skip = new Set(["node_modules"]);
  const projects = options.cluster ? [CLOUD_PROJECT, CLUSTER_PROJECT] : [CLOUD_PROJECT];
  for (const project of projects) {
    fs.cpSync(path.join(options.repoRoot, project), path.join(src, project), {
      recursive: true,
      filter: (from) =>
        !skip.has(path.basename(from)) && !/^Pulumi\.it[0-9a-f]+\.yaml$/.test(path.basename(from)),
    });
  }
  if (options.cluster) referToCloudStack(src);
  for (const project of projects) await commitEncryptionSalts(path.join(src, project), options.passphrase);
  fs.cpSync(path.join(options.repoRoot, "environments"), path.join(src, "environments"), { recursive: true });
  if (options.cluster) {
    for (const file of fs.readdirSync(path.join(src, "environments")).filter((f) => f.endsWith(".yaml"))) {
      const at = path.join(src, "environments", file);
      fs.writeFileSync(
        at,
        clusterEnvironmentFile(`environments/${file}`, fs.readFileSync(at, "utf8"), options.cluster),
      );
    }
  }
  fs.writeFileSync(path.join(src, ".gitignore"), "node_modules/\n");
  fs.writeFileSync(
    path.join(src, "README.md"),
    [
      "# tidegate example repository",
      "",
      "Seeded by `tidegate run` with no configuration. Each environment is a branch (`test`, `stage`, `prod`)",
      ...(options.cluster
        ? [
            `and two Pulumi stacks: \`cloud\` (the project in \`${CLOUD_PROJECT}\`, on the AWS emulator) and \`cluster\``,
            `(\`${CLUSTER_PROJECT}\`, on the local Kubernetes control plane), deployed after \`cloud\` and reading`,
            "its bucket through a stack reference. Each stack's config is `<project>/Pulumi.<env>.yaml`.",
          ]
        : [
            `and a Pulumi stack of the project in \`${CLOUD_PROJECT}\`; its config is \`${CLOUD_PROJECT}/Pulumi.<env>.yaml\`.`,
          ]),
      "Commit to the `test` branch in the working clone next to this repository and push: tidegate previews",
      "the change, and syncs `test` because its sync policy is `auto`.",
      "",
    ].join("\n"),
  );
  await git(src, "init", "--quiet", "--initial-branch=main");
  await git(src, "add", "--all");
  await git(
    src,
    "commit",
    "--quiet",
    "--message",
    options.cluster
      ? "Seed the tidegate example: the cloud and cluster stacks and their environments"
      : "Seed the tidegate example: the platform stack and its environments",
  );
  for (const branch of options.branches) await git(src, "branch", branch);
  await git(scratch, "clone", "--quiet", "--bare", src, "repository.git");

  fs.mkdirSync(path.dirname(options.dir), { recursive: true });
  fs.rmSync(options.dir, { recursive: true, force: true });
  fs.renameSync(scratch, options.dir);
  fs.rmSync(path.join(options.dir, "src"), { recursive: true, force: true });
  fs.writeFileSync(path.join(options.dir, SEED_FILE), `${JSON.stringify({ cluster: !!options.cluster })}\n`);
  await git(options.dir, "clone", "--quiet", url, "work");
  return { url, workClone, created: true, cluster: !!options.cluster };
}

/** Whether the example in `dir` was seeded with the cluster stack (examples older than that: no). */
export function seededCluster(dir: string): boolean {
  try {
    return (
      (JSON.parse(fs.readFileSync(path.join(dir, SEED_FILE), "utf8")) as { cluster?: unknown }).cluster ===
      true
    );
  } catch {
    return false;
  }
}

/** Each of the cluster project's stack configs names the cloud stack of the same environment. */
function referToCloudStack(src: string): void {
  const read = (file: string) => fs.readFileSync(path.join(src, file), "utf8");
  const cloudProject = projectName(`${CLOUD_PROJECT}/Pulumi.yaml`, read(`${CLOUD_PROJECT}/Pulumi.yaml`));
  const clusterProject = projectName(
    `${CLUSTER_PROJECT}/Pulumi.yaml`,
    read(`${CLUSTER_PROJECT}/Pulumi.yaml`),
  );
  for (const file of fs.readdirSync(path.join(src, CLUSTER_PROJECT))) {
    const stack = /^Pulumi\.([^.]+)\.yaml$/.exec(file)?.[1];
    if (stack === undefined) continue;
    const at = `${CLUSTER_PROJECT}/${file}`;
    fs.writeFileSync(
      path.join(src, at),
      clusterStackConfig(at, read(at), { clusterProject, cloudProject, stack }),
    );
  }
}

/**
 * Each stack config gets its passphrase salt, as a team commits it: the stacks' secrets provider is
 * then fixed by the repository, and a wrong passphrase is refused before the engine runs.
 */
async function commitEncryptionSalts(projectDir: string, passphrase: string): Promise<void> {
  const stackFiles = fs.readdirSync(projectDir).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
  await Promise.all(
    stackFiles.map(async (f) =>
      writeEncryptionSalt(path.join(projectDir, f), await makeEncryptionSalt(passphrase)),
    ),
  );
}
