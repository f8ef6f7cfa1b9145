import { describe, expect, it } from "vitest";
import { GitTimeoutError } from "../../src/adapters/git/errors";
import { eventually } from "./servers";
import { adapterFor, failure, SMALL_LIMITS, withSilentServer } from "./support";

// A Git server over http that accepts the connection and never answers. Before Git calls were
// bounded, `tidegate check` hung on it until killed.
describe("a remote over http that accepts connections and never answers", () => {
  const silent = withSilentServer("http");
  const url = (): string => `http://127.0.0.1:${silent.server().port}/repo.git`;

  it("fails a poll (ls-remote) with GitTimeoutError on the low-speed limit", async () => {
    const { error, ms } = await failure(adapterFor(url(), silent.dir(), SMALL_LIMITS).heads(["main"]));
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({ operation: "ls-remote", limit: "low-speed", remote: url() });
    expect((error as Error).message).toBe(
      `git ls-remote from ${url()} timed out: the remote accepted the connection but sent less than 1000 bytes/s for 2s (repository.timeouts.lowSpeed: 2s). Check the Git server, and any proxy or firewall on the way that may hold the connection open without passing data; the next poll or command tries again.`,
    );
    expect(silent.server().accepted()).toBeGreaterThan(0);
    expect(ms).toBeLessThan(30_000);
  });

  it("fails a fetch the same way", async () => {
    const { error, ms } = await failure(adapterFor(url(), silent.dir(), SMALL_LIMITS).fetch("main"));
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({ operation: "fetch", limit: "low-speed" });
    expect(ms).toBeLessThan(30_000);
  });

  it("stops Git and its transport helper at the deadline when no transport limit fires", async () => {
    const slowTransport = { connect: "60s", lowSpeed: "10m", lsRemote: "3s", operation: "3s" };
    const { error, ms } = await failure(adapterFor(url(), silent.dir(), slowTransport).fetch("main"));
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({
      operation: "fetch",
      limit: "deadline",
      setting: "repository.timeouts.operation",
    });
    expect((error as Error).message).toContain("(repository.timeouts.operation: 3s)");
    expect(ms).toBeLessThan(30_000);
    // git-remote-http held the connection; it was in Git's process group, so it is gone too.
    expect(silent.server().accepted()).toBeGreaterThan(0);
    expect(await eventually(() => silent.server().open() === 0, 5_000)).toBe(true);
  });

  it("over https, fails a fetch whose TLS handshake never ends on the no-answer limit", async () => {
    // curl's low-speed limit starts after the handshake: only tidegate's own watch catches this.
    const https = url().replace("http://", "https://");
    const { error, ms } = await failure(adapterFor(https, silent.dir(), SMALL_LIMITS).fetch("main"));
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({ operation: "fetch", limit: "no-answer", remote: https });
    expect((error as Error).message).toContain(
      `git fetch from ${https} timed out: the remote did not answer at all within 4s (repository.timeouts.connect + lowSpeed: 4s).`,
    );
    expect(ms).toBeLessThan(30_000);
    expect(await eventually(() => silent.server().open() === 0, 5_000)).toBe(true);
  });

  it("masks the URL's credentials in the error", async () => {
    const secret = "s3cret-token-value";
    const withCredentials = url().replace("http://", `http://bot:${secret}@`);
    const { error } = await failure(adapterFor(withCredentials, silent.dir(), SMALL_LIMITS).heads(["main"]));
    expect(error).toBeInstanceOf(GitTimeoutError);
    const timeout = error as GitTimeoutError;
    expect(timeout.remote).toBe(url().replace("http://", "http://***@"));
    const seen = [
      timeout.message,
      timeout.stack,
      timeout.stderr,
      String(timeout.cause),
      JSON.stringify(timeout.command),
    ];
    expect(seen.join("\n")).not.toContain(secret);
  });
});
