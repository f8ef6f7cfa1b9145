import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { GitPluginError, simpleGit, type SimpleGitOptions } from "simple-git";
import { type GitTimeouts, type RepositoryToken, resolveGitTimeouts } from "../../config/resolve";
import { redactUrl } from "../../config/url";
import type { CommitInfo } from "../../domain/model";
import { formatDuration } from "../../gates/duration";
import { withCredentialHelper } from "./credential-server";
import { type GitCredentials, readToken, splitUrlCredentials } from "./credentials";
import {
  AuthenticationError,
  BranchNotFoundError,
  CommitNotFoundError,
  GitError,
  GitInputError,
  GitTimeoutError,
  PushRejectedError,
  RemoteClosedError,
  type RemoteOperation,
} from "./errors";
import { KeyedLocks } from "./locks";
import {
  COMMIT_FORMAT,
  isAuthenticationFailure,
  isBranchName,
  isMissingRemoteRef,
  isObjectId,
  parseCommit,
  parseCommits,
  parseLsRemote,
  parseLsTree,
  parseNameList,
  parsePushStatus,
} from "./output";
import {
  digestEntries,
  globPathspecs,
  normalizePath,
  type PathSelection,
  selectPaths,
  type TreeEntry,
} from "./paths";
import type {
  BranchHeads,
  GitIdentity,
  GitPort,
  HeadsOptions,
  MergeOptions,
  MergeResult,
  RepoFile,
} from "./port";
import { runGitProcess, type GitProcessResult } from "./process";
import { SharedHeads } from "./shared-heads";
import { envSecrets, redactor, urlSecrets, withoutCredentials, type Redact } from "./redact";
import {
  httpConfig,
  noAnswerMs,
  remoteClosedIn,
  sshCommand,
  timeoutIn,
  timeoutWhat,
  type Transport,
  transportOf,
  withoutProgress,
} from "./transport";
import { inspectWorkspace } from "./workspace";

export interface SimpleGitAdapterOptions {
  /**
   * The remote: `https://`, `ssh://`, `user@host:path` or a local path. Credentials in an http(s)
   * URL reach Git only through tidegate's credential helper, never a command line, config file or
   * environment, and never logs or errors.
   */
  url: string;
  /** Where the token comes from when it is not in the URL (repository.tokenEnv / tokenFile). */
  token?: RepositoryToken;
  /** The bare mirror of the remote, created on first use; one folder per repository. */
  mirrorDir: string;
  /** Receives one redacted entry per Git command, and the adapter's notable steps. */
  log?: (entry: object, message: string) => void;
  /**
   * Extra environment for Git, for credentials: e.g. `GIT_ASKPASS`, `GIT_SSH_COMMAND`, or
   * `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_0`/`GIT_CONFIG_VALUE_0` for an `http.extraHeader`.
   * Secret-looking values are redacted like the URL's credentials.
   */
  env?: Record<string, string>;
  /** A local Git command that prints nothing for this long is killed. Default 10 minutes. */
  timeoutMs?: number;
  /**
   * Limits on Git calls to the remote (repository.timeouts); default: tidegate.yaml's defaults.
   * Each one that fires is a `GitTimeoutError`.
   */
  timeouts?: GitTimeouts;
}

export interface GitRun {
  stdout: string;
  /** Redacted. */
  stderr: string;
  exitCode: number;
}

// Mirrors and checkouts are folders, shared by whoever names them: two adapters (or two engines in
// one test) on the same path must queue behind each other, so the lock table is per process, keyed
// by resolved path. It holds no state between operations, so nothing ever needs resetting.
const pathLocks = new KeyedLocks();

// simple-git drops these from the inherited environment (or refuses them when passed explicitly)
// unless they are allowed: Git's own variables and a few that name programs to run.
const GUARDED_ENV = /^(?:git_.*|editor|visual|pager|prefix|ssh_askpass)$/i;

// Credential mechanisms an operator may pass in `env`, and the simple-git switch each one needs.
const UNSAFE_FOR_ENV: Record<string, keyof NonNullable<SimpleGitOptions["unsafe"]>> = {
  GIT_ASKPASS: "allowUnsafeAskPass",
  SSH_ASKPASS: "allowUnsafeAskPass",
  GIT_SSH: "allowUnsafeSshCommand",
  GIT_SSH_COMMAND: "allowUnsafeSshCommand",
  GIT_CONFIG_COUNT: "allowUnsafeConfigEnvCount",
};

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
/**
 * How long a commit found in the mirror is taken to be there still. A check asks for its head and
 * deployed commit five times over, a Git process each; only gc removes a commit, and only one
 * unreachable for two weeks (gc.pruneExpire), so a short trust costs nothing in safety.
 */
