import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineFixture } from "../helpers/engine";
import { person } from "../../src/app/actor";
import { eventually } from "./servers";
import {
  commitVisibilityTimeout,
  deployedFixture,
  expectNothingLost,
  foldersOf,
  STACK_TIMEOUT,
  SYNC,
} from "./stack-faults";

// The file:// backend folder becomes read-only in the middle of an update. Tests run as root, so a
// chmod stops nothing, and a read-only bind mount on the folder would not reach the Pulumi CLI in
// its bubblewrap sandbox (its own bind of the folder keeps the old flags). So the backend lives on
// its own small tmpfs, and the whole filesystem is remounted read-only: every mount of it, the
// sandbox's too, refuses writes, as a disk that went read-only after an error would.

/** Whether this machine lets us mount a tmpfs and remount it read-only (root, and a container that allows it). */
function canRemountReadOnly(): boolean {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-ro-probe-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { stdio: "ignore" });
    try {
      execFileSync("mount", ["-o", "remount,ro", dir], { stdio: "ignore" });
      return true;
    } finally {
      execFileSync("umount", [dir], { stdio: "ignore" });
    }
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const READ_ONLY = canRemountReadOnly();

describe.skipIf(!READ_ONLY)(
  `the backend folder becomes read-only mid-update${READ_ONLY ? "" : " — skipped: this machine does not allow mounting a tmpfs (needs root and mount rights)"}`,
  () => {
    let f: EngineFixture;
    let backend: string;
    let mounted = false;

    beforeAll(async () => {
      f = await deployedFixture(["test"], (fixture) => {
        backend = foldersOf(fixture).backend;
        fs.mkdirSync(backend, { recursive: true });
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", backend]);
        mounted = true;
      });
    }, STACK_TIMEOUT);
    afterAll(async () => {
      if (mounted) execFileSync("umount", [backend]);
      await f?.cleanup();
    });

    it(
      "fails naming the backend and the fix; once writable again the next run recovers; nothing destroyed",
      async () => {
        await commitVisibilityTimeout(f, "test", 45);

        const running = f.engine.check("test", SYNC);
        // Pulumi holds its lock on the stack once the update is under way.
        const locks = path.join(
          backend,
          ".pulumi",
          "locks",
          "organization",
          "platform-sdk",
          f.stackName("test"),
        );
        const pulumiLocked = () =>
          fs.existsSync(locks) && fs.readdirSync(locks).some((n) => n.endsWith(".json"));
        expect(await eventually(pulumiLocked, 240_000)).toBe(true);
        execFileSync("mount", ["-o", "remount,ro", backend]);

        const report = await running;
        expect(report.status).toBe("Failed");
        expect(report.reason).toContain(backend);
        expect(report.reason).toMatch(/read-only/);
        expect(report.reason).toMatch(/make the backend writable/);
        expect(f.logs.join("\n")).toMatch(/could not release tidegate's lease/);

        // The person makes the backend writable again; the next run finishes the job or names
        // what the interrupted update left behind.
        execFileSync("mount", ["-o", "remount,rw", backend]);
        // tidegate's own lease could not be removed from the read-only folder; this process no
        // longer holds it, so the next run takes it over at once instead of waiting for its TTL.
        const lease = path.join(backend, ".tidegate", "leases", `${f.stackName("test")}.lease`);
        expect(fs.existsSync(lease)).toBe(true);
        // The next run finds the lock the stopped update left, and names the way out.
        const locked = await f.engine.check("test", SYNC);
        expect(locked.status).toBe("Failed");
        expect(locked.reason).toMatch(/tidegate recover/);
        const recovered = await f.engine.recover("test", {
          actor: person("oncall@example.com"),
          confirm: () => Promise.resolve({ ok: true }),
        });
        expect(recovered.outcome).toBe("recovered");
        const next = await f.engine.check("test", SYNC);
        expect(next.status, next.reason).toBe("Synced");
        await expectNothingLost(f, ["test"]);
      },
      STACK_TIMEOUT,
    );
  },
);
