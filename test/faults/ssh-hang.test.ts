import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { GitTimeoutError } from "../../src/adapters/git/errors";
import { SimpleGitAdapter } from "../../src/adapters/git/simple-git";
import { resolveGitTimeouts } from "../../src/config/resolve";
import { eventually } from "./servers";
import { adapterFor, failure, SMALL_LIMITS, withSilentServer } from "./support";

function hasSsh(): boolean {
  try {
    execFileSync("ssh", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const SSH = hasSsh();

// An ssh server that accepts the connection and never sends its banner.
describe.skipIf(!SSH)("a remote over ssh that accepts connections and never answers", () => {
  const silent = withSilentServer("ssh");
  const url = (): string => `ssh://git@127.0.0.1:${silent.server().port}/repo.git`;
  // As tidegate shows a remote: whatever is before the @ masked.
  const shown = (): string => url().replace("git@", "***@");

  it("fails a poll (ls-remote) with GitTimeoutError on the connect limit (no banner in time)", async () => {
    const { error, ms } = await failure(adapterFor(url(), silent.dir(), SMALL_LIMITS).heads(["main"]));
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({ operation: "ls-remote", limit: "connect", remote: shown() });
    expect((error as Error).message).toContain(
      `git ls-remote from ${shown()} timed out: no connection was made within 2s (repository.timeouts.connect: 2s). Check the host name and port`,
    );
    expect(ms).toBeLessThan(30_000);
  });

  it("fails a fetch the same way", async () => {
    const { error, ms } = await failure(adapterFor(url(), silent.dir(), SMALL_LIMITS).fetch("main"));
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({ operation: "fetch", limit: "connect" });
    expect(ms).toBeLessThan(30_000);
  });

  it("stops Git and ssh at the deadline when ssh's own limits are long", async () => {
    const slowTransport = { connect: "10m", lowSpeed: "10m", lsRemote: "3s", operation: "3s" };
    const { error, ms } = await failure(adapterFor(url(), silent.dir(), slowTransport).heads(["main"]));
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({
      operation: "ls-remote",
      limit: "deadline",
      setting: "repository.timeouts.lsRemote",
    });
    expect(ms).toBeLessThan(30_000);
    // ssh held the connection; it was in Git's process group, so it is gone too.
    expect(silent.server().accepted()).toBeGreaterThan(0);
    expect(await eventually(() => silent.server().open() === 0, 5_000)).toBe(true);
  });

  it("keeps an ssh command the user gave, appending the limits after its own options", async () => {
    // ssh takes the first value of an option: the user's ConnectTimeout=1 wins over tidegate's 10m.
    const own = new SimpleGitAdapter({
      url: url(),
      mirrorDir: path.join(silent.dir(), "mirror"),
      timeouts: resolveGitTimeouts({ connect: "10m", lowSpeed: "10m", lsRemote: "60s" }),
      env: { HOME: silent.dir(), GIT_CONFIG_NOSYSTEM: "1", GIT_SSH_COMMAND: "ssh -o ConnectTimeout=1" },
    });
    const { error, ms } = await failure(own.heads(["main"]));
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({ limit: "connect" });
    expect(ms).toBeLessThan(30_000);
  });
});

describe.skipIf(SSH)("ssh faults", () => {
  it.skip("are skipped: no ssh client on this machine (install openssh-client)", () => {});
});
