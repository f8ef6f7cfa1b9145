import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface Author {
  name: string;
  email: string;
  /** Any date Git accepts, e.g. "2024-05-01T12:00:00Z"; default now. */
  date?: string;
}

export const DEFAULT_AUTHOR: Author = { name: "Tidegate Test", email: "test@tidegate.invalid" };

/**
 * A throwaway Git remote: a bare repository (what tidegate watches) and a work clone to commit from,
 * in one temporary folder. The work clone starts on `initialBranch` with no commits; commits go on
 * whatever branch it has checked out, and reach the remote only through `push` / `forcePush`.
 */
export interface GitRemoteFixture {
  /** The remote, as tidegate is given it: the bare repository's path. */
  url: string;
  remoteDir: string;
  workDir: string;
  /** The temporary folder holding both; free for the test's own files (mirrors, checkouts). */
  root: string;
  /** Runs git in the work clone and returns its trimmed stdout. */
  git(...args: string[]): Promise<string>;
  /** Writes files (creating folders) and commits them on the current branch; returns the new sha. */
  commitFiles(files: Record<string, string>, message: string, author?: Author): Promise<string>;
  /** `commitFiles` for one file. */
  commitFile(file: string, content: string, message: string, author?: Author): Promise<string>;
  /** Removes files and commits; returns the new sha. */
  removeFiles(files: string[], message: string): Promise<string>;
  /** Switches the work clone to `branch`, creating it from the current commit (or `from`) if needed. */
  switchBranch(branch: string, from?: string): Promise<void>;
  /** The sha a branch (default: the current one) points at in the work clone. */
  head(branch?: string): Promise<string>;
  /** Pushes the local branch to the remote, as a normal (fast-forward) push. */
  push(branch: string): Promise<void>;
  /** Points the remote branch at `sha` whatever it held, like `git push --force`. */
  forcePush(branch: string, sha: string): Promise<void>;
  /** Deletes the branch on the remote (the work clone keeps its local branch). */
  deleteBranch(branch: string): Promise<void>;
  /** Removes the temporary folder. */
  cleanup(): void;
}

/**
 * Creates a remote and a work clone in a temporary folder. Git runs isolated from the machine's
 * configuration (no global or system config, no inherited GIT_* variables); the identity is set in
 * the work clone's own config.
 */
export async function createGitRemote(options: { initialBranch?: string } = {}): Promise<GitRemoteFixture> {
  const initialBranch = options.initialBranch ?? "main";
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-git-"));
  const remoteDir = path.join(root, "remote.git");
  const workDir = path.join(root, "work");

  const run = async (cwd: string, args: string[], extraEnv: Record<string, string> = {}): Promise<string> => {
    const { stdout } = await execFileAsync("git", args, { cwd, env: { ...isolatedEnv(), ...extraEnv } });
    return stdout.trim();
  };
  const git = (...args: string[]): Promise<string> => run(workDir, args);

  await run(root, ["init", "--quiet", "--bare", `--initial-branch=${initialBranch}`, remoteDir]);
  await run(root, ["init", "--quiet", `--initial-branch=${initialBranch}`, workDir]);
  await git("config", "user.name", DEFAULT_AUTHOR.name);
  await git("config", "user.email", DEFAULT_AUTHOR.email);
  await git("config", "commit.gpgsign", "false");
  await git("remote", "add", "origin", remoteDir);

  const commit = async (message: string, author: Author | undefined): Promise<string> => {
    const who = author ?? DEFAULT_AUTHOR;
    const dateEnv: Record<string, string> = who.date
      ? { GIT_AUTHOR_DATE: who.date, GIT_COMMITTER_DATE: who.date }
      : {};
    await run(
      workDir,
      ["commit", "--quiet", "--allow-empty", `--author=${who.name} <${who.email}>`, "-m", message],
      dateEnv,
    );
    return git("rev-parse", "HEAD");
  };

  const fixture: GitRemoteFixture = {
    url: remoteDir,
    remoteDir,
    workDir,
    root,
    git,
    async commitFiles(files, message, author) {
      for (const [file, content] of Object.entries(files)) {
        const target = path.join(workDir, file);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, content);
      }
      await git("add", "--", ...Object.keys(files));
      return commit(message, author);
    },
    commitFile(file, content, message, author) {
      return fixture.commitFiles({ [file]: content }, message, author);
    },
    async removeFiles(files, message) {
      await git("rm", "--quiet", "--", ...files);
      return commit(message, undefined);
    },
    async switchBranch(branch, from) {
      const exists = await run(workDir, ["branch", "--list", branch]);
      if (exists) await git("switch", "--quiet", branch);
      else await git("switch", "--quiet", "-c", branch, ...(from ? [from] : []));
    },
    head(branch) {
      return git("rev-parse", branch ?? "HEAD");
    },
    async push(branch) {
      await git("push", "--quiet", "origin", `refs/heads/${branch}:refs/heads/${branch}`);
    },
    async forcePush(branch, sha) {
      await git("push", "--quiet", "--force", "origin", `${sha}:refs/heads/${branch}`);
    },
    async deleteBranch(branch) {
      await git("push", "--quiet", "origin", "--delete", branch);
    },
    cleanup() {
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** The process environment without GIT_* variables, and with no global or system Git config. */
function isolatedEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^GIT_/i.test(key)));
  return { ...env, GIT_CONFIG_GLOBAL: os.devNull, GIT_CONFIG_NOSYSTEM: "1", LC_ALL: "C" };
}
