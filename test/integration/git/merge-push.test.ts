import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitError, PushRejectedError } from "../../../src/adapters/git/errors";
import { SimpleGitAdapter } from "../../../src/adapters/git/simple-git";
import { createGitRemote, type GitRemoteFixture } from "../../helpers/git";

const IDENTITY = { name: "tidegate", email: "tidegate@example.invalid" };
const PROGRAM = { include: ["stacks/app"], exclude: ["stacks/app/Pulumi.*.yaml"] };

// Promotion's Git half on real repositories: a bare remote with `test` and `stage` branches, the
// adapter's mirror and scratch worktrees beside it.
describe("SimpleGitAdapter: commitsBetween, merge and push", () => {
  let remote: GitRemoteFixture;
  let git: SimpleGitAdapter;
  let commands: string[][];
  let base: string;

  const scratch = (name = "merge"): string => path.join(remote.root, "scratch", name);
  const remoteHead = (branch: string): string =>
    execFileSync("git", ["rev-parse", `refs/heads/${branch}`], {
      cwd: remote.remoteDir,
      encoding: "utf8",
    }).trim();
  const gitIn = (dir: string, ...args: string[]): string =>
    execFileSync("git", args, { cwd: dir, encoding: "utf8" }).trim();
  /** Commits on a branch of the work clone and pushes it; returns the sha. */
  const commitOn = async (
    branch: string,
    files: Record<string, string>,
    message: string,
  ): Promise<string> => {
    await remote.switchBranch(branch);
    const sha = await remote.commitFiles(files, message);
    await remote.push(branch);
    return sha;
  };

  beforeEach(async () => {
    remote = await createGitRemote();
    commands = [];
    git = new SimpleGitAdapter({
      url: remote.url,
      mirrorDir: path.join(remote.root, "mirror"),
      log: (entry) => {
        const command = (entry as { command?: string[] }).command;
        if (command) commands.push(command);
      },
    });
    base = await remote.commitFiles(
      {
        "README.md": "# app\n",
        "stacks/app/index.ts": "export const v = 1;\n",
        "stacks/app/Pulumi.test.yaml": "config: {}\n",
        "stacks/app/Pulumi.stage.yaml": "config: {}\n",
      },
      "base",
    );
    await remote.push("main");
    for (const branch of ["test", "stage"]) {
      await remote.switchBranch(branch, "main");
      await remote.push(branch);
    }
  });
  afterEach(() => {
    remote.cleanup();
  });

  describe("commitsBetween", () => {
    it("lists the commits in `to` and not in `from`, newest first; every ancestor without `from`", async () => {
      const a = await commitOn("test", { "stacks/app/index.ts": "export const v = 2;\n" }, "a");
      const b = await commitOn("test", { "README.md": "# app v2\n" }, "b");

      const commits = await git.commitsBetween(base, b);
      expect(commits.map((c) => c.sha)).toEqual([b, a]);
      expect(commits[0]).toMatchObject({ author: "Tidegate Test", message: "b" });
      expect((await git.commitsBetween(undefined, b)).map((c) => c.sha)).toEqual([b, a, base]);
      expect(await git.commitsBetween(b, a)).toEqual([]);
    });

    it("with paths and exclude, keeps only commits changing the program, not merges of the source", async () => {
      await commitOn("stage", { "stacks/app/Pulumi.stage.yaml": "config: {a: 1}\n" }, "stage config only");
      await commitOn("stage", { "README.md": "# stage\n" }, "outside the program");
      const testHead = await commitOn("test", { "stacks/app/other.ts": "export {};\n" }, "test program");
      // An earlier promotion: test merged into stage, which makes a merge commit on stage.
      await remote.switchBranch("stage");
      await remote.git("merge", "--quiet", "--no-ff", "-m", "promote test", "test");
      await remote.push("stage");

      expect(await git.commitsBetween(testHead, await remote.head("stage"), PROGRAM)).toEqual([]);

      const program = await commitOn("stage", { "stacks/app/index.ts": "export const v = 3;\n" }, "program");
      const ahead = await git.commitsBetween(testHead, program, PROGRAM);
      expect(ahead.map((c) => [c.sha, c.message])).toEqual([[program, "program"]]);
      // Exclude alone keeps every other path; ** reaches into any folder.
      const messages = (await git.commitsBetween(base, program, { exclude: ["**/Pulumi.*.yaml"] })).map(
        (c) => c.message,
      );
      expect(messages).toEqual(
        expect.arrayContaining(["program", "promote test", "outside the program", "test program"]),
      );
      expect(messages).not.toContain("stage config only");
      await expect(git.commitsBetween(base, program, { include: ["../x"] })).rejects.toThrow(/invalid path/);
    });
  });

  describe("merge", () => {
    it("fast-forwards when the target is behind, and push moves the remote branch", async () => {
      const source = await commitOn("test", { "stacks/app/index.ts": "export const v = 2;\n" }, "change");

      const result = await git.merge({
        target: "stage",
        source,
        dir: scratch(),
        identity: IDENTITY,
        message: "m",
      });

      expect(result).toEqual({ kind: "fast-forward", sha: source, targetHead: base });
      expect(gitIn(scratch(), "rev-parse", "HEAD")).toBe(source);
      await git.push(scratch(), "stage");
      expect(remoteHead("stage")).toBe(source);
      expect(commands.some((c) => c.includes("--force") || c.some((a) => a.startsWith("+HEAD")))).toBe(false);
    });

    it("makes a merge commit by the identity when both sides moved, and pushes it", async () => {
      const stageConfig = await commitOn(
        "stage",
        { "stacks/app/Pulumi.stage.yaml": "config: {a: 1}\n" },
        "s",
      );
      const source = await commitOn("test", { "stacks/app/index.ts": "export const v = 2;\n" }, "t");

      const result = await git.merge({
        target: "stage",
        source,
        dir: scratch(),
        identity: IDENTITY,
        message: "Promote test into stage\n\nPromoted-by: ada",
      });

      expect(result.kind).toBe("merge");
      if (result.kind !== "merge") return;
      expect(result.targetHead).toBe(stageConfig);
      expect(gitIn(scratch(), "log", "-1", "--format=%P|%an <%ae>|%cn|%B", result.sha)).toBe(
        `${stageConfig} ${source}|tidegate <tidegate@example.invalid>|tidegate|Promote test into stage\n\nPromoted-by: ada`,
      );
      expect(fs.readFileSync(path.join(scratch(), "stacks/app/index.ts"), "utf8")).toBe(
        "export const v = 2;\n",
      );
      expect(fs.readFileSync(path.join(scratch(), "stacks/app/Pulumi.stage.yaml"), "utf8")).toBe(
        "config: {a: 1}\n",
      );
      await git.push(scratch(), "stage");
      expect(remoteHead("stage")).toBe(result.sha);
    });

    it("reports a conflict with its files, aborts the merge and leaves the remote alone", async () => {
      const stage = await commitOn("stage", { "README.md": "# stage\n" }, "stage readme");
      const source = await commitOn("test", { "README.md": "# test\n", "x.txt": "x\n" }, "test readme");

      const result = await git.merge({
        target: "stage",
        source,
        dir: scratch(),
        identity: IDENTITY,
        message: "m",
      });

      expect(result).toEqual({ kind: "conflict", files: ["README.md"], targetHead: stage });
      expect(gitIn(scratch(), "rev-parse", "HEAD")).toBe(stage);
      expect(gitIn(scratch(), "status", "--porcelain")).toBe("");
      expect(remoteHead("stage")).toBe(stage);
      expect(commands.some((c) => c[0] === "push")).toBe(false);
    });

    it("is up to date when the source is already in the target", async () => {
      const source = await commitOn("test", { "a.txt": "a\n" }, "a");
      await remote.switchBranch("stage");
      await remote.git("merge", "--quiet", "--ff-only", "test");
      const stage = await remote.commitFile("b.txt", "b\n", "b");
      await remote.push("stage");

      const result = await git.merge({
        target: "stage",
        source,
        dir: scratch(),
        identity: IDENTITY,
        message: "m",
      });

      expect(result).toEqual({ kind: "up-to-date", sha: stage, targetHead: stage });
    });

    it("replaces an earlier scratch worktree of its own, but refuses a folder it did not make", async () => {
      const source = await commitOn("test", { "a.txt": "a\n" }, "a");
      await git.merge({ target: "stage", source, dir: scratch(), identity: IDENTITY, message: "m" });
      expect(
        (await git.merge({ target: "stage", source, dir: scratch(), identity: IDENTITY, message: "m" })).kind,
      ).toBe("fast-forward");

      const foreign = scratch("foreign");
      fs.mkdirSync(foreign, { recursive: true });
      fs.writeFileSync(path.join(foreign, "mine.txt"), "mine\n");
      await expect(
        git.merge({ target: "stage", source, dir: foreign, identity: IDENTITY, message: "m" }),
      ).rejects.toThrow(/not a checkout made by tidegate/);
      expect(fs.readFileSync(path.join(foreign, "mine.txt"), "utf8")).toBe("mine\n");
      await expect(git.push(foreign, "stage")).rejects.toThrow(/not a worktree made by tidegate/);
      await expect(
        git.merge({
          target: "stage",
          source,
          dir: scratch(),
          identity: { name: "x>", email: "e" },
          message: "m",
        }),
      ).rejects.toThrow(/invalid identity/);
    });
  });

  describe("push", () => {
    it("is rejected, never forced, when the branch moved on the remote meanwhile", async () => {
      const stageOwn = await commitOn("stage", { "b.txt": "b\n" }, "stage own");
      const source = await commitOn("test", { "a.txt": "a\n" }, "a");
      const result = await git.merge({
        target: "stage",
        source,
        dir: scratch(),
        identity: IDENTITY,
        message: "m",
      });
      expect(result).toMatchObject({ kind: "merge", targetHead: stageOwn });
      // Somebody pushes to stage between our merge and our push.
      const moved = await commitOn("stage", { "c.txt": "c\n" }, "meanwhile");

      const error = await git.push(scratch(), "stage").catch((e: unknown) => e);

      expect(error).toBeInstanceOf(PushRejectedError);
      expect(error).toMatchObject({ branch: "stage", moved: true });
      expect((error as Error).message).toMatch(/moved on the remote meanwhile.*nothing was pushed/);
      expect(remoteHead("stage")).toBe(moved);
      const push = commands.find((c) => c[0] === "push");
      expect(push).toEqual(["push", "--porcelain", remote.url, "HEAD:refs/heads/stage"]);
    });

    it("reports the remote's own refusal (a hook) as a rejection that is not a move", async () => {
      const source = await commitOn("test", { "a.txt": "a\n" }, "a");
      await git.merge({ target: "stage", source, dir: scratch(), identity: IDENTITY, message: "m" });
      const hook = path.join(remote.remoteDir, "hooks", "pre-receive");
      fs.writeFileSync(hook, "#!/bin/sh\necho 'stage is protected' >&2\nexit 1\n", { mode: 0o755 });

      const error = await git.push(scratch(), "stage").catch((e: unknown) => e);

      expect(error).toBeInstanceOf(PushRejectedError);
      expect(error).toMatchObject({ moved: false, reason: "pre-receive hook declined" });
      expect(remoteHead("stage")).toBe(base);
    });

    it("fails with a GitError, not a rejection, when the remote is unreachable", async () => {
      const source = await commitOn("test", { "a.txt": "a\n" }, "a");
      await git.merge({ target: "stage", source, dir: scratch(), identity: IDENTITY, message: "m" });
      fs.renameSync(remote.remoteDir, `${remote.remoteDir}.gone`);

      const error = await git.push(scratch(), "stage").catch((e: unknown) => e);

      expect(error).toBeInstanceOf(GitError);
      expect(error).not.toBeInstanceOf(PushRejectedError);
    });
  });
});
