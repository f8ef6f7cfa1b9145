import { describe, expect, it } from "vitest";
import type { Gates } from "../../../src/domain/gates";
import type { RunOptions } from "../../../src/reconcile/run";
import { decideResolution } from "../../../src/reconcile/classify";
import { planOf } from "../../../src/reconcile/judge";
import { acceptLines, codifiedValues } from "../../../src/render/drift-resolution";
import { FakeStack, changes, resource } from "../../support/fake-stack";
import { CHECK, NO_GATES, SYNC, environment, useRunHarness } from "../../support/run-harness";

// A person's restore or accept of drift: each its own plan (and digest), gated and audited like a
// sync, whatever the drift policy.

const h = useRunHarness();

const APPROVAL: Gates = { ...NO_GATES, approval: { required: 1, approvers: [], allowSelfApproval: false } };
const RESTORE: RunOptions = { ...SYNC, resolve: "restore-drift" };
const ACCEPT: RunOptions = { ...SYNC, resolve: "accept-drift" };
const PLAN_ACCEPT: RunOptions = { ...CHECK, resolve: "accept-drift" };

const TAG_DRIFT = changes("drift", {
  ...resource("assets", "drifted"),
  properties: [{ path: "tags.team", kind: "update", old: "platform", new: "intruders", replaces: false }],
});
const TAG_BACK = changes("pending", {
  ...resource("assets", "update"),
  properties: [{ path: "tags.team", kind: "update", old: "intruders", new: "platform", replaces: false }],
});

function history() {
  const deployed = h.git.add("deployed");
  const head = h.git.add("head", { parent: deployed });
  h.git.branches.set("env/test", head);
  return { deployed, head };
}

function stack(pending = [changes("pending")], deployed?: string) {
  h.stack = new FakeStack({
    pending,
    drift: [TAG_DRIFT],
    ...(deployed ? { deployed: { commit: deployed, version: 1, endTime: new Date(0) } } : {}),
  });
}

describe("decideResolution", () => {
  it("restores (remediating) or accepts drift, and has nothing to do without it", () => {
    expect(decideResolution("restore-drift", undefined, TAG_DRIFT)).toEqual({ sync: true, remediate: true });
    expect(decideResolution("accept-drift", TAG_BACK, TAG_DRIFT)).toEqual({ sync: true, remediate: false });
    expect(decideResolution("restore-drift", undefined, changes("drift"))).toEqual({
      sync: false,
      remediate: false,
      reason: "no drift to restore",
    });
    expect(decideResolution("accept-drift", TAG_BACK, changes("drift")).reason).toBe(
      "no drift to accept; a plain sync applies the pending changes",
    );
  });

  it("does not restore drift an update cannot put back, and says why; accepting it is still possible", () => {
    const kept = changes("drift", {
      ...resource("web", "drifted", "kubernetes:apps/v1:Deployment"),
      properties: [
        {
          path: "metadata.labels.a",
          kind: "add",
          new: "x",
          replaces: false,
          notRestorable: "set by kubectl",
        },
        {
          path: "metadata.labels.b",
          kind: "add",
          new: "y",
          replaces: false,
          notRestorable: "set by kubectl",
        },
      ],
    });
    expect(decideResolution("restore-drift", undefined, kept)).toEqual({
      sync: false,
      remediate: false,
      reason:
        "an update cannot restore this drift: not restored: metadata.labels.a on kubernetes:apps/v1:Deployment web and 1 more (set by kubectl)",
    });
    expect(decideResolution("accept-drift", undefined, kept)).toEqual({ sync: true, remediate: false });
    const mixed = changes("drift", ...kept.resources, ...TAG_DRIFT.resources);
    expect(decideResolution("restore-drift", undefined, mixed)).toEqual({ sync: true, remediate: true });
  });

  it("gives each resolution a digest of its own, never a plain sync's", () => {
    const env = { name: "test", stack: "test" };
    const digests = [
      planOf(env, "a".repeat(40), true, undefined, TAG_DRIFT).digest,
      planOf(env, "a".repeat(40), true, undefined, TAG_DRIFT, "restore-drift").digest,
      planOf(env, "a".repeat(40), false, undefined, TAG_DRIFT, "accept-drift").digest,
      planOf(env, "a".repeat(40), false, undefined, TAG_DRIFT).digest,
    ];
    expect(new Set(digests).size).toBe(4);
  });
});

