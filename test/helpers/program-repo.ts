import * as fs from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import type { GitRemoteFixture } from "./git";

// A repository of environments for tests that run tidegate processes: one TypeScript program with
// the aws-sdk example's dependencies (their installed tree is in the tests' cache already), and an
// environment per branch.

const repoRoot = path.resolve(__dirname, "../..");
const example = (file: string) => fs.readFileSync(path.join(repoRoot, "stacks", "aws-sdk", file), "utf8");

/** `project/` holding `program` as project `name`. */
export function programFiles(project: string, name: string, program: string): Record<string, string> {
  return {
    ".gitignore": "node_modules/\n",
    [`${project}/Pulumi.yaml`]: `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
    [`${project}/package.json`]: example("package.json"),
    [`${project}/package-lock.json`]: example("package-lock.json"),
    [`${project}/tsconfig.json`]: example("tsconfig.json"),
    [`${project}/index.ts`]: program,
  };
}

/**
 * environments/<name>.yaml for each name (its own branch and stack, in the names' order) with
 * `definition`'s fields, and its stack's config file (empty unless `stackConfig` gives one).
 */
export function environmentFiles(
  project: string,
  names: readonly string[],
  definition: (name: string) => Record<string, unknown>,
  stackConfig: (name: string) => string = () => "config: {}\n",
): Record<string, string> {
  const files: Record<string, string> = {};
  names.forEach((name, i) => {
    files[`${project}/Pulumi.${name}.yaml`] = stackConfig(name);
    files[`environments/${name}.yaml`] = stringify({
      name,
      branch: name,
      stack: name,
      project,
      order: i + 1,
      ...definition(name),
    });
  });
  return files;
}

/** Commits `files` on main and pushes a branch per environment, all at that commit. */
export async function pushEnvironments(
  remote: GitRemoteFixture,
  files: Record<string, string>,
  message: string,
  names: readonly string[],
): Promise<string> {
  const head = await remote.commitFiles(files, message);
  await remote.push("main");
  for (const name of names) {
    await remote.switchBranch(name, "main");
    await remote.push(name);
  }
  await remote.switchBranch("main");
  return head;
}
