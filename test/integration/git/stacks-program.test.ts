import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SimpleGitAdapter } from "../../../src/adapters/git/simple-git";
import { programTree } from "../../../src/reconcile/gating";
import { createGitRemote, type GitRemoteFixture } from "../../helpers/git";

// The promotion gate's program tree of an environment of several stacks, on a real repository:
// any stack's program counts, no stack's config does.
describe("the program tree of several stacks", () => {
  let remote: GitRemoteFixture;
  let git: SimpleGitAdapter;

  beforeEach(async () => {
    remote = await createGitRemote();
    git = new SimpleGitAdapter({
      url: remote.url,
      mirrorDir: path.join(remote.root, "mirror"),
      log: () => {},
    });
  });
  afterEach(() => {
    remote.cleanup();
  });

  const env = {
    project: "stacks/aws",
    stacks: [{ project: "stacks/aws" }, { project: "stacks/kubernetes" }, { project: "stacks/app" }],
  };

  it("changes with any stack's program and with none of their configs", async () => {
    const base = await remote.commitFiles(
      {
        "stacks/aws/Pulumi.yaml": "name: cloud\n",
        "stacks/aws/Pulumi.test.yaml": "config: {}\n",
        "stacks/kubernetes/Pulumi.yaml": "name: cluster\n",
        "stacks/app/Pulumi.yaml": "name: app\n",
        "stacks/app/index.ts": "export {};\n",
        "README.md": "outside every program\n",
      },
      "base",
    );
    const configs = await remote.commitFiles(
      { "stacks/aws/Pulumi.test.yaml": "config: {a: 1}\n", "stacks/app/Pulumi.prod.yaml": "config: {}\n" },
      "configs only",
    );
    const readme = await remote.commitFile("README.md", "still outside\n", "docs");
    const middle = await remote.commitFile(
      "stacks/kubernetes/index.ts",
      "export const replicas = 3;\n",
      "cluster",
    );
    await remote.push("main");
    await git.fetch("main");

    const tree = (commit: string) => programTree(git, env, commit);
    expect(await tree(configs)).toBe(await tree(base));
    expect(await tree(readme)).toBe(await tree(base));
    expect(await tree(middle)).not.toBe(await tree(base));
    // One stack alone: the middle stack's change is outside the first stack's program.
    expect(await programTree(git, { project: "stacks/aws" }, middle)).toBe(
      await programTree(git, { project: "stacks/aws" }, base),
    );
  });
});
