import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BranchNotFoundError, CommitNotFoundError, GitError } from "../../../src/adapters/git/errors";
import { SimpleGitAdapter } from "../../../src/adapters/git/simple-git";
import { createGitRemote, type GitRemoteFixture } from "../../helpers/git";

interface LogLine {
  entry: Record<string, unknown>;
  message: string;
}

// Real repositories in a temporary folder: a bare remote, a work clone to commit from, and the
// adapter's own mirror and checkouts beside them.
describe("SimpleGitAdapter", () => {
  let remote: GitRemoteFixture;
  let lines: LogLine[];
  let git: SimpleGitAdapter;

  const mirrorDir = (): string => path.join(remote.root, "mirror");
  const workspace = (name: string): string => path.join(remote.root, "workspaces", name);
  const adapter = (url = remote.url): SimpleGitAdapter =>
    new SimpleGitAdapter({
      url,
      mirrorDir: mirrorDir(),
      log: (entry, message) => lines.push({ entry: entry as Record<string, unknown>, message }),
    });
  const gitCommands = (command: string): number => lines.filter((l) => l.entry.git === command).length;
  const headOf = (dir: string): string =>
    execFileSync("git", ["rev-parse", "HEAD"], { cwd: dir, encoding: "utf8" }).trim();
  const read = (dir: string, file: string): string => fs.readFileSync(path.join(dir, file), "utf8");

  beforeEach(async () => {
    remote = await createGitRemote();
    lines = [];
    git = adapter();
  });
  afterEach(() => {
    remote.cleanup();
  });

  describe("heads", () => {
    it("returns the branches that exist and omits the others, without fetching", async () => {
      const main = await remote.commitFile("Pulumi.yaml", "name: app\n", "first");
      await remote.push("main");
      await remote.switchBranch("test");
      const test = await remote.commitFile("Pulumi.test.yaml", "config: {}\n", "test config");
      await remote.push("test");

      expect(await git.heads(["main", "test", "prod"])).toEqual({ main, test });
      expect(await git.heads([])).toEqual({});
      expect(gitCommands("fetch")).toBe(0);
    });

    it("answers the polls of one tick with one ls-remote of every branch, and never a head older than the tick", async () => {
      await remote.commitFile("Pulumi.yaml", "name: app\n", "first");
      await remote.push("main");
      const branches = ["dev", "test", "stage", "prod"];
      const first = new Map<string, string>();
      for (const branch of branches) {
        await remote.switchBranch(branch, "main");
        first.set(branch, await remote.commitFile(`Pulumi.${branch}.yaml`, "config: {}\n", branch));
        await remote.push(branch);
      }
      const tick = new Date();
      const polls = await Promise.all(branches.map((b) => git.heads([b, "main"], { notBefore: tick })));
      polls.push(await git.heads(["prod"], { notBefore: tick }));
      expect(polls.map((heads) => heads.prod ?? heads.dev ?? heads.test ?? heads.stage)).toEqual([
        ...branches.map((b) => first.get(b)),
        first.get("prod"),
      ]);
      expect(gitCommands("ls-remote")).toBe(1);

      // A push, then the next tick: its polls see the new head.
      await remote.switchBranch("prod");
      const moved = await remote.commitFile("Pulumi.prod.yaml", "config: { a: 1 }\n", "moved");
      await remote.push("prod");
      const next = new Date();
      expect((await git.heads(["prod"], { notBefore: next })).prod).toBe(moved);
      expect((await git.heads(["dev"], { notBefore: next })).dev).toBe(first.get("dev"));
      expect(gitCommands("ls-remote")).toBe(2);
    });
  });

  describe("checkout", () => {
    let first: string;
    let second: string;

    beforeEach(async () => {
      first = await remote.commitFiles(
        { "Pulumi.yaml": "name: app\n", "index.ts": "export const v = 1;\n", "old.txt": "gone soon\n" },
        "first",
      );
      await remote.removeFiles(["old.txt"], "drop old.txt");
      second = await remote.commitFile("index.ts", "export const v = 2;\n", "second");
      await remote.push("main");
    });

    it("checks out exactly the given sha, detached, even when the branch has moved on", async () => {
      const dir = workspace("test");
      await git.checkout("main", first, dir);

      expect(headOf(dir)).toBe(first);
      expect(read(dir, "index.ts")).toBe("export const v = 1;\n");
      expect(read(dir, "old.txt")).toBe("gone soon\n");
      expect(execFileSync("git", ["branch", "--show-current"], { cwd: dir, encoding: "utf8" }).trim()).toBe(
        "",
      );
    });

    it("does no fetch and no checkout when the directory is already at the sha", async () => {
      const dir = workspace("test");
      await git.checkout("main", first, dir);
      expect(gitCommands("fetch")).toBe(1);

      lines = [];
      await git.checkout("main", first, dir);
      expect(gitCommands("fetch")).toBe(0);
      expect(gitCommands("checkout")).toBe(0);
      expect(gitCommands("worktree")).toBe(0);
      expect(lines.map((l) => l.message)).toContain("checkout already at the commit");
    });

    it("moves to a newer sha: files follow the commit, stray files go, node_modules stays", async () => {
      const dir = workspace("test");
      await git.checkout("main", first, dir);
      fs.mkdirSync(path.join(dir, "node_modules", "left-pad"), { recursive: true });
      fs.writeFileSync(path.join(dir, "node_modules", "left-pad", "index.js"), "cached\n");
      fs.mkdirSync(path.join(dir, "stacks", "aws", "node_modules"), { recursive: true });
      fs.writeFileSync(path.join(dir, "stacks", "aws", "node_modules", "dep.js"), "cached\n");
      fs.writeFileSync(path.join(dir, "stray.txt"), "left by a previous run\n");
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: edited-in-place\n");

      await git.checkout("main", second, dir);

      expect(headOf(dir)).toBe(second);
      expect(read(dir, "index.ts")).toBe("export const v = 2;\n");
      expect(read(dir, "Pulumi.yaml")).toBe("name: app\n");
      expect(fs.existsSync(path.join(dir, "old.txt"))).toBe(false);
      expect(fs.existsSync(path.join(dir, "stray.txt"))).toBe(false);
      expect(read(dir, "node_modules/left-pad/index.js")).toBe("cached\n");
      expect(read(dir, "stacks/aws/node_modules/dep.js")).toBe("cached\n");
    });

    it("gives each environment its own directory from one mirror, concurrently", async () => {
      await remote.switchBranch("stage", first);
      const stage = await remote.commitFile("Pulumi.stage.yaml", "config: {}\n", "stage config");
      await remote.push("stage");
      // A second adapter on the same mirror, as two environments of one engine might hold.
      const other = adapter();

      await Promise.all([
        git.checkout("main", second, workspace("test")),
        other.checkout("stage", stage, workspace("stage")),
      ]);

      expect(headOf(workspace("test"))).toBe(second);
      expect(headOf(workspace("stage"))).toBe(stage);
      expect(fs.existsSync(path.join(workspace("test"), "Pulumi.stage.yaml"))).toBe(false);
    });

    it("lets processes on one host create one new mirror at once (replicas sharing the config mirror)", async () => {
      fs.rmSync(mirrorDir(), { recursive: true, force: true });
      const script = [
        `import { SimpleGitAdapter } from ${JSON.stringify(path.resolve(__dirname, "../../../src/adapters/git/simple-git.ts"))};`,
        "const git = new SimpleGitAdapter({ url: process.argv[1], mirrorDir: process.argv[2] });",
        'git.fetch("main").then((sha) => console.log(sha), (err) => { console.error(err.message); process.exit(1); });',
      ].join("\n");
      const runs = await Promise.all(
        [1, 2, 3, 4].map(
          () =>
            new Promise<{ code: number | null; out: string }>((resolve) => {
              const child = spawn(
                process.execPath,
                ["--import", "tsx", "--input-type=module", "-e", script, remote.url, mirrorDir()],
                { stdio: ["ignore", "pipe", "pipe"] },
              );
              let out = "";
              child.stdout.on("data", (d: Buffer) => (out += d.toString()));
              child.stderr.on("data", (d: Buffer) => (out += d.toString()));
              child.on("exit", (code) => resolve({ code, out }));
            }),
        ),
      );
      const head = (await remote.git("rev-parse", "main")).trim();
      expect(runs).toEqual(runs.map(() => ({ code: 0, out: `${head}\n` })));
      expect(fs.readdirSync(remote.root).filter((name) => name.startsWith("mirror.new-"))).toEqual([]);
    });

    it("rebuilds a checkout whose mirror was deleted", async () => {
      const dir = workspace("test");
      await git.checkout("main", first, dir);
      fs.rmSync(mirrorDir(), { recursive: true, force: true });

      await adapter().checkout("main", second, dir);

      expect(headOf(dir)).toBe(second);
    });

    it("refuses a directory it did not make, such as a user's clone, and leaves it alone", async () => {
      const before = await remote.head();
      fs.writeFileSync(path.join(remote.workDir, "uncommitted.txt"), "mine\n");

      await expect(git.checkout("main", first, remote.workDir)).rejects.toThrow(
        /not a checkout made by tidegate/,
      );

      expect(await remote.head()).toBe(before);
      expect(read(remote.workDir, "uncommitted.txt")).toBe("mine\n");
    });

    it("refuses abbreviated shas and option-like branch names before running Git", async () => {
      await expect(git.checkout("main", first.slice(0, 7), workspace("test"))).rejects.toThrow(
        /invalid commit .*full commit sha/,
      );
      await expect(git.checkout("--upload-pack=evil", first, workspace("test"))).rejects.toThrow(
        /invalid branch/,
      );
      expect(lines).toEqual([]);
    });
  });

  describe("commit", () => {
    it("returns the author, email, ISO date and full message", async () => {
      const sha = await remote.commitFile("a.txt", "a\n", "Add a\n\nWhy: because.\nRefs: #42", {
        name: "Ada Lovelace",
        email: "ada@example.com",
        date: "2024-05-01T12:34:56+02:00",
      });
      await remote.push("main");
      await git.fetch("main");

      expect(await git.commit(sha)).toEqual({
        sha,
        author: "Ada Lovelace",
        authorEmail: "ada@example.com",
        date: "2024-05-01T10:34:56.000Z",
        message: "Add a\n\nWhy: because.\nRefs: #42",
      });
    });

    it("fetches a commit the mirror has not seen yet, and reports one the remote lacks", async () => {
      const sha = await remote.commitFile("a.txt", "a\n", "never fetched by the adapter");
      await remote.push("main");

      expect((await git.commit(sha)).sha).toBe(sha);
      await expect(git.commit("0".repeat(40))).rejects.toBeInstanceOf(CommitNotFoundError);
    });
  });

  describe("a force-push that rewrites history", () => {
    it("isAncestor tells the rewrite apart from a fast-forward; the dropped commit is no longer on the branch", async () => {
      const base = await remote.commitFile("a.txt", "1\n", "base");
      const dropped = await remote.commitFile("a.txt", "2\n", "will be rewritten");
      await remote.push("main");
      await git.checkout("main", dropped, workspace("test"));

      await remote.git("reset", "--quiet", "--hard", base);
      const rewritten = await remote.commitFile("a.txt", "3\n", "rewritten");
      await remote.forcePush("main", rewritten);

      expect(await git.isAncestor(base, dropped)).toBe(true);
      expect(await git.isAncestor(dropped, dropped)).toBe(true);
      expect(await git.isAncestor(dropped, rewritten)).toBe(false);
      expect(await git.isAncestor(base, rewritten)).toBe(true);

      const error = await git.checkout("main", dropped, workspace("other")).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CommitNotFoundError);
      expect(error).toMatchObject({ sha: dropped, branch: "main" });
    });
  });

  describe("a deleted branch", () => {
    it("is absent from heads, and checkout and fetch fail with BranchNotFoundError", async () => {
      await remote.commitFile("a.txt", "a\n", "main");
      await remote.push("main");
      await remote.switchBranch("feature");
      const sha = await remote.commitFile("b.txt", "b\n", "feature work");
      await remote.push("feature");
      await git.checkout("feature", sha, workspace("feature"));

      await remote.deleteBranch("feature");

      expect(Object.keys(await git.heads(["main", "feature"]))).toEqual(["main"]);
      const error = await git.checkout("feature", sha, workspace("again")).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BranchNotFoundError);
      expect(error).toMatchObject({ branch: "feature" });
      await expect(git.fetch("feature")).rejects.toBeInstanceOf(BranchNotFoundError);
    });
  });

  describe("treeHash", () => {
    it("ignores an excluded stack config and sees everything else", async () => {
      const program = { "Pulumi.yaml": "name: app\n", "stacks/aws/index.ts": "export {};\n" };
      const a = await remote.commitFiles({ ...program, "Pulumi.test.yaml": "config: {a: 1}\n" }, "a");
      const b = await remote.commitFile("Pulumi.test.yaml", "config: {a: 2}\n", "b: config only");
      const c = await remote.commitFile("stacks/aws/index.ts", "export const x = 1;\n", "c: program");
      await remote.push("main");
      const withoutConfig = { exclude: ["Pulumi.test.yaml"] };

      expect(await git.treeHash(a, withoutConfig)).toBe(await git.treeHash(b, withoutConfig));
      expect(await git.treeHash(a)).not.toBe(await git.treeHash(b));
      expect(await git.treeHash(b, withoutConfig)).not.toBe(await git.treeHash(c, withoutConfig));
      expect(await git.treeHash(a, { exclude: ["**/Pulumi.*.yaml"] })).toBe(
        await git.treeHash(b, { exclude: ["**/Pulumi.*.yaml"] }),
      );
      // Only the folder: the program change in c counts, the config change in b does not.
      expect(await git.treeHash(a, { include: ["stacks/aws"] })).toBe(
        await git.treeHash(b, { include: ["stacks/aws"] }),
      );
      expect(await git.treeHash(b, { include: ["stacks/aws"] })).not.toBe(
        await git.treeHash(c, { include: ["stacks/aws"] }),
      );
    });
  });

  describe("lastFetched", () => {
    it("says where a branch was at the last fetch, and never fetches", async () => {
      const first = await remote.commitFile("environments/test.yaml", "branch: test\n", "first");
      await remote.push("main");
      expect(await git.lastFetched("main")).toBeUndefined(); // no mirror yet
      expect(await git.fetch("main")).toBe(first);

      await remote.commitFile("environments/prod.yaml", "branch: prod\n", "second");
      await remote.push("main");
      expect(await git.lastFetched("main")).toBe(first);
      expect(await git.lastFetched("gone")).toBeUndefined();
      expect(gitCommands("fetch")).toBe(1);
    });
  });

  describe("readFiles", () => {
    it("reads a folder or one file at a commit, without a checkout", async () => {
      const old = await remote.commitFiles(
        {
          "environments/test.yaml": "branch: test\n",
          "environments/prod.yaml": "branch: prod # Zürich — 東京\n",
        },
        "environments",
      );
      const current = await remote.commitFiles(
        { "environments/test.yaml": "branch: test\nsync: auto\n", "README.md": "# app\n" },
        "auto-sync test",
      );
      await remote.push("main");

      expect(await git.readFiles(current, "environments")).toEqual([
        { file: "environments/prod.yaml", text: "branch: prod # Zürich — 東京\n" },
        { file: "environments/test.yaml", text: "branch: test\nsync: auto\n" },
      ]);
      expect(await git.readFiles(old, "environments/test.yaml")).toEqual([
        { file: "environments/test.yaml", text: "branch: test\n" },
      ]);
      expect(await git.readFiles(current, "missing")).toEqual([]);
      expect(await git.readFiles(current, "environments/")).toHaveLength(2);
      await expect(git.readFiles(current, "../etc")).rejects.toThrow(/invalid path/);
    });
  });

  describe("changedPaths", () => {
    it("lists added, modified, deleted and both sides of a renamed path", async () => {
      const from = await remote.commitFiles({ "a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n" }, "from");
      await remote.commitFile("a.txt", "a2\n", "modify a");
      await remote.removeFiles(["b.txt"], "delete b");
      await remote.git("mv", "c.txt", "d.txt");
      const to = await remote.commitFile("e/f.txt", "f\n", "rename c, add e/f");
      await remote.push("main");

      expect((await git.changedPaths(from, to)).sort()).toEqual([
        "a.txt",
        "b.txt",
        "c.txt",
        "d.txt",
        "e/f.txt",
      ]);
      expect(await git.changedPaths(to, to)).toEqual([]);
    });
  });

  describe("credentials in the URL", () => {
    const url = "https://user:secret-token@127.0.0.1:1/x.git";

    it("never appear in errors, their causes or the log", async () => {
      const leaky = adapter(url);
      const errors = [
        await leaky.heads(["main"]).catch((e: unknown) => e),
        await leaky.checkout("main", "a".repeat(40), workspace("test")).catch((e: unknown) => e),
      ];

      for (const error of errors) {
        expect(error).toBeInstanceOf(GitError);
        const gitError = error as GitError;
        expect(gitError.message).toContain("https://***@127.0.0.1:1/x.git");
        const seen = [
          gitError.message,
          gitError.stack,
          gitError.stderr,
          JSON.stringify(gitError.command),
          String(gitError.cause),
          (gitError.cause as Error).stack,
        ].join("\n");
        expect(seen).not.toContain("secret-token");
      }
      expect(JSON.stringify(lines)).not.toContain("secret-token");
      expect(lines.some((l) => l.message === "git failed")).toBe(true);
      expect(fs.readFileSync(path.join(mirrorDir(), "config"), "utf8")).not.toContain("secret-token");
    });
  });
});