const COMMIT_SEEN_MS = 10 * 60_000;

/**
 * The Git port on the Git CLI through simple-git. One bare mirror per repository, filled one branch
 * at a time (`git fetch <url> +refs/heads/<b>:refs/heads/<b>`); each checkout is a detached
 * worktree of the mirror, so every environment shares the objects but has its own files, index and
 * HEAD, and Git's gc keeps whatever a worktree has checked out.
 *
 * The mirror is made with `git init --bare` rather than `git clone --mirror`: the URL is passed on
 * each fetch and never written to the mirror's config. Git only ever sees the URL without
 * credentials; a token (the URL's, or tokenEnv / tokenFile) reaches it through tidegate's
 * credential helper (credential-server.ts), so it is on no command line and in no child's env.
 */
export class SimpleGitAdapter implements GitPort {
  /** As configured: may hold credentials, so it is never passed to Git. */
  private readonly url: string;
  /** What Git is given: the URL without its http(s) credentials. */
  private readonly remoteUrl: string;
  /** The URL for messages: credentials masked. */
  private readonly shownUrl: string;
  private readonly urlCredentials?: GitCredentials;
  private readonly token?: RepositoryToken;
  /** Every secret seen so far (the URL's, the extra environment's, each token read): all masked. */
  private readonly secrets = new Set<string>();
  private readonly mirrorDir: string;
  private readonly redact: Redact;
  private readonly logEntry: (entry: object, message: string) => void;
  private readonly env: Record<string, string>;
  private readonly allowEnvironment: string[];
  private readonly unsafe: NonNullable<SimpleGitOptions["unsafe"]>;
  private readonly timeoutMs: number;
  /** Commits found in the mirror, and when (see COMMIT_SEEN_MS). */
  private readonly commitsSeen = new Map<string, number>();
  private readonly timeouts: GitTimeouts;
  private readonly transport: Transport;
  /** GIT_SSH_COMMAND with tidegate's limits; worked out at the first ssh call. */
  private sshEnv?: Record<string, string>;
  private mirrorChecked = false;
  /** The polls of one tick share one listing of every branch. */
  private readonly sharedHeads = new SharedHeads(async () => {
    await this.ensureMirror();
    return (await this.runRemote("ls-remote", ["ls-remote", "--heads", this.remoteUrl])).stdout;
  });

  constructor(options: SimpleGitAdapterOptions) {
    for (const secret of [...urlSecrets(options.url), ...envSecrets(options.env ?? {})])
      this.secrets.add(secret);
    this.redact = (text) => redactor(this.secrets)(text);
    if (options.url === "" || options.url.startsWith("-")) {
      throw new GitInputError("url", this.redact(options.url), "a repository URL or path");
    }
    this.url = options.url;
    const split = splitUrlCredentials(options.url);
    this.remoteUrl = split.url;
    this.urlCredentials = split.credentials;
    this.shownUrl = this.redact(redactUrl(options.url));
    this.token = options.token;
    if (this.urlCredentials !== undefined && this.token !== undefined) {
      throw new GitInputError("url", this.shownUrl, "credentials in the URL or a token source, not both");
    }
    const hidden = this.token?.source.kind === "env" ? this.token.source.name : undefined;
    this.mirrorDir = path.resolve(options.mirrorDir);
    this.logEntry = options.log ?? (() => {});
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.timeouts = options.timeouts ?? resolveGitTimeouts();
    this.transport = transportOf(this.remoteUrl);
    const extra = options.env ?? {};
    this.env = {
      ...Object.fromEntries(
        Object.entries(process.env).filter(
          (entry): entry is [string, string] =>
            // The token's own variable stays with tidegate: a child's environment is readable.
            entry[1] !== undefined && !GUARDED_ENV.test(entry[0]) && entry[0] !== hidden,
        ),
      ),
      // English messages: a missing branch is recognised by Git's wording.
      LC_ALL: "C",
      // A missing or wrong credential fails at once instead of waiting for a terminal.
      GIT_TERMINAL_PROMPT: "0",
      GCM_INTERACTIVE: "never",
      ...extra,
    };
    this.allowEnvironment = ["GIT_TERMINAL_PROMPT", ...Object.keys(extra)];
    this.unsafe = Object.fromEntries(
      Object.keys(extra)
        .filter((key) => Object.hasOwn(UNSAFE_FOR_ENV, key.toUpperCase()))
        .map((key) => [UNSAFE_FOR_ENV[key.toUpperCase()], true]),
    );
  }

