import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "vitest";
import type { GitTimeoutsConfig } from "../../src/config/schema";
import { resolveGitTimeouts } from "../../src/config/resolve";
import { SimpleGitAdapter } from "../../src/adapters/git/simple-git";

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