describe("restore drift", () => {
  it("runs a remediating sync once under the report policy, audited as restore-drift", async () => {
    const { deployed, head } = history();
    stack([changes("pending")], deployed);
    const plain = await h.run(environment(), SYNC);
    expect(plain.status).toBe("Drifted");
    expect(h.stack.calls).not.toContain("up");

    const report = await h.run(environment(), RESTORE);
    expect(report).toMatchObject({
      status: "Synced",
      reason: "drift restored and changes applied",
      plan: { remediate: true, resolve: "restore-drift", commit: head },
    });
    expect(h.stack.ups).toEqual([{ commit: head, refresh: true }]);
    expect(await h.store.status("test")).toMatchObject({ status: "Synced", driftCount: 0 });
    expect(h.audit.at(-1)).toMatchObject({
      action: "restore-drift",
      verdict: "Synced",
      planDigest: report.plan?.digest,
      details: { resolve: "restore-drift" },
    });
  });

  it("says there is nothing to restore without drift, and applies nothing", async () => {
    const { deployed } = history();
    h.stack = new FakeStack({ deployed: { commit: deployed, version: 1, endTime: new Date(0) } });
    const report = await h.run(environment(), RESTORE);
    expect(report).toMatchObject({ status: "Synced", reason: "no drift to restore" });
    expect(h.stack.calls).not.toContain("up");
  });
});

describe("accept drift", () => {
  it("refreshes the state from the live values, applies nothing of the program, and is Synced when the program agrees", async () => {
    const { deployed } = history();
    stack([changes("pending")], deployed);
    const report = await h.run(environment(), ACCEPT);

    expect(h.stack.calls).toContain("refresh");
    expect(h.stack.calls).not.toContain("up");
    expect(report).toMatchObject({
      status: "Synced",
      reason: "drift accepted into the deployed state",
      // Nothing of the head was deployed: the plan is the drift at the deployed commit.
      plan: { commit: deployed, remediate: false, resolve: "accept-drift" },
      deployed: { commit: deployed },
      sync: { applied: true },
    });
    expect(await h.store.status("test")).toMatchObject({ driftCount: 0, deployedCommit: deployed });
    expect(h.audit.at(-1)).toMatchObject({ action: "accept-drift", verdict: "Synced" });

    // State = live: the next check finds no drift.
    expect((await h.run(environment())).status).toBe("Synced");
  });

  it("is OutOfSync when the program differs from the live values, and says so", async () => {
    const { deployed } = history();
    // The observation's preview finds nothing (state was the program's); the one after the refresh finds the tag.
    stack([changes("pending"), TAG_BACK], deployed);
    const report = await h.run(environment(), ACCEPT);
    expect(report.status).toBe("OutOfSync");
    expect(report.reason).toMatch(/^drift accepted into the deployed state; the program still differs/);
    expect(report.pending).toEqual(TAG_BACK);
    expect(await h.store.status("test")).toMatchObject({
      status: "OutOfSync",
      pendingCount: 1,
      driftCount: 0,
    });
    expect(acceptLines(report)).toEqual([
      "Drift accepted: the deployed state now holds the live values.",
      "To keep them, change the program or its stack config on branch env/test and commit:",
      '  aws:s3/bucket:Bucket assets: tags.team: set it to "intruders" (the program says "platform")',
      "The program still differs from the live values (1 pending resource change(s)): until it is changed, the next check is OutOfSync and a sync puts the program's values back.",
    ]);
  });

  it("waits for an approval of exactly its plan on a gated environment", async () => {
    const { deployed, head } = history();
    const env = environment({ gates: APPROVAL });
    stack([changes("pending")], deployed);
    const plain = await h.run(env, { ...CHECK, resolve: "restore-drift" });
    const planned = await h.run(env, PLAN_ACCEPT);
    expect(planned.status).toBe("AwaitingApproval");
    const digest = planned.plan?.digest ?? "";
    expect(digest).not.toBe(plain.plan?.digest);

    // An approval of the restore does not cover the accept.
    await h.approve(head, plain.plan?.digest ?? "", "approval-restore");
    expect((await h.run(env, ACCEPT)).status).toBe("AwaitingApproval");
    expect(h.stack.calls).not.toContain("refresh");

    await h.approve(deployed, digest, "approval-accept");
    const accepted = await h.run(env, ACCEPT);
    expect(accepted).toMatchObject({ status: "Synced", plan: { digest } });
    expect(h.stack.calls).toContain("refresh");
    expect(h.audit.at(-1)).toMatchObject({ action: "accept-drift", planDigest: digest });
  });
});

describe("codifiedValues", () => {
  it("lists each drifted property with the live value to put in the program", () => {
    expect(codifiedValues(TAG_DRIFT)).toEqual([
      {
        resource: "assets",
        type: "aws:s3/bucket:Bucket",
        path: "tags.team",
        program: "platform",
        live: "intruders",
        kind: "update",
      },
    ]);
    expect(codifiedValues(undefined)).toEqual([]);
  });
});
