import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, expect } from "vitest";
import type { GitTimeoutsConfig } from "../../src/config/schema";
import { resolveGitTimeouts } from "../../src/config/resolve";
import { SimpleGitAdapter } from "../../src/adapters/git/simple-git";
import { type SilentServer, startSilentServer } from "./servers";

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tidegate-fault-${prefix}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** An adapter on `url` with its own mirror under `dir` and small limits. */
export function adapterFor(url: string, dir: string, timeouts: GitTimeoutsConfig): SimpleGitAdapter {
  return new SimpleGitAdapter({
    url,
    mirrorDir: path.join(dir, "mirror"),
    timeouts: resolveGitTimeouts(timeouts),
    // No user or system Git configuration: an ssh command or proxy set on this machine stays out.
    env: { HOME: dir, GIT_CONFIG_NOSYSTEM: "1" },
  });
}

/** The error `promise` fails with, and how long that took. */
export async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => expect.fail("expected the Git call to fail"),
    (err: unknown) => err,
  );
  return { error, ms: Date.now() - started };
}

/** Limits small enough for a test: 2 s to connect, 2 s of near-silence, generous deadlines. */
export const SMALL_LIMITS: GitTimeoutsConfig = {
  connect: "2s",
  lowSpeed: "2s",
  lsRemote: "60s",
  operation: "60s",
};

/** A silent server and a temporary folder for each test of the enclosing describe. */
export function withSilentServer(prefix: string): { server: () => SilentServer; dir: () => string } {
  let server: SilentServer;
  let temp: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    server = await startSilentServer();
    temp = tempDir(prefix);
  });
  afterEach(async () => {
    await server.close();
    temp.remove();
  });
  return { server: () => server, dir: () => temp.dir };
}
