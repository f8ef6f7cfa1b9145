import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineFixture } from "../helpers/engine";
import { checkpointFile, deployedFixture, expectNothingLost, STACK_TIMEOUT, SYNC } from "./stack-faults";

interface Checkpoint {
  checkpoint: { latest: { resources: Array<{ urn: string; type: string; parent?: string }> } };
}

// The stack's checkpoint in the file:// backend is damaged. tidegate halts that environment with a
// status naming the state file and the fix, never bypasses Pulumi's integrity check, and the other
// environment goes on.
describe("a corrupted state file", () => {
  let f: EngineFixture;
  let file: string;
  let intact: string;

  beforeAll(async () => {
    f = await deployedFixture(["test", "stage"]);
    file = checkpointFile(f, "test");
    intact = fs.readFileSync(file, "utf8");
  }, STACK_TIMEOUT);
  afterAll(async () => {
    await f?.cleanup();
  });

  it("never passes --disable-integrity-checking", () => {
    const sources = fs
      .readdirSync("src", { recursive: true, encoding: "utf8" })
      .filter((p) => p.endsWith(".ts"));
    for (const source of sources)
      expect(fs.readFileSync(`src/${source}`, "utf8"), source).not.toMatch(/disable-integrity-checking/);
  });

  it(
    "truncated JSON: Failed, naming the state file and the fix; the other environment syncs",
    async () => {
      fs.writeFileSync(file, intact.slice(0, Math.floor(intact.length / 2)));
      const report = await f.engine.check("test", SYNC);
      expect(report.status).toBe("Failed");
      expect(report.reason).toContain(file);
      expect(report.reason).toMatch(/pulumi stack import|backend's history/);
      expect(report.sync?.applied ?? false).toBe(false);

      const other = await f.engine.check("stage", SYNC);
      expect(other.status).toBe("Synced");
      fs.writeFileSync(file, intact);
    },
    STACK_TIMEOUT,
  );

  it(
    "a resource whose parent is missing fails Pulumi's integrity check: Failed, nothing destroyed",
    async () => {
      const state = JSON.parse(intact) as Checkpoint;
      const resources = state.checkpoint.latest.resources;
      const bucket = resources.find((r) => r.urn.endsWith("::artifacts"));
      if (!bucket) throw new Error(`no bucket in ${file}`);
      bucket.parent = bucket.urn.replace(/::artifacts$/, "::gone");
      fs.writeFileSync(file, JSON.stringify(state, null, 4));

      const report = await f.engine.check("test", SYNC);
      expect(report.status).toBe("Failed");
      expect(report.reason).toContain(file);
      expect(report.reason).toMatch(/integrity/);
      expect(report.reason).toMatch(/pulumi stack import|backend's history/);

      // The fix the reason names (restore a good checkpoint) brings the environment back.
      fs.writeFileSync(file, intact);
      const healed = await f.engine.check("test", SYNC);
      expect(healed.status, healed.reason).toBe("Synced");
      await expectNothingLost(f, ["test", "stage"]);
    },
    STACK_TIMEOUT,
  );
});
