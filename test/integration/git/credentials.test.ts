import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuthenticationError, GitError } from "../../../src/adapters/git/errors";
import { SimpleGitAdapter, type SimpleGitAdapterOptions } from "../../../src/adapters/git/simple-git";
import { createGitRemote, type GitRemoteFixture } from "../../helpers/git";
import { type GitHttpServer, startGitHttpServer } from "../../helpers/git-http";
import { startProcSampler } from "../../helpers/proc-sampler";

const execFileAsync = promisify(execFile);
const USER = "x-access-token";

// A real Git smart-HTTP server (git http-backend behind Basic auth) on 127.0.0.1, and a sampler
// reading every process's command line and environment while the adapter polls, fetches,
// checks out and pushes: the token must reach Git only through tidegate's credential helper.
describe("SimpleGitAdapter with credentials over HTTP", () => {
  let remote: GitRemoteFixture;
  let server: GitHttpServer;
  let token: string;
  let home: string;
  let lines: string[];

  const remoteUrl = (): string => server.url("remote.git");
  const withToken = (secret: string): string => remoteUrl().replace("http://", `http://${USER}:${secret}@`);
  const adapter = (options: Partial<SimpleGitAdapterOptions> = {}): SimpleGitAdapter =>
    new SimpleGitAdapter({
      url: withToken(token),
      mirrorDir: path.join(remote.root, "mirror"),
      log: (entry, message) => lines.push(JSON.stringify({ entry, message })),
      // A user-level helper that would store any credential Git used: it must never get the token.
      env: { HOME: home },
      ...options,
    });
  const filesUnder = (dir: string): string[] =>
    fs.existsSync(dir)
      ? fs
          .readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => path.join(e.parentPath, e.name))
      : [];
  const failure = async (promise: Promise<unknown>): Promise<unknown> =>
    promise.then(
      () => expect.fail("expected a failure"),
      (err: unknown) => err,
    );

  beforeEach(async () => {
    remote = await createGitRemote();
    token = `tok-${randomBytes(16).toString("hex")}`;
    server = await startGitHttpServer({ projectRoot: remote.root, username: USER, password: token });
    home = path.join(remote.root, "home");
    fs.mkdirSync(home);
    fs.writeFileSync(path.join(home, ".gitconfig"), "[credential]\n\thelper = store\n");
    lines = [];
  });
  afterEach(async () => {
    await server.close();
    remote.cleanup();
  });

  it("the sampler and the store helper do catch a token passed the old way (control)", async () => {
    const sampler = await startProcSampler([token], [process.pid]);
    const env = { ...process.env, HOME: home, GIT_TERMINAL_PROMPT: "0", SOME_TOKEN: token };
    await execFileAsync("git", ["ls-remote", withToken(token)], { env });
    const report = await sampler.stop();

    const where = new Set(report.leaks.map((leak) => leak.where));
    expect(where).toEqual(new Set(["cmdline", "environ"]));
    expect(fs.readFileSync(path.join(home, ".git-credentials"), "utf8")).toContain(token);
  });

  it("polls, fetches, checks out and pushes with a token in the URL, which no other process ever sees", async () => {
    const first = await remote.commitFile("Pulumi.yaml", "name: app\n", "first");
    await remote.push("main");
    await remote.switchBranch("test");
    await remote.push("test");
    await remote.switchBranch("main");
    const second = await remote.commitFile("index.ts", "export const v = 2;\n", "second");
    await remote.push("main");

    const sampler = await startProcSampler([token], [process.pid]);
    const git = adapter();
    expect(await git.heads(["main", "test", "prod"])).toEqual({ main: second, test: first });
    expect(await git.fetch("main")).toBe(second);
    const checkout = path.join(remote.root, "checkouts", "main");
    await git.checkout("main", second, checkout);
    const scratch = path.join(remote.root, "scratch");
    const merged = await git.merge({
      target: "test",
      source: second,
      dir: scratch,
      identity: { name: "tidegate", email: "tidegate@example.invalid" },
      message: "promote",
    });
    expect(merged.kind).toBe("fast-forward");
    await git.push(scratch, "test");
    const report = await sampler.stop();

    expect(fs.readFileSync(path.join(checkout, "index.ts"), "utf8")).toBe("export const v = 2;\n");
    expect(await remote.git("ls-remote", remote.remoteDir, "refs/heads/test")).toContain(second);
    expect(server.counts.authorized).toBeGreaterThan(0);
    expect(report.leaks).toEqual([]);
    // The sampler saw Git's own transport and the credential helper, so it was looking.
    const transport = report.cmdlines.filter((c) => /git[- ]remote-http /.test(c));
    expect(transport.length).toBeGreaterThan(0);
    expect(transport.every((c) => c.includes(remoteUrl()))).toBe(true);
    expect(report.cmdlines.some((c) => c.includes("credential-helper.cjs get"))).toBe(true);
    expect(report.sweeps).toBeGreaterThan(10);

    for (const file of [...filesUnder(path.join(remote.root, "mirror")), ...filesUnder(checkout)]) {
      expect(fs.readFileSync(file, "latin1"), file).not.toContain(token);
    }
    expect(fs.existsSync(path.join(home, ".git-credentials"))).toBe(false);
    expect(lines.join("\n")).not.toContain(token);
    expect(lines.join("\n")).toContain(`http://***@127.0.0.1`);
  });

  it("refuses a wrong token quickly with an AuthenticationError naming the remote, credentials masked", async () => {
    await remote.commitFile("Pulumi.yaml", "name: app\n", "first");
    await remote.push("main");
    const wrong = `bad-${randomBytes(16).toString("hex")}`;
    const git = adapter({ url: withToken(wrong) });

    for (const attempt of [() => git.heads(["main"]), () => git.fetch("main")]) {
      const started = Date.now();
      const error = await failure(attempt());
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(error).toBeInstanceOf(AuthenticationError);
      const auth = error as AuthenticationError;
      expect(auth.remote).toBe(`http://***@127.0.0.1:${new URL(remoteUrl()).port}/remote.git`);
      expect(auth.message).toContain(`authentication to ${auth.remote} failed`);
      const seen = [auth.message, auth.stack, auth.stderr, JSON.stringify(auth.command), String(auth.cause)];
      expect(seen.join("\n")).not.toContain(wrong);
    }
    expect(server.counts.refused).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain(wrong);
    expect(fs.existsSync(path.join(home, ".git-credentials"))).toBe(false);
  });

  it("fails without credentials as an AuthenticationError too, without waiting for a terminal", async () => {
    const git = adapter({ url: remoteUrl() });
    const error = await failure(git.heads(["main"]));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).remote).toBe(remoteUrl());
  });

  it("reads tokenFile before each command, so a rotated token is picked up", async () => {
    const sha = await remote.commitFile("Pulumi.yaml", "name: app\n", "first");
    await remote.push("main");
    const tokenFile = path.join(remote.root, "token");
    fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const git = adapter({
      url: remoteUrl(),
      token: { username: USER, source: { kind: "file", path: tokenFile } },
    });

    expect(await git.heads(["main"])).toEqual({ main: sha });
    fs.writeFileSync(tokenFile, "revoked-token-value\n");
    const error = await failure(git.heads(["main"]));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).not.toContain("revoked-token-value");
    fs.writeFileSync(tokenFile, token);
    expect(await git.fetch("main")).toBe(sha);
  });

  it("reads tokenEnv from tidegate's environment and keeps the variable from Git's", async () => {
    const sha = await remote.commitFile("Pulumi.yaml", "name: app\n", "first");
    await remote.push("main");
    const name = "TIDEGATE_TEST_REPOSITORY_TOKEN";
    process.env[name] = token;
    try {
      const git = adapter({ url: remoteUrl(), token: { username: USER, source: { kind: "env", name } } });
      const sampler = await startProcSampler([token], [process.pid]);
      expect(await git.heads(["main"])).toEqual({ main: sha });
      expect(await git.fetch("main")).toBe(sha);
      // Control: a child given this process's environment carries the token, and is caught.
      const child = spawn("sleep", ["0.2"], { env: process.env });
      await new Promise((resolve) => child.on("close", resolve));
      const report = await sampler.stop();

      expect(report.leaks).toEqual([{ pid: child.pid, where: "environ", cmdline: "sleep 0.2" }]);
      expect(report.cmdlines.some((c) => c.includes("credential-helper.cjs get"))).toBe(true);
    } finally {
      delete process.env[name];
    }
    const missing = await failure(
      adapter({ url: remoteUrl(), token: { username: USER, source: { kind: "env", name } } }).heads(["main"]),
    );
    expect(missing).toBeInstanceOf(GitError);
    expect((missing as Error).message).toContain(`export ${name}`);
  });
});
