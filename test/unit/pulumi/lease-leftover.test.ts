import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { acquireLease } from "../../../src/adapters/pulumi/lease";

describe("a stack lease this process failed to release", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("is taken over by this process's next run at once, but not while a run of it holds the lease", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-lease-"));
    dirs.push(dir);
    const self = (run: string) => `host-a/${process.pid}/123/${run}`;
    const first = acquireLease(dir, "stack", { owner: self("run-1") });
    expect(first).toBeDefined();
    // Held: another run of the same process waits like anyone else.
    expect(acquireLease(dir, "stack", { owner: self("run-2") })).toBeUndefined();

    // The release fails (a read-only backend): the folder stays, but nobody works under it.
    const lockDir = path.join(dir, "stack.lease");
    fs.cpSync(lockDir, `${lockDir}.kept`, { recursive: true });
    first?.release();
    fs.renameSync(`${lockDir}.kept`, lockDir);
    expect(fs.existsSync(path.join(dir, "stack.lease"))).toBe(true);

    const next = acquireLease(dir, "stack", { owner: self("run-3") });
    expect(next?.owner).toBe(self("run-3"));
    // Another process's live lease is still respected.
    next?.release();
    const other = acquireLease(dir, "stack", { owner: "host-a/1/456/run-x", isDead: () => false });
    expect(other).toBeDefined();
    expect(acquireLease(dir, "stack", { owner: self("run-4") })).toBeUndefined();
    other?.release();
  });
});
