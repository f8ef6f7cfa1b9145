import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitTimeoutError, RemoteClosedError } from "../../src/adapters/git/errors";
import type { SimpleGitAdapter } from "../../src/adapters/git/simple-git";
import { createGitRemote, type GitRemoteFixture } from "../helpers/git";
import { type GitHttpServer, startGitHttpServer } from "../helpers/git-http";
import { type CuttingProxy, startCuttingProxy } from "./servers";
import { adapterFor, failure } from "./support";

const execFileAsync = promisify(execFile);
const USER = "bot";
const PASSWORD = "fault-test-password";
// The answers before the pack (refs, capabilities) are a few KiB; the pack is megabytes.
const CUT_AFTER = 64 * 1024;

// A real Git smart-HTTP server (git http-backend) behind a proxy that fails the pack mid-way: the
// connection is cut (the server died) or goes silent (the server hung). The fetch must fail with a
// typed error, and the mirror keep its last complete state, so the next fetch from a healthy
// server succeeds.
describe("a Git server over http that dies or hangs in the middle of a fetch", () => {
  let remote: GitRemoteFixture;
  let server: GitHttpServer;
  let proxy: CuttingProxy;
  let git: SimpleGitAdapter;
  let first: string;
  let big: string;

  const mirrorHead = async (): Promise<string> =>
    (
      await execFileAsync("git", ["rev-parse", "--verify", "refs/heads/main"], {
        cwd: path.join(remote.root, "mirror"),
      })
    ).stdout.trim();

  beforeEach(async () => {
    remote = await createGitRemote();
    first = await remote.commitFile("README.md", "first\n", "first");
    await remote.push("main");
    server = await startGitHttpServer({ projectRoot: remote.root, username: USER, password: PASSWORD });
    proxy = await startCuttingProxy(Number(new URL(server.url("remote.git")).port), CUT_AFTER);
    const url = proxy.url(server.url("remote.git")).replace("http://", `http://${USER}:${PASSWORD}@`);
    git = adapterFor(url, remote.root, { connect: "2s", lowSpeed: "2s", lsRemote: "30s", operation: "30s" });
    expect(await git.fetch("main")).toBe(first);
    // A commit whose pack cannot squeeze under the cut: 3 MiB of random bytes.
    big = randomBytes(3 * 1024 * 1024).toString("base64");
    await remote.commitFile("blob.bin", big, "big");
    await remote.push("main");
  });
  afterEach(async () => {
    await proxy.close();
    await server.close();
    remote.cleanup();
  });

  const healedFetch = async (): Promise<void> => {
    proxy.mode = "healthy";
    const second = await remote.head("main");
    expect(await git.fetch("main")).toBe(second);
    expect(await mirrorHead()).toBe(second);
    const [blob] = await git.readFiles(second, "blob.bin");
    expect(blob.text).toBe(big);
    // Every object the mirror's refs reach is there.
    await execFileAsync("git", ["fsck", "--connectivity-only", "--no-progress"], {
      cwd: path.join(remote.root, "mirror"),
    });
  };

  it("a cut connection fails the fetch with RemoteClosedError; the mirror keeps its last complete state", async () => {
    proxy.mode = "die";
    const { error } = await failure(git.fetch("main"));
    expect(proxy.faults()).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(RemoteClosedError);
    expect(error).toMatchObject({ operation: "fetch" });
    expect((error as Error).message).toContain(
      "the remote closed the connection before the transfer finished",
    );
    expect((error as Error).message).not.toContain(PASSWORD);
    // Nothing half-fetched is trusted: the branch is where the last complete fetch left it.
    expect(await mirrorHead()).toBe(first);
    expect(await git.readFiles(first, "README.md")).toEqual([{ file: "README.md", text: "first\n" }]);
    await healedFetch();
  });

  it("a connection gone silent mid-pack fails the fetch with GitTimeoutError on the low-speed limit", async () => {
    proxy.mode = "stall";
    const { error, ms } = await failure(git.fetch("main"));
    expect(proxy.faults()).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({ operation: "fetch", limit: "low-speed" });
    expect(ms).toBeLessThan(60_000);
    expect(await mirrorHead()).toBe(first);
    await healedFetch();
  });
});
