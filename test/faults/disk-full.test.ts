import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/app/engine";
import { createEngineFixture, type EngineFixture } from "../helpers/engine";
import { commitVisibilityTimeout, expectNothingLost, STACK_TIMEOUT, SYNC } from "./stack-faults";

// The data directory fills up: it lives on its own small tmpfs, filled to the last byte by a
// file that stands for everything else on the disk. The run fails naming the folder and the lack of
// space; the store and the audit log stay whole; once space is back, the run succeeds.

function canMountTmpfs(): boolean {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-tmpfs-probe-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir], { stdio: "ignore" });
    execFileSync("umount", [dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes `file` until the filesystem has no byte left. */
function fillUp(file: string): void {
  const chunk = Buffer.alloc(1 << 20);
  const fd = fs.openSync(file, "w");
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    fs.closeSync(fd);
  }
  // The last partial megabyte, byte by byte in larger steps down.
  for (let size = 1 << 19; size >= 1; size >>= 1) {
    try {
      fs.appendFileSync(file, Buffer.alloc(size));
    } catch {
      // no room for this size: try a smaller one
    }
  }
}

const TMPFS = canMountTmpfs();

describe.skipIf(!TMPFS)(
  `the data directory fills up${TMPFS ? "" : " — skipped: this machine does not allow mounting a tmpfs (needs root and mount rights)"}`,
  () => {
    let f: EngineFixture;
    let engine: Engine;
    let data: string;
    let mounted = false;

    beforeAll(async () => {
      f = await createEngineFixture([{ name: "test", sync: "auto", drift: "report" }]);
      // The fixture's own engine opened its store already; a second engine gets a data directory
      // that is the tmpfs from the start.
      data = path.join(f.remote.root, "data-2");
      fs.mkdirSync(data);
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=96m", "tmpfs", data]);
      mounted = true;
      engine = await f.secondEngine();
      const first = await engine.check("test", SYNC);
      expect(first.status, first.reason).toBe("Synced");
    }, STACK_TIMEOUT);
    afterAll(async () => {
      await f?.cleanup().catch(() => {});
      if (mounted) execFileSync("umount", ["-l", data]);
    });

    it(
      "fails naming the folder and 'no space'; store and audit log stay whole; succeeds once space is back",
      async () => {
        await commitVisibilityTimeout(f, "test", 45);
        const filler = path.join(data, "filler");
        fillUp(filler);

        const failure = await engine.check("test", SYNC).then(
          (report) => `${report.status}: ${report.reason ?? ""}`,
          (err: unknown) => `threw: ${err instanceof Error ? err.message : String(err)}`,
        );
        expect(failure).toContain(data);
        expect(failure).toMatch(/no space/i);

        fs.rmSync(filler);
        const next = await engine.check("test", SYNC);
        expect(next.status, next.reason).toBe("Synced");
        await expectNothingLost(f, ["test"], { engine, data });
      },
      STACK_TIMEOUT,
    );
  },
);
