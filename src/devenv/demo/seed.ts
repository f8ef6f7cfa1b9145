import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { makeEncryptionSalt, writeEncryptionSalt } from "../../adapters/pulumi/secrets";

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
}

export interface SeededRepository {
  /** The bare repository tidegate watches, as a file:// URL. */
  url: string;
  /** A working clone to commit to, like a developer's. */
  workClone: string;
  created: boolean;
}

const EXAMPLE_PROJECT = "stacks/aws-sdk";

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
  if (exampleSeeded(options.dir)) return { url, workClone, created: false };

  const scratch = `${options.dir}.seeding-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  const src = path.join(scratch, "src");
  fs.mkdirSync(src, { recursive: true });
  const skip = new Set(["node_modules"]);
  fs.cpSync(path.join(options.repoRoot, EXAMPLE_PROJECT), path.join(src, EXAMPLE_PROJECT), {
    recursive: true,
    filter: (from) =>
      !skip.has(path.basename(from)) && !/^Pulumi\.it[0-9a-f]+\.yaml$/.test(path.basename(from)),
  });
  await commitEncryptionSalts(path.join(src, EXAMPLE_PROJECT), options.passphrase);
  fs.cpSync(path.join(options.repoRoot, "environments"), path.join(src, "environments"), { recursive: true });
  fs.writeFileSync(path.join(src, ".gitignore"), "node_modules/\n");
  fs.writeFileSync(
    path.join(src, "README.md"),
    [
      "# tidegate example repository",
      "",
      "Seeded by `tidegate run` with no configuration. Each environment is a branch (`test`, `stage`, `prod`)",
      `and a Pulumi stack of the project in \`${EXAMPLE_PROJECT}\`; its config is \`${EXAMPLE_PROJECT}/Pulumi.<env>.yaml\`.`,
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
    "Seed the tidegate example: the platform stack and its environments",
  );
  for (const branch of options.branches) await git(src, "branch", branch);
  await git(scratch, "clone", "--quiet", "--bare", src, "repository.git");

  fs.mkdirSync(path.dirname(options.dir), { recursive: true });
  fs.rmSync(options.dir, { recursive: true, force: true });
  fs.renameSync(scratch, options.dir);
  fs.rmSync(path.join(options.dir, "src"), { recursive: true, force: true });
  await git(options.dir, "clone", "--quiet", url, "work");
  return { url, workClone, created: true };
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
