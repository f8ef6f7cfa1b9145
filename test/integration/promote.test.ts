import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { person } from "../../src/app/actor";
import type { PromotionRequest } from "../../src/app/engine";
import { runCli } from "../helpers/cli";
import { createEngineFixture, PROJECT, type EngineFixture } from "../helpers/engine";

// `tidegate promote` on real branches with the real engine: test and stage both auto-sync. Each step
// builds on the last (a Pulumi sync costs seconds), so only test is ever synced; stage is previewed.

const ACTOR = "ada@example.com";

const cli = (args: string[]) => runCli(args, { env: { TIDEGATE_ACTOR: ACTOR } });

describe("promoting test into stage", () => {
  let f: EngineFixture;
  let promoted: string;
  const sync = (env: string) => f.engine.check(env, { kind: "sync", trigger: "test", allowSync: true });
  const promote = (options: Partial<PromotionRequest> = {}) =>
    f.engine.promote("test", "stage", { actor: person(ACTOR), ...options });
  const remoteHead = async (branch: string) => (await f.engine.git.heads([branch]))[branch];
  const scratchLeft = () => {
    const dir = path.join(path.dirname(f.configPath), "data", "scratch");
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  };

  beforeAll(async () => {
    f = await createEngineFixture([
      { name: "test", sync: "auto", drift: "report" },
      { name: "stage", sync: "auto", drift: "report" },
    ]);
  });
  afterAll(async () => {
    await f?.cleanup();
  });

  it("dry run: previews stage on the merged tree and pushes nothing", async () => {
    const index = `${PROJECT}/index.ts`;
    const program = await f.readAt("test", index);
    promoted = await f.commitTo(
      "test",
      { [index]: program.replace('"managed-by": "pulumi",', '"managed-by": "pulumi",\n  release: "1",') },
      "Tag every resource with its release",
    );
    expect((await sync("test")).status).toBe("Synced");
    const stageBefore = await remoteHead("stage");

    const dry = await promote({ dryRun: true });

    expect(dry).toMatchObject({ outcome: "dry-run", kind: "fast-forward", sha: promoted, dryRun: true });
    expect(dry.reason).toMatch(/^dry run: would fast-forward stage .*; nothing was pushed$/);
    // stage was never deployed: the promotion would create its resources.
    const actions = dry.preview?.resources.map((r) => [r.name, r.action]);
    expect(actions).toEqual(
      expect.arrayContaining([
        ["artifacts", "create"],
        ["events", "create"],
      ]),
    );
    expect(await remoteHead("stage")).toBe(stageBefore);
    expect(scratchLeft()).toEqual([]);
  });

  it("fast-forwards stage to test's head on the remote, then is up to date", async () => {
    const result = await promote();

    expect(result).toMatchObject({ outcome: "promoted", kind: "fast-forward", sha: promoted, actor: ACTOR });
    expect(await remoteHead("stage")).toBe(promoted);
    expect(await remoteHead("test")).toBe(promoted);
    expect((await promote()).outcome).toBe("up-to-date");
    expect(scratchLeft()).toEqual([]);
  });

  it("refuses while test's new head has not been checked", async () => {
    await f.commitTo("test", { "README.md": "# platform (from test)\n" }, "Document the platform");

    const refused = await promote();

    expect(refused.outcome).toBe("refused");
    expect(refused.reason).toMatch(
      /test's branch 'test' is at .*, but its last check was of .*tidegate sync test/,
    );
    expect(await remoteHead("stage")).toBe(promoted);
  });

  it("refuses a conflicting merge and pushes nothing", async () => {
    await f.commitTo("stage", { "README.md": "# platform (from stage)\n" }, "Stage's own notes");
    // Only a README changed: nothing to apply, yet test is Synced at its head.
    expect((await sync("test")).status).toBe("Synced");
    const stageHead = await remoteHead("stage");

    const refused = await promote();

    expect(refused).toMatchObject({ outcome: "refused", conflicts: ["README.md"] });
    expect(refused.reason).toMatch(/conflicts in 1 file \(README\.md\); nothing was pushed/);
    expect(await remoteHead("stage")).toBe(stageHead);
    expect(scratchLeft()).toEqual([]);
  });

  it("refuses when stage has its own program commit, and merges it when allowed", async () => {
    // The same README as test's: no conflict any more, and a README is not the program.
    await f.commitTo("stage", { "README.md": "# platform (from test)\n" }, "Take test's notes");
    const own = await f.commitTo("stage", { [`${PROJECT}/NOTES.md`]: "stage only\n" }, "Stage-only notes");
    const testHead = (await remoteHead("test")) as string;

    const refused = await promote();

    expect(refused.outcome).toBe("refused");
    expect(refused.targetAhead?.map((c) => c.sha)).toEqual([own]);
    expect(refused.reason).toContain(`${own.slice(0, 12)} by Tidegate Test "Stage-only notes"`);
    expect(await remoteHead("stage")).toBe(own);

    const allowed = await promote({ allowTargetAhead: true });

    expect(allowed).toMatchObject({ outcome: "promoted", kind: "merge" });
    expect(await remoteHead("stage")).toBe(allowed.sha);
    const show = execFileSync("git", ["log", "-1", "--format=%P%n%an%n%B", allowed.sha as string], {
      cwd: f.remote.remoteDir,
      encoding: "utf8",
    });
    expect(show).toMatch(new RegExp(`^${own} ${testHead}\ntidegate\nPromote test into stage\n`));
    expect(show).toContain(`Promoted-by: ${ACTOR}`);
  });

  it("the CLI promotes into the next environment by default, and exits 1 on a refusal", async () => {
    const upToDate = await cli(["promote", "test", "--config", f.configPath]);
    expect(upToDate.stdout).toContain("promote test → stage: up to date");
    expect(upToDate.code).toBe(0);

    const backwards = await cli(["promote", "stage", "test", "--config", f.configPath, "--json"]);
    expect(backwards.code).toBe(1);
    expect(JSON.parse(backwards.stdout)).toMatchObject({ outcome: "refused", actor: ACTOR });
  });
});