  async heads(branches: string[], options: HeadsOptions = {}): Promise<BranchHeads> {
    branches.forEach(assertBranch);
    if (branches.length === 0) return {};
    if (options.notBefore !== undefined) return this.sharedHeads.heads(branches, options.notBefore);
    // Run inside the mirror so no enclosing repository's config applies.
    await this.ensureMirror();
    const { stdout } = await this.runRemote("ls-remote", [
      "ls-remote",
      "--heads",
      this.remoteUrl,
      ...branches.map((b) => `refs/heads/${b}`),
    ]);
    return parseLsRemote(stdout, branches);
  }

  async fetch(branch: string): Promise<string> {
    assertBranch(branch);
    await this.withMirror(() => this.fetchBranch(branch));
    const { stdout } = await this.run(["rev-parse", "--verify", `refs/heads/${branch}^{commit}`]);
    return stdout.trim();
  }

  /** Where `branch` was at this mirror's last fetch, touching no remote; undefined when never fetched here. */
  async lastFetched(branch: string): Promise<string | undefined> {
    assertBranch(branch);
    if (!fs.existsSync(path.join(this.mirrorDir, "HEAD"))) return undefined;
    await this.ensureMirror();
    const ref = `refs/heads/${branch}^{commit}`;
    const { stdout } = await this.run(["rev-parse", "--verify", "--quiet", ref], this.mirrorDir, [0, 1]);
    return stdout.trim() || undefined;
  }

  async checkout(branch: string, sha: string, dir: string): Promise<void> {
    assertBranch(branch);
    assertSha(sha);
    const target = path.resolve(dir);
    await pathLocks.run(target, async () => {
      await this.ensureMirror();
      const state = inspectWorkspace(target, this.mirrorDir);
      if (state.kind === "foreign") {
        throw new GitError(`${target} is not a checkout made by tidegate; refusing to touch it`);
      }
      if (state.kind === "worktree") {
        const head = (await this.run(["rev-parse", "HEAD"], target)).stdout.trim();
        if (head === sha) {
          this.logEntry({ dir: target, sha }, "checkout already at the commit");
          return;
        }
      }

      await this.withMirror(async () => {
        await this.fetchBranch(branch);
        await this.assertOnBranch(sha, branch);
        if (state.kind === "worktree") return;
        if (state.kind === "stale") {
          // Ours (its .git points into this mirror) but unknown to it: rebuild, losing only caches.
          this.logEntry({ dir: target }, "recreating a checkout the mirror no longer knows");
          fs.rmSync(target, { recursive: true, force: true });
        }
        await this.runQuiet(["worktree", "prune"], this.mirrorDir);
        await this.run(["worktree", "add", "--detach", target, sha]);
      });

      if (state.kind === "worktree") {
        await this.run(["checkout", "--detach", "--force", sha, "--"], target);
        // Keep node_modules at any depth: the dependency cache survives a new commit.
        await this.runQuiet(["clean", "-ffdx", "-e", "node_modules"], target);
      }
      this.logEntry({ dir: target, sha, branch }, "checked out");
    });
  }

