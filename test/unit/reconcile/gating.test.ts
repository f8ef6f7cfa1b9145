import { describe, expect, it } from "vitest";
import type { Gates } from "../../../src/domain/gates";
import type { CommitInfo } from "../../../src/domain/model";
import { evaluatePlan, gatesInForce, type GatingContext } from "../../../src/reconcile/gating";
import type { Store } from "../../../src/adapters/store/port";
import { approval, COMMIT, plan } from "../gates/fixtures";

// Which gates are in force, with fakes for Git and the store: the union of the config ref's and the
// deployed commit's, never the commit being deployed.

const NONE: Gates = { windows: [], checks: [], policyPacks: [] };
const APPROVAL: Gates = { ...NONE, approval: { required: 1, approvers: [], allowSelfApproval: false } };
const WINDOW: Gates = {
  ...NONE,
  windows: [{ kind: "deny", schedule: "0 0 * * *", durationMs: 86_400_000, timezone: "UTC" }],
};
const DEPLOYED = "d".repeat(40);

function commitInfo(sha: string, authorEmail = "dev@example.com"): CommitInfo {
  return { sha, author: "Dev", authorEmail, date: "2026-11-27T00:00:00Z", message: "change" };
}

function context(byCommit: Record<string, Gates | undefined>, approvals = [approval("ops@example.com")]) {
  const ctx: GatingContext = {
    git: {
      treeHash: () => Promise.resolve("tree"),
      commitsBetween: () => Promise.resolve([commitInfo(COMMIT)]),
      commit: (sha) => Promise.resolve(commitInfo(sha)),
    },
    store: { approvals: () => approvals, success: () => undefined } as unknown as Store,
    gatesAt: (_env, commit) => Promise.resolve(byCommit[commit]),
    runCommand: () => Promise.reject(new Error("no checks here")),
    now: () => new Date("2026-11-27T12:00:00Z"),
  };
  return ctx;
}

const env = (gates: Gates) => ({ name: "prod", project: "stacks/app", gates });

describe("gatesInForce", () => {
  it("keeps the deployed commit's gates when the commit being deployed drops them, and says so", async () => {
    const ctx = context({ [DEPLOYED]: APPROVAL, [COMMIT]: NONE });
    const inForce = await gatesInForce(ctx, env(NONE), DEPLOYED, COMMIT);
    expect(inForce.sets).toEqual([NONE, APPROVAL]);
    expect(inForce.change.join("\n")).toMatch(/approval/);
  });

  it("keeps the config ref's gates when the deployed commit has none", async () => {
    const inForce = await gatesInForce(context({}), env(WINDOW), DEPLOYED, COMMIT);
    expect(inForce.sets).toEqual([WINDOW]);
    expect(inForce.change).toEqual([]);
  });

  it("counts equal sets once", async () => {
    const inForce = await gatesInForce(context({ [DEPLOYED]: APPROVAL }), env(APPROVAL), DEPLOYED, COMMIT);
    expect(inForce.sets).toEqual([APPROVAL]);
  });
});

describe("evaluatePlan", () => {
  it("needs every set in force to pass: an approval does not open a deny window", async () => {
    const ctx = context({});
    const result = await evaluatePlan(
      ctx,
      env(APPROVAL),
      { sets: [APPROVAL, WINDOW], change: [] },
      { plan: plan(), deployed: DEPLOYED, projectDir: "/nowhere", programTree: "tree", policy: [] },
    );
    expect(result.outcome).toBe("block");
    expect(result.verdicts.map((v) => [v.gate, v.verdict])).toEqual([
      ["approval", "pass"],
      ["window", "block"],
    ]);
    expect(result.approvals.map((a) => a.approver)).toEqual(["ops@example.com"]);
    expect(result.bound).toBe(true);
  });

  it("does not count an author's own approval", async () => {
    const ctx = context({}, [approval("dev@example.com")]);
    const result = await evaluatePlan(
      ctx,
      env(APPROVAL),
      { sets: [APPROVAL], change: [] },
      { plan: plan(), deployed: DEPLOYED, projectDir: "/nowhere", programTree: "tree", policy: [] },
    );
    expect(result.outcome).not.toBe("pass");
    expect(result.reason).toMatch(/self-approval/);
  });
});
