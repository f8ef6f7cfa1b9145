import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitError, PushRejectedError } from "../../../src/adapters/git/errors";
import type { MergeOptions, MergeResult, PathSelection } from "../../../src/adapters/git/port";
import type { Logger } from "../../../src/log";
import type { CommitInfo } from "../../../src/domain/model";
import type { ChangeSet } from "../../../src/domain/changes";
import { promote, type PromoteContext, type PromotedEnvironment } from "../../../src/app/promote";
import type { EnvironmentState } from "../../../src/adapters/store/port";

const TEST_HEAD = "1".repeat(40);
const STAGE_HEAD = "2".repeat(40);
const MERGED = "3".repeat(40);
const OLDER = "4".repeat(40);
const PROJECT = "stacks/app";

const ENVIRONMENTS: PromotedEnvironment[] = [
  { name: "test", branch: "test", project: PROJECT, order: 1 },
  { name: "stage", branch: "stage", project: PROJECT, order: 2 },
  { name: "prod", branch: "prod", project: PROJECT, order: 3 },
  // Another repository's: a promotion never crosses repositories.
  { name: "web.stage", repository: "web", branch: "stage", project: PROJECT, order: 2 },
];

const silent: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silent,
};

function synced(overrides: Partial<EnvironmentState> = {}): EnvironmentState {
  return {
    environment: "test",
    branch: "test",
    stack: "app-test",
    status: "Synced",
    headCommit: TEST_HEAD,
    deployedCommit: TEST_HEAD,
    pendingCount: 0,
    driftCount: 0,
    lastRunAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    ...overrides,
  };
}

function commit(sha: string, message: string): CommitInfo {
  return { sha, author: "Bob", authorEmail: "bob@example.com", date: "2026-01-01T00:00:00.000Z", message };
}