  async commit(sha: string): Promise<CommitInfo> {
    await this.ensureCommits(sha);
    const { stdout } = await this.run([
      "log",
      "-1",
      "--no-show-signature",
      `--format=${COMMIT_FORMAT}`,
      sha,
      "--",
    ]);
    return parseCommit(stdout);
  }

  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    await this.ensureCommits(ancestor, descendant);
    const { exitCode } = await this.runQuiet(
      ["merge-base", "--is-ancestor", ancestor, descendant],
      this.mirrorDir,
      [0, 1],
    );
    return exitCode === 0;
  }

  async treeHash(sha: string, options: PathSelection = {}): Promise<string> {
    [...(options.include ?? []), ...(options.exclude ?? [])].forEach(normalizePath);
    await this.ensureCommits(sha);
    return digestEntries(selectPaths(await this.listTree(sha), options));
  }

  async readFiles(sha: string, dir: string): Promise<RepoFile[]> {
    const prefix = normalizePath(dir);
    await this.ensureCommits(sha);
    const entries = (await this.listTree(sha, prefix)).filter(
      // Regular and executable files; not symlinks (mode 120000) nor submodules (type commit).
      (e) => e.type === "blob" && e.mode !== "120000" && (prefix === "" || isUnder(e.path, prefix)),
    );
    // One `git cat-file --batch` for all of them: a process per file made 300 environments take seconds.
    const texts = await catBlobs(
      this.mirrorDir,
      entries.map((entry) => entry.oid),
    );
    const files = entries.map((entry, i) => ({ file: entry.path, text: texts[i] ?? "" }));
    return files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }

  async changedPaths(from: string, to: string): Promise<string[]> {
    await this.ensureCommits(from, to);
    const { stdout } = await this.run(["diff", "--name-only", "-z", "--no-renames", from, to, "--"]);
    return parseNameList(stdout);
  }

  async commitsBetween(
    from: string | undefined,
    to: string,
    filter: PathSelection = {},
  ): Promise<CommitInfo[]> {
    const pathspecs = [
      ...(filter.include ?? []).filter((p) => normalizePath(p) !== "").flatMap((p) => globPathspecs(p)),
      ...(filter.exclude ?? []).flatMap((p) => globPathspecs(p, { exclude: true })),
    ];
    await this.ensureCommits(...(from === undefined ? [] : [from]), to);
    const { stdout } = await this.run([
      "log",
      "-z",
      "--no-show-signature",
      // Newest first, and never a parent before its children, whatever the commit dates say.
      "--date-order",
      `--format=${COMMIT_FORMAT}`,
      to,
      ...(from === undefined ? [] : [`^${from}`]),
      "--",
      ...pathspecs,
    ]);
    return parseCommits(stdout);
  }

  async merge(options: MergeOptions): Promise<MergeResult> {
    const { target, source, identity, message } = options;
    assertBranch(target);
    assertSha(source);
    assertIdentity(identity);
    if (message.trim() === "") throw new GitInputError("message", message, "a non-empty merge message");
    const dir = path.resolve(options.dir);
    return pathLocks.run(dir, async () => {
      const targetHead = await this.withMirror(async () => {
        await this.fetchBranch(target);
        return (await this.run(["rev-parse", "--verify", `refs/heads/${target}^{commit}`])).stdout.trim();
      });
      await this.ensureCommits(source);

      const upToDate = await this.isAncestor(source, targetHead);
      const fastForward = !upToDate && (await this.isAncestor(targetHead, source));
      await this.addScratchWorktree(dir, fastForward ? source : targetHead);
      if (upToDate) return { kind: "up-to-date", sha: targetHead, targetHead };
      if (fastForward) return { kind: "fast-forward", sha: source, targetHead };

      // Settings of the machine's Git config that could change what a merge does are pinned here.
      const config = [
        `user.name=${identity.name}`,
        `user.email=${identity.email}`,
        "commit.gpgSign=false",
        "rerere.enabled=false",
      ];
      const merged = await this.run(
        ["merge", "--no-ff", "--no-edit", "--no-verify", "--no-log", "--no-stat", "-m", message, source],
        dir,
        [0, 1],
        config,
      );
      if (merged.exitCode === 0) {
        const sha = (await this.run(["rev-parse", "HEAD"], dir)).stdout.trim();
        this.logEntry({ dir, target, source, sha }, "merged");
        return { kind: "merge", sha, targetHead };
      }
      const files = parseNameList(
        (await this.run(["diff", "--name-only", "-z", "--diff-filter=U"], dir)).stdout,
      );
      await this.run(["merge", "--abort"], dir);
      if (files.length === 0) {
        throw new GitError(`git merge of ${source} into "${target}" failed: ${merged.stderr.trim()}`, {
          command: ["merge", source],
          exitCode: merged.exitCode,
          stderr: merged.stderr,
        });
      }
      this.logEntry({ dir, target, source, files }, "merge conflict; aborted");
      return { kind: "conflict", files, targetHead };
    });
  }

  async push(dir: string, branch: string): Promise<void> {
    assertBranch(branch);
    const worktree = path.resolve(dir);
    await pathLocks.run(worktree, async () => {
      await this.ensureMirror();
      if (inspectWorkspace(worktree, this.mirrorDir).kind !== "worktree") {
        throw new GitError(`${worktree} is not a worktree made by tidegate; refusing to push from it`);
      }
      // A plain refspec (no "+") and no --force: the remote accepts only a fast-forward.
      const refspec = `HEAD:refs/heads/${branch}`;
      const pushed = await this.runRemote(
        "push",
        ["push", "--porcelain", this.remoteUrl, refspec],
        worktree,
        [0, 1],
      );
      const status = parsePushStatus(pushed.stdout, branch);
      const details = {
        command: ["push", "--porcelain", this.shownUrl, refspec],
        exitCode: pushed.exitCode,
        stderr: pushed.stderr,
      };
      if (status?.flag === "!") {
        const reason = this.redact(status.reason ?? status.summary);
        throw new PushRejectedError(branch, reason, status.summary === "[rejected]", details);
      }
      if (pushed.exitCode !== 0 || status === undefined) {
        throw new GitError(`git push to branch "${branch}" failed: ${pushed.stderr.trim()}`, details);
      }
      this.logEntry({ dir: worktree, branch, status: status.summary }, "pushed");
    });
  }

  /** Makes `dir` a fresh detached worktree at `sha`, replacing one this adapter made there. */
  private async addScratchWorktree(dir: string, sha: string): Promise<void> {
    const state = inspectWorkspace(dir, this.mirrorDir);
    if (state.kind === "foreign") {
      throw new GitError(`${dir} is not a checkout made by tidegate; refusing to touch it`);
    }
    if (state.kind !== "absent") fs.rmSync(dir, { recursive: true, force: true });
    await this.withMirror(async () => {
      await this.runQuiet(["worktree", "prune"], this.mirrorDir);
      await this.run(["worktree", "add", "--detach", dir, sha]);
    });
  }

  /**
   * Runs a Git command that talks to the remote: with the credentials, when there are any, offered
   * by tidegate's credential helper; a refusal becomes an `AuthenticationError`. It runs within
   * the transport's limits and the operation's deadline; one that fires is a `GitTimeoutError`.
   */
  private async runRemote(
    operation: RemoteOperation,
    args: string[],
    cwd = this.mirrorDir,
    okExitCodes: number[] = [0],
  ): Promise<GitRun> {
    const credentials = this.credentials();
    const transport = await this.transportSettings();
    const remote = { operation, ...transport };
    try {
      if (credentials === undefined) return await this.run(args, cwd, okExitCodes, [], {}, remote);
      return await withCredentialHelper(this.remoteUrl, credentials, async (session) => {
        try {
          return await this.run(args, cwd, okExitCodes, session.config, session.env, remote);
        } catch (err) {
          // Git sent `erase`: it gave the credentials and the remote said no.
          if (session.rejected && err instanceof GitError) throw this.authenticationError(err);
          throw err;
        }
      });
    } catch (err) {
      if (
        err instanceof GitError &&
        !(err instanceof AuthenticationError) &&
        !(err instanceof GitTimeoutError) &&
        !(err instanceof RemoteClosedError) &&
        isAuthenticationFailure(err.stderr ?? "")
      ) {
        throw this.authenticationError(err);
      }
      throw err;
    }
  }

  /** The `-c` settings and environment that bound this remote's transport. */
  private async transportSettings(): Promise<{ config: string[]; env: Record<string, string> }> {
    if (this.transport === "http") return { config: httpConfig(this.timeouts), env: {} };
    if (this.transport !== "ssh") return { config: [], env: {} };
    if (this.sshEnv === undefined) {
      // The user's own ssh command keeps its options; tidegate's are appended. GIT_SSH names a
      // program, not a command line: nothing can be appended to it.
      const given = this.env.GIT_SSH_COMMAND;
      const configured =
        given ??
        (this.env.GIT_SSH === undefined
          ? (await this.run(["config", "--get", "core.sshCommand"], this.mirrorDir, [0, 1])).stdout.trim()
          : undefined);
      const command = configured === undefined ? undefined : sshCommand(this.timeouts, configured);
      if (command === undefined) {
        this.logEntry(
          { sshCommand: this.redact(configured ?? this.env.GIT_SSH ?? "") },
          "the configured ssh command is not OpenSSH's ssh: only the operation deadline bounds it",
        );
      }
      this.sshEnv = command === undefined ? {} : { GIT_SSH_COMMAND: command };
    }
    return { config: [], env: this.sshEnv };
  }

  private authenticationError(err: GitError): AuthenticationError {
    return new AuthenticationError(this.shownUrl, {
      cause: err,
      command: err.command,
      exitCode: err.exitCode,
      stderr: err.stderr,
    });
  }

  /** The credentials for this command: the URL's, or the token read now (a rotated file is picked up). */
  private credentials(): GitCredentials | undefined {
    if (this.token === undefined) return this.urlCredentials;
    const credentials = readToken(this.token);
    this.secrets.add(credentials.password);
    return credentials;
  }

  /**
   * Runs one Git command; `okExitCodes` are returned rather than thrown (e.g. 1 for "no"). `config`
   * is passed as `-c key=value` (kept out of the logged command line); `env` adds to Git's own.
   */
  private async run(
    args: string[],
    cwd = this.mirrorDir,
    okExitCodes: number[] = [0],
    config: string[] = [],
    env: Record<string, string> = {},
    remote?: RemoteCall,
  ): Promise<GitRun> {
    // The credential-less URL Git is given is shown as configured (credentials masked).
    const command = args.map((arg) => (arg === this.remoteUrl ? this.shownUrl : this.redact(arg)));
    if (remote !== undefined) return this.runBounded(args, command, cwd, okExitCodes, config, env, remote);
    const started = Date.now();
    let exitCode = -1;
    let stderr = "";
    try {
      const git = simpleGit({
        baseDir: cwd,
        config,
        trimmed: false,
        allowEnvironment: this.allowEnvironment,
        unsafe: config.some((c) => c.startsWith("credential.helper="))
          ? { ...this.unsafe, allowUnsafeCredentialHelper: true }
          : this.unsafe,
        timeout: { block: this.timeoutMs },
        errors: (error, result) => {
          exitCode = result.exitCode;
          stderr = Buffer.concat(result.stdErr).toString("utf8");
          if (okExitCodes.includes(result.exitCode) && !(error instanceof GitPluginError)) return undefined;
          return error ?? new Error(`exit code ${result.exitCode}`);
        },
      }).env({ ...this.env, ...env });
      const stdout = await git.raw(args);
      this.logEntry({ git: args[0], command, cwd, exitCode, ms: Date.now() - started }, "git");
      return { stdout, stderr: this.redact(stderr), exitCode };
    } catch (err) {
      const detail = this.redact(stderr.trim() || (err instanceof Error ? err.message : String(err)).trim());
      const error = new GitError(`git ${command.join(" ")} failed: ${detail}`, {
        command,
        exitCode: exitCode === -1 ? undefined : exitCode,
        stderr: this.redact(stderr),
        cause: this.scrub(err),
      });
      this.logEntry(
        { git: args[0], command, cwd, exitCode, ms: Date.now() - started, error: error.message },
        "git failed",
      );
      throw error;
    }
  }

  /**
   * A local command that prints nothing when it succeeds (`merge-base --is-ancestor`, `clean` with
   * nothing to remove). simple-git waits a fixed 50 ms after any process that printed nothing, for
   * output that could still come; these run where a check waits on them, three times a check.
   * Once the process has closed its pipes nothing more can come, so ours waits for that instead.
   */
  private async runQuiet(args: string[], cwd: string, okExitCodes: number[] = [0]): Promise<GitRun> {
    const command = args.map((arg) => this.redact(arg));
    const started = Date.now();
    const result = await runGitProcess(args, { cwd, env: this.env, deadlineMs: this.timeoutMs });
    const stderr = this.redact(result.stderr);
    const entry = {
      git: args[0],
      command,
      cwd,
      exitCode: result.exitCode ?? undefined,
      ms: Date.now() - started,
    };
    return this.settle(result, stderr, entry, okExitCodes, () => {
      const detail = stderr.trim() || outcomeOf(result);
      return new GitError(`git ${command.join(" ")} failed: ${detail}`, {
        command,
        exitCode: result.exitCode ?? undefined,
        stderr,
      });
    });
  }

  /** The run's output when it ended with one of `okExitCodes`; otherwise the error `failed` makes, logged. */
  private settle(
    result: GitProcessResult,
    stderr: string,
    entry: object,
    okExitCodes: number[],
    failed: () => GitError,
  ): GitRun {
    if (result.stopped === undefined && result.exitCode !== null && okExitCodes.includes(result.exitCode)) {
      this.logEntry(entry, "git");
      return { stdout: result.stdout, stderr, exitCode: result.exitCode };
    }
    const error = failed();
    this.logEntry({ ...entry, error: error.message }, "git failed");
    throw error;
  }

  /** A Git call to the remote, in a process group of its own, stopped at the operation's deadline. */
  private async runBounded(
    args: string[],
    command: string[],
    cwd: string,
    okExitCodes: number[],
    config: string[],
    env: Record<string, string>,
    remote: RemoteCall,
  ): Promise<GitRun> {
    const { operation } = remote;
    const deadlineMs = operation === "ls-remote" ? this.timeouts.lsRemoteMs : this.timeouts.operationMs;
    const started = Date.now();
    // A fetch or push prints progress from the remote's first answer on: silence from the start
    // means no answer. ls-remote prints nothing until done, and has a short deadline instead.
    const transfer = operation !== "ls-remote";
    const result = await runGitProcess(
      [
        ...[...remote.config, ...config].flatMap((c) => ["-c", c]),
        args[0],
        ...(transfer ? ["--progress"] : []),
        ...args.slice(1),
      ],
      {
        cwd,
        env: { ...this.env, ...remote.env, ...env },
        deadlineMs,
        firstOutputMs: transfer ? noAnswerMs(this.timeouts) : undefined,
      },
    );
    const stderr = this.redact(withoutProgress(result.stderr));
    const exitCode = result.exitCode ?? undefined;
    const entry = { git: args[0], command, cwd, exitCode, ms: Date.now() - started };
    return this.settle(result, stderr, entry, okExitCodes, () => {
      // What Git itself said, as the cause; its command line stays out of the message.
      const said = stderr.trim() === "" ? "" : `: ${stderr.trim()}`;
      const cause = new Error(`git ${args[0]}: ${outcomeOf(result)}${said}`);
      const details = { command, exitCode, stderr, cause };
      const limit = result.stopped ?? timeoutIn(stderr);
      if (limit !== undefined) {
        const limitMs = {
          deadline: deadlineMs,
          "no-answer": noAnswerMs(this.timeouts),
          connect: this.timeouts.connectMs,
          "low-speed": this.timeouts.lowSpeedMs,
        }[limit];
        const what = timeoutWhat(limit, this.transport, this.timeouts);
        return new GitTimeoutError(operation, this.shownUrl, limit, formatDuration(limitMs), what, details);
      }
      if (remoteClosedIn(stderr)) return new RemoteClosedError(operation, this.shownUrl, details);
      const detail = stderr.trim() || `exit code ${result.exitCode}`;
      return new GitError(`git ${command.join(" ")} failed: ${detail}`, { kind: "unavailable", ...details });
    });
  }

  /** A copy of an error carrying only redacted text: simple-git's own errors hold the raw command line. */
  private scrub(err: unknown): Error {
    if (!(err instanceof Error)) return new Error(this.redact(String(err)));
    const copy = new Error(this.redact(err.message));
    copy.name = err.name;
    copy.stack = err.stack === undefined ? undefined : this.redact(err.stack);
    return copy;
  }

  /** Runs `fn` holding the mirror's lock, with the mirror initialised. */
  private withMirror<T>(fn: () => Promise<T>): Promise<T> {
    return pathLocks.run(this.mirrorDir, async () => {
      await this.initMirror();
      return fn();
    });
  }

  private async ensureMirror(): Promise<void> {
    if (this.mirrorChecked && fs.existsSync(path.join(this.mirrorDir, "HEAD"))) return;
    await this.withMirror(async () => {});
  }

  /** Creates the mirror, or checks that the existing one mirrors this URL. Call holding the mirror's lock. */
  private async initMirror(): Promise<void> {
    const source = withoutCredentials(this.url);
    if (fs.existsSync(path.join(this.mirrorDir, "HEAD"))) {
      if (this.mirrorChecked) return;
      const { stdout } = await this.run(["config", "--get", "tidegate.url"], this.mirrorDir, [0, 1]);
      if (stdout.trim() !== source) {
        throw new GitError(
          `${this.mirrorDir} mirrors ${this.redact(stdout.trim()) || "an unknown repository"}, not ${this.redact(source)}`,
        );
      }
      this.mirrorChecked = true;
      return;
    }
    if (fs.existsSync(this.mirrorDir) && fs.readdirSync(this.mirrorDir).length > 0) {
      throw new GitError(`${this.mirrorDir} is neither empty nor a Git mirror; refusing to use it`);
    }
    // Built beside it and renamed into place: another process on this host (a second replica
    // sharing the config mirror) sees no mirror or a whole one, never one without its URL yet.
    // A new mirror has none of the commits an earlier one was seen with.
    this.commitsSeen.clear();
    const staging = `${this.mirrorDir}.new-${process.pid}-${randomUUID().slice(0, 8)}`;
    fs.mkdirSync(staging, { recursive: true });
    try {
      await this.run(["init", "--bare", "--quiet"], staging);
      // A bare repository keeps no reflog by default; with one, commits force-pushed away stay
      // readable (isAncestor, commit) until the reflog expires.
      await this.run(["config", "core.logAllRefUpdates", "true"], staging);
      await this.run(["config", "tidegate.url", source], staging);
      try {
        fs.renameSync(staging, this.mirrorDir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
        // Another process made it first: check that one.
        return await this.initMirror();
      }
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
    this.logEntry({ mirrorDir: this.mirrorDir, url: this.redact(source) }, "mirror created");
    this.mirrorChecked = true;
  }

  /** Call holding the mirror's lock. */
  private async fetchBranch(branch: string): Promise<void> {
    try {
      await this.runRemote("fetch", [
        "fetch",
        "--prune",
        "--no-tags",
        this.remoteUrl,
        `+refs/heads/${branch}:refs/heads/${branch}`,
      ]);
    } catch (err) {
      if (err instanceof GitError && isMissingRemoteRef(err.stderr ?? "")) {
        throw new BranchNotFoundError(branch, {
          cause: err,
          command: err.command,
          exitCode: err.exitCode,
          stderr: err.stderr,
        });
      }
      throw err;
    }
  }

  /** Call holding the mirror's lock, after fetching the branch. */
  private async assertOnBranch(sha: string, branch: string): Promise<void> {
    const onBranch =
      (await this.hasCommit(sha)) &&
      (
        await this.runQuiet(
          ["merge-base", "--is-ancestor", sha, `refs/heads/${branch}`],
          this.mirrorDir,
          [0, 1],
        )
      ).exitCode === 0;
    if (!onBranch) throw new CommitNotFoundError(sha, branch);
  }

  /** Makes sure the mirror has these commits, fetching every branch once if one is missing. */
  private async ensureCommits(...shas: string[]): Promise<void> {
    shas.forEach(assertSha);
    await this.ensureMirror();
    if ((await this.missingCommits(shas)).length === 0) return;
    await this.withMirror(async () => {
      // Another caller may have fetched them while this one waited for the lock.
      if ((await this.missingCommits(shas)).length === 0) return;
      this.logEntry({ shas }, "fetching every branch for commits the mirror lacks");
      await this.runRemote("fetch", [
        "fetch",
        "--prune",
        "--no-tags",
        this.remoteUrl,
        "+refs/heads/*:refs/heads/*",
      ]);
      const [missing] = await this.missingCommits(shas);
      if (missing !== undefined) throw new CommitNotFoundError(missing);
    });
  }

  private async missingCommits(shas: string[]): Promise<string[]> {
    const missing: string[] = [];
    for (const sha of shas) if (!(await this.hasCommit(sha))) missing.push(sha);
    return missing;
  }

  private async hasCommit(sha: string): Promise<boolean> {
    const seen = this.commitsSeen.get(sha);
    if (seen !== undefined && Date.now() - seen < COMMIT_SEEN_MS) return true;
    // `^{commit}` makes rev-parse read the object: a full sha alone always "verifies".
    const { exitCode } = await this.run(
      ["rev-parse", "--verify", "--quiet", `${sha}^{commit}`],
      this.mirrorDir,
      [0, 1],
    );
    if (exitCode !== 0) return false;
    if (this.commitsSeen.size >= 10_000) this.commitsSeen.clear();
    this.commitsSeen.set(sha, Date.now());
    return true;
  }

  private async listTree(sha: string, prefix = ""): Promise<TreeEntry[]> {
    const { stdout } = await this.run([
      "ls-tree",
      "-r",
      "-z",
      "--full-tree",
      sha,
      ...(prefix ? ["--", prefix] : []),
    ]);
    return parseLsTree(stdout);
  }
}

/** How a Git process that did not succeed ended, in words. */
function outcomeOf(result: GitProcessResult): string {
  return result.stopped === undefined ? `exit code ${result.exitCode ?? "none"}` : "stopped by tidegate";
}

/** Which remote call `run` makes, and the transport's settings for it. */
interface RemoteCall {
  operation: RemoteOperation;
  config: string[];
  env: Record<string, string>;
}

/** The blobs' contents as UTF-8, in order, from one `git cat-file --batch` (local objects only). */
function catBlobs(cwd: string, oids: readonly string[]): Promise<string[]> {
  if (oids.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const git = spawn("git", ["cat-file", "--batch"], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    git.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    git.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    git.on("error", reject);
    git.on("close", (code) => {
      if (code !== 0)
        return reject(new GitError(`git cat-file --batch failed (exit ${code}): ${stderr.trim()}`));
      const out = Buffer.concat(chunks);
      const texts: string[] = [];
      let at = 0;
      for (const oid of oids) {
        // Each object: "<oid> <type> <size>\n<content>\n"; a missing one: "<oid> missing\n".
        const end = out.indexOf(0x0a, at);
        const header = out.subarray(at, end).toString().split(" ");
        if (header[0] !== oid || header[1] !== "blob") {
          return reject(
            new GitError(`git cat-file --batch: expected blob ${oid}, got '${header.join(" ")}'`),
          );
        }
        const size = Number(header[2]);
        texts.push(out.subarray(end + 1, end + 1 + size).toString("utf8"));
        at = end + 1 + size + 1;
      }
      resolve(texts);
    });
    git.stdin.end(oids.map((oid) => `${oid}\n`).join(""));
  });
}

function assertBranch(branch: string): void {
  if (!isBranchName(branch)) throw new GitInputError("branch", branch, "a valid Git branch name");
}

function assertSha(sha: string): void {
  if (!isObjectId(sha))
    throw new GitInputError("commit", sha, "a full commit sha (40 or 64 lowercase hex digits)");
}

function assertIdentity(identity: GitIdentity): void {
  for (const value of [identity.name, identity.email]) {
    // eslint-disable-next-line no-control-regex
    if (value.trim() === "" || /[<>\x00-\x1f\x7f]/.test(value)) {
      throw new GitInputError("identity", value, "a name and an email without <, > or control characters");
    }
  }
}

function isUnder(file: string, folder: string): boolean {
  return file === folder || file.startsWith(`${folder}/`);
}
