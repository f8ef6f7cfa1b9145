import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { acquireLease } from "../../../src/adapters/pulumi/lease";
import { ownerDeadness, processStart } from "../../../src/adapters/owner";

// The lease file beside a file:// backend (machines sharing a backend share no store): a holder dead
// on this host is taken over at once, one elsewhere only after its TTL.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function leaseDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-lease-"));
  dirs.push(dir);
  return dir;
}

/** Writes a lease file as another holder left it. */
function leftBy(dir: string, owner: string, renewedAt: number, ttlMs = 120_000): void {
  const lockDir = path.join(dir, "stack.lease");
  fs.mkdirSync(lockDir, { recursive: true });
  const at = new Date(renewedAt).toISOString();
  const file = { owner, acquiredAt: at, renewedAt: at, expiresAt: new Date(renewedAt + ttlMs).toISOString() };
  fs.writeFileSync(path.join(lockDir, "owner.json"), JSON.stringify(file));
}

const deadPid = 2 ** 22 + 17; // above the kernel's pid_max default: never a live process

describe("acquireLease (lease files)", () => {
  it("writes the holder's owner id, and keeps out a second holder while it lives", () => {
    const dir = leaseDir();
    const first = acquireLease(dir, "stack", { owner: "me/1/1/run-a", isDead: ownerDeadness() });
    expect(first).toBeDefined();
    const file = JSON.parse(fs.readFileSync(path.join(dir, "stack.lease", "owner.json"), "utf8")) as Record<
      string,
      string
    >;
    expect(file.owner).toBe("me/1/1/run-a");
    expect(acquireLease(dir, "stack", { owner: "me/1/1/run-b" })).toBeUndefined();
    first?.release();
    expect(acquireLease(dir, "stack", { owner: "me/1/1/run-b" })).toBeDefined();
  });

  it("takes over at once from a holder whose process is gone on this host", () => {
    const dir = leaseDir();
    leftBy(dir, `${os.hostname()}/${deadPid}/1/run-a`, Date.now());
    const taken = acquireLease(dir, "stack", { owner: "me/1/1/run-b", isDead: ownerDeadness() });
    expect(taken?.owner).toBe("me/1/1/run-b");
    taken?.release();
  });

  it("leaves the lease of a live holder on this host alone", () => {
    const dir = leaseDir();
    leftBy(dir, `${os.hostname()}/${process.pid}/${processStart(process.pid)}/run-a`, Date.now());
    expect(acquireLease(dir, "stack", { owner: "me/1/1/run-b", isDead: ownerDeadness() })).toBeUndefined();
  });

  it("takes over from a holder on another host only after its TTL", () => {
    const dir = leaseDir();
    const now = Date.now();
    leftBy(dir, `elsewhere/${deadPid}/1/run-a`, now, 120_000);
    const isDead = ownerDeadness({ ttlMs: 120_000, now: now + 30_000 });
    expect(
      acquireLease(dir, "stack", { owner: "me/1/1/run-b", isDead, now: () => now + 30_000 }),
    ).toBeUndefined();
    const later = now + 121_000;
    const taken = acquireLease(dir, "stack", {
      owner: "me/1/1/run-b",
      isDead: ownerDeadness({ ttlMs: 120_000, now: later }),
      now: () => later,
    });
    expect(taken).toBeDefined();
    taken?.release();
  });
});