// The refusal logic against fakes: Git answers what each test sets up, and records what was asked.
describe("promote", () => {
  let root: string;
  let heads: Record<string, string>;
  let states: Record<string, EnvironmentState>;
  let ahead: CommitInfo[];
  let mergeResult: MergeResult;
  let pushError: Error | undefined;
  let calls: {
    commitsBetween: [string | undefined, string, PathSelection | undefined][];
    merge: MergeOptions[];
    push: [string, string][];
    preview: [string, string, boolean][];
  };

  const context = (): PromoteContext => ({
    git: {
      heads: (branches) =>
        Promise.resolve(
          Object.fromEntries(branches.filter((b) => heads[b]).map((b) => [b, heads[b] as string])),
        ),
      commitsBetween: (from, to, filter) => {
        calls.commitsBetween.push([from, to, filter]);
        return Promise.resolve(ahead);
      },
      merge: (options) => {
        calls.merge.push(options);
        fs.mkdirSync(options.dir, { recursive: true });
        fs.writeFileSync(path.join(options.dir, "merged.txt"), "the merged tree\n");
        return Promise.resolve(mergeResult);
      },
      push: (dir, branch) => {
        calls.push.push([dir, branch]);
        return pushError ? Promise.reject(pushError) : Promise.resolve();
      },
    },
    store: { status: async (name) => states[name] },
    log: silent,
    environment: (name) => {
      const env = ENVIRONMENTS.find((e) => e.name === name);
      if (!env) throw new Error(`unknown environment '${name}'`);
      return env;
    },
    scratchDir: () => path.join(root, "scratch", "promote"),
    identity: { name: "tidegate", email: "tidegate@example.invalid" },
    preview: (env, dir) => {
      calls.preview.push([env.name, dir, fs.existsSync(path.join(dir, "merged.txt"))]);
      const changes: ChangeSet = { kind: "pending", resources: [] };
      return Promise.resolve(changes);
    },
    now: () => new Date("2026-01-02T00:00:00.000Z"),
  });
  const run = (request: Partial<Parameters<typeof promote>[1]> = {}) =>
    promote(context(), { from: "test", to: "stage", actor: "ada", ...request });

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-promote-"));
    heads = { test: TEST_HEAD, stage: STAGE_HEAD, prod: OLDER };
    states = { test: synced() };
    ahead = [];
    mergeResult = { kind: "fast-forward", sha: TEST_HEAD, targetHead: STAGE_HEAD };
    pushError = undefined;
    calls = { commitsBetween: [], merge: [], push: [], preview: [] };
  });
  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("promotes from a drifted source whose head is deployed, with a warning", async () => {
    for (const status of ["Drifted", "AwaitingApproval"] as const) {
      states.test = synced({ status, driftCount: 1 });
      const result = await run();
      expect(result.outcome).toBe("promoted");
      expect(result.warnings).toEqual([
        "test shows drift on 1 resource(s): its live resources differ from what was deployed; the program is promoted, not the drift (restore or accept it: tidegate sync test --restore-drift | --accept-drift)",
      ]);
    }
    states.test = synced();
    expect((await run()).warnings).toBeUndefined();
  });

  describe("refuses, with the reason, and pushes nothing", () => {
    it("when the target does not come after the source in promotion order", async () => {
      const result = await run({ from: "stage", to: "test" });
      expect(result).toMatchObject({
        outcome: "refused",
        from: { environment: "stage" },
        to: { environment: "test" },
      });
      expect(result.reason).toMatch(/test does not come after stage in promotion order/);
      expect((await run({ from: "test", to: "test" })).outcome).toBe("refused");
      expect(calls.merge).toEqual([]);
    });

    it("when the environments are in different repositories", async () => {
      const result = await run({ from: "test", to: "web.stage" });
      expect(result.outcome).toBe("refused");
      expect(result.reason).toBe(
        "test and web.stage are in different repositories; a promotion merges branches of one repository",
      );
      expect(calls.merge).toEqual([]);
    });

    it("when a branch is not on the remote", async () => {
      delete heads.stage;
      expect((await run()).reason).toMatch(/branch 'stage' of stage is not on the remote/);
    });

    it("when the source was never checked, or its branch moved since its last check", async () => {
      delete states.test;
      expect((await run()).reason).toMatch(/test has not been checked at 111111111111; check it first/);

      states.test = synced({ headCommit: OLDER, deployedCommit: OLDER });
      const moved = await run();
      expect(moved.outcome).toBe("refused");
      expect(moved.reason).toMatch(/is at 111111111111, but its last check was of 444444444444/);
      expect(calls.merge).toEqual([]);
    });

    it("when the source's head is not deployed there (pending, failed)", async () => {
      states.test = synced({ status: "Failed", reason: "preview failed: boom\nmore detail" });
      const result = await run();
      expect(result.outcome).toBe("refused");
      expect(result.reason).toBe(
        "test is Failed at 111111111111 (preview failed: boom); only an environment whose head is deployed (nothing pending) is promoted from",
      );
      states.test = synced({ status: "OutOfSync+Drifted", pendingCount: 1, driftCount: 1 });
      expect((await run()).reason).toMatch(/test is OutOfSync\+Drifted/);
      // Waiting for an approval of pending changes: the head is not deployed.
      states.test = synced({ status: "AwaitingApproval", pendingCount: 2 });
      expect((await run()).reason).toMatch(/test is AwaitingApproval/);
      expect(calls.merge).toEqual([]);
    });

    it("when the source shows drift and the target's promotion gate requires none", async () => {
      states.test = synced({ status: "Drifted", driftCount: 2 });
      const strict = ENVIRONMENTS.map((e) =>
        e.name === "stage" ? { ...e, gates: { promotion: { requireNoDrift: true } } } : e,
      );
      const result = await promote(
        { ...context(), environment: (name) => strict.find((e) => e.name === name)! },
        { from: "test", to: "stage", actor: "ada" },
      );
      expect(result.outcome).toBe("refused");
      expect(result.reason).toMatch(
        /^test shows drift on 2 resource\(s\).*stage's promotion gate requires no drift; restore or accept it first/,
      );
      expect(calls.merge).toEqual([]);
    });

    it("when the target has program commits the source lacks, listing them", async () => {
      ahead = [commit(OLDER, "Hotfix the queue\n\nwhy"), commit(MERGED, "Another")];
      mergeResult = { kind: "merge", sha: MERGED, targetHead: STAGE_HEAD };

      const result = await run();

      expect(result.outcome).toBe("refused");
      expect(result.reason).toMatch(
        /^stage has 2 commits touching the program \(stacks\/app\) that test lacks: 444444444444 by Bob "Hotfix the queue", 333333333333 by Bob "Another"\. .*--allow-target-ahead/,
      );
      expect(result.targetAhead).toEqual(ahead);
      expect(calls.commitsBetween).toEqual([
        [TEST_HEAD, STAGE_HEAD, { include: [PROJECT], exclude: [`${PROJECT}/Pulumi.*.yaml`] }],
      ]);
      expect(calls.push).toEqual([]);
    });

    it("on a conflict, naming the files", async () => {
      mergeResult = { kind: "conflict", files: ["README.md", "stacks/app/index.ts"], targetHead: STAGE_HEAD };

      const result = await run();

      expect(result).toMatchObject({ outcome: "refused", conflicts: ["README.md", "stacks/app/index.ts"] });
      expect(result.reason).toMatch(
        /conflicts in 2 files \(README\.md, stacks\/app\/index\.ts\); nothing was pushed/,
      );
      expect(calls.push).toEqual([]);
    });

    it("when the push is rejected because the target moved meanwhile", async () => {
      pushError = new PushRejectedError("stage", "fetch first", true);

      const result = await run();

      expect(result.outcome).toBe("refused");
      expect(result.reason).toMatch(/moved on the remote meanwhile.*; promote again$/);
      expect(fs.existsSync(path.join(root, "scratch", "promote"))).toBe(false);
    });
  });

  it("fast-forwards and pushes, removing the scratch worktree; the merge message names the actor", async () => {
    const result = await run();

    expect(result).toMatchObject({
      outcome: "promoted",
      kind: "fast-forward",
      sha: TEST_HEAD,
      actor: "ada",
      dryRun: false,
      from: { environment: "test", branch: "test", head: TEST_HEAD, deployed: TEST_HEAD },
      to: { environment: "stage", branch: "stage", head: STAGE_HEAD },
    });
    expect(result.reason).toBe("fast-forwarded stage from 222222222222 to test's 111111111111");
    const scratch = path.join(root, "scratch", "promote");
    expect(calls.merge[0]).toMatchObject({ target: "stage", source: TEST_HEAD, dir: scratch });
    expect(calls.merge[0]?.message).toMatch(/^Promote test into stage\n[\s\S]*\nPromoted-by: ada$/);
    expect(calls.push).toEqual([[scratch, "stage"]]);
    expect(fs.existsSync(scratch)).toBe(false);
  });

  it("promotes a source whose head is Synced though an older commit is the deployed one", async () => {
    // A commit nothing could preview (a README) is never applied, but it is as good as deployed.
    states.test = synced({ deployedCommit: OLDER });
    expect((await run()).outcome).toBe("promoted");
  });

  it("keeps the target's own program commits when allowed, and says so", async () => {
    ahead = [commit(OLDER, "Hotfix")];
    mergeResult = { kind: "merge", sha: MERGED, targetHead: STAGE_HEAD };

    const result = await run({ allowTargetAhead: true });

    expect(result).toMatchObject({ outcome: "promoted", kind: "merge", sha: MERGED, targetAhead: ahead });
    expect(result.reason).toBe(
      "merged test's 111111111111 into stage's 222222222222 as 333333333333 (keeping 1 program commit of stage, as allowed)",
    );
  });

  it("judges the target head that was merged when the branch moved after the poll", async () => {
    mergeResult = { kind: "merge", sha: MERGED, targetHead: OLDER };
    const result = await run();
    expect(result.to.head).toBe(OLDER);
    expect(calls.commitsBetween[0]?.[1]).toBe(OLDER);
  });

  it("is up to date when the target already has the source's head", async () => {
    mergeResult = { kind: "up-to-date", sha: STAGE_HEAD, targetHead: STAGE_HEAD };
    ahead = [commit(OLDER, "stage's own, irrelevant when there is nothing to promote")];

    const result = await run();

    expect(result).toMatchObject({ outcome: "up-to-date", sha: STAGE_HEAD });
    expect(result.reason).toMatch(/stage already contains test's 111111111111; nothing to promote/);
    expect(calls.push).toEqual([]);
  });

  it("dry run: previews the target in the merged worktree and pushes nothing", async () => {
    mergeResult = { kind: "merge", sha: MERGED, targetHead: STAGE_HEAD };

    const result = await run({ dryRun: true });

    expect(result).toMatchObject({ outcome: "dry-run", kind: "merge", sha: MERGED, dryRun: true });
    expect(result.preview).toEqual({ kind: "pending", resources: [] });
    expect(result.reason).toMatch(/^dry run: would merge test's .*; nothing was pushed$/);
    expect(calls.preview).toEqual([["stage", path.join(root, "scratch", "promote"), true]]);
    expect(calls.push).toEqual([]);
    expect(fs.existsSync(path.join(root, "scratch", "promote"))).toBe(false);
  });

  it("throws Git failures other than a rejection, still removing the scratch worktree", async () => {
    pushError = new GitError("git push failed: network unreachable");
    await expect(run()).rejects.toThrow(/network unreachable/);
    expect(fs.existsSync(path.join(root, "scratch", "promote"))).toBe(false);
  });
});
