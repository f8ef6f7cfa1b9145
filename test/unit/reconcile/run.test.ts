import { describe, expect, it } from "vitest";
import { PulumiError } from "../../../src/adapters/pulumi/errors";
import { StoreError } from "../../../src/adapters/store/errors";
import type { ChangeSet } from "../../../src/domain/changes";
import type { Gates } from "../../../src/domain/gates";
import { RunNotRecordedError } from "../../../src/reconcile/run";
import { FakeStack, changes, resource } from "../../support/fake-stack";
import { failingStore } from "../../support/failing-store";
import { CHECK, NO_GATES, SYNC, environment, useRunHarness } from "../../support/run-harness";

// One run of one environment through observe → judge → sync → record, with Git, the stack, the
// lease and the clock faked and the real SQLite store: every status, in milliseconds.

const h = useRunHarness();

const APPROVAL: Gates = { ...NO_GATES, approval: { required: 1, approvers: [], allowSelfApproval: false } };
const REFUSE_DELETES: Gates = {
  ...NO_GATES,
  protect: { operations: ["delete"], resources: [], action: "refuse" },
};

/** A branch `env/test` whose head descends from a deployed commit; returns both. */
function history() {
  const deployed = h.git.add("deployed");
  const head = h.git.add("head", { parent: deployed });
  h.git.branches.set("env/test", head);
  return { deployed, head };
}

function script(pending = changes("pending"), drift = changes("drift"), deployed?: string) {
  h.stack = new FakeStack({
    pending: [pending],
    drift: [drift],
    ...(deployed ? { deployed: { commit: deployed, version: 1, endTime: new Date(0) } } : {}),
  });
}

/** Nothing pending; each drift preview takes the next answer (the last repeats). */
function scriptDrift(deployed: string, ...drift: ChangeSet[]) {
  h.stack = new FakeStack({ drift, deployed: { commit: deployed, version: 1, endTime: new Date(0) } });
}

const CREATE = changes("pending", resource("logs", "create"));
/** A label the program does not declare: drift an update may leave. */
const KEPT_LABEL = {
  ...resource("web", "drifted", "kubernetes:apps/v1:Deployment"),
  properties: [
    {
      path: "metadata.labels.hotfix",
      kind: "add" as const,
      new: "x",
      replaces: false,
      notRestorable: "set by kubectl",
    },
  ],
};
const DRIFT = changes("drift", resource("assets", "drifted"));

describe("a run's status", () => {
  it("is Synced when nothing is pending or drifted, and records the program tree's success", async () => {
    const { deployed, head } = history();
    script(changes("pending"), changes("drift"), deployed);
    const report = await h.run(environment());

    expect(report).toMatchObject({
      status: "Synced",
      deployed: { commit: deployed },
      desired: { sha: head },
    });
    expect(report.reason).toBeUndefined();
    expect(Object.keys(report.timings)).toEqual([
      "poll",
      "checkout",
      "install",
      "stack",
      "salt",
      // The drift preview starts beside the history read and the gates.
      "drift",
      "deployed",
      "gates",
      "preview",
    ]);
    expect(await h.store.status("test")).toMatchObject({
      status: "Synced",
      headCommit: head,
      pendingCount: 0,
    });
    expect(await h.store.run(report.runId)).toMatchObject({ outcome: "succeeded" });
    expect(await h.store.report(report.runId)).toEqual(report);
    expect(h.reportFiles).toEqual([report]);
    expect(await h.store.success("test", `tree-${head.slice(0, 8)}`)).toMatchObject({ commit: head });
    expect(h.audit.map((e) => [e.action, e.verdict])).toEqual([["check", "Synced"]]);
    expect(h.stack.calls).not.toContain("up");
  });

  it("is OutOfSync with a pending change; a check judges the plan but applies nothing", async () => {
    const { deployed, head } = history();
    script(CREATE, changes("drift"), deployed);
    const report = await h.run(environment());

    expect(report.status).toBe("OutOfSync");
    expect(report.reason).toBe("every gate passes; a sync would apply this plan");
    expect(report.plan).toMatchObject({ commit: head, remediate: false });
    expect(h.audit.map((e) => [e.action, e.verdict])).toEqual([
      ["gate", "pass"],
      ["check", "OutOfSync"],
    ]);
    expect(h.audit[1]?.planDigest).toBe(report.plan?.digest);
    expect(await h.store.status("test")).toMatchObject({ status: "OutOfSync", pendingCount: 1 });
    expect(await h.store.success("test", `tree-${head.slice(0, 8)}`)).toBeUndefined();
    expect(h.stack.calls).not.toContain("up");
  });

  it("is Drifted with drift under the report policy, and says drift is not restored", async () => {
    const { deployed } = history();
    script(changes("pending"), DRIFT, deployed);
    const report = await h.run(environment());

    expect(report.status).toBe("Drifted");
    expect(report.reason).toBe("drift policy is report: drift is reported, not restored");
    expect(report.plan).toBeUndefined();
    expect(await h.store.status("test")).toMatchObject({ driftCount: 1 });
  });

  it("is OutOfSync+Drifted with both", async () => {
    const { deployed } = history();
    script(CREATE, DRIFT, deployed);
    const report = await h.run(environment());

    expect(report.status).toBe("OutOfSync+Drifted");
    expect(report.pending?.resources).toHaveLength(1);
    expect(report.drift?.resources).toHaveLength(1);
  });

  it("is AwaitingApproval when an approval gate has none, and nothing is applied", async () => {
    const { deployed } = history();
    script(CREATE, changes("drift"), deployed);
    const report = await h.run(environment({ gates: APPROVAL }), SYNC);

    expect(report.status).toBe("AwaitingApproval");
    expect(report.gates?.find((g) => g.gate === "approval")?.verdict).toBe("wait");
    expect(h.audit.map((e) => [e.action, e.verdict])).toEqual([
      ["gate", "wait"],
      ["check", "AwaitingApproval"],
    ]);
    expect(h.leases.taken).toBe(0);
    expect(h.stack.calls).not.toContain("up");
  });

  it("is Blocked when a protect gate refuses a delete", async () => {
    const { deployed } = history();
    script(changes("pending", resource("logs", "delete")), changes("drift"), deployed);
    const report = await h.run(environment({ gates: REFUSE_DELETES }), SYNC);

    expect(report.status).toBe("Blocked");
    expect(report.reason).toMatch(/^protected: /);
    expect(report.gates?.find((g) => g.gate === "protected")?.verdict).toBe("block");
    expect(h.stack.calls).not.toContain("up");
  });

  it("is Blocked when the head does not descend from the deployed commit, before the pending preview", async () => {
    const deployed = h.git.add("deployed");
    const rewritten = h.git.add("rewritten");
    h.git.branches.set("env/test", rewritten);
    script(CREATE, changes("drift"), deployed);
    const report = await h.run(environment(), SYNC);

    expect(report.status).toBe("Blocked");
    expect(report.reason).toMatch(/^history rewritten: /);
    expect(report.deployed?.commit).toBe(deployed);
    expect(h.stack.calls).not.toContain("preview");
    expect(await h.store.run(report.runId)).toMatchObject({ outcome: "skipped" });
  });

  it("is Blocked when the deployed commit is unknown to the repository", async () => {
    const head = h.git.add("head");
    h.git.branches.set("env/test", head);
    script(CREATE, changes("drift"), "f".repeat(40));
    const report = await h.run(environment());

    expect(report.status).toBe("Blocked");
    expect(report.reason).toMatch(/^history rewritten: /);
  });

  it("is Failed when the preview fails, with the classified error and its recovery step", async () => {
    const { deployed, head } = history();
    h.stack = new FakeStack({
      pending: [new PulumiError("provider-error", "error: creating bucket failed")],
      deployed: { commit: deployed, version: 1, endTime: new Date(0) },
    });
    const report = await h.run(environment());

    expect(report.status).toBe("Failed");
    expect(report.reason).toMatch(/^error: creating bucket failed — what to do: the cloud provider rejected/);
    // What was learned before the failure stays in the report.
    expect(report).toMatchObject({ desired: { sha: head }, deployed: { commit: deployed } });
    expect(report.dependencies).toEqual({ key: "lock-1", installed: false });
    expect(await h.store.run(report.runId)).toMatchObject({
      outcome: "failed",
      error: { kind: "unavailable", message: "error: creating bucket failed" },
    });
    expect(h.audit.map((e) => [e.action, e.verdict])).toEqual([["failure", "Failed"]]);
    expect(
      h.log.lines.some((l) => l.level === "error" && l.message === "error: creating bucket failed"),
    ).toBe(true);
  });

  it("is Failed when an interrupted update left pending operations, and nothing is previewed", async () => {
    history();
    h.stack = new FakeStack({
      pendingOperations: [
        { urn: "urn:pulumi:test::app::aws:s3/bucket:Bucket::logs", type: "x", operation: "creating" },
      ],
    });
    const report = await h.run(environment(), SYNC);

    expect(report.status).toBe("Failed");
    expect(report.reason).toMatch(/interrupted update left 1 pending operation\(s\) \(creating urn:/);
    expect(report.reason).toMatch(/`tidegate recover test`/);
    expect(h.stack.calls).toEqual(["verifySecrets", "pendingOperations"]);
    expect(await h.store.run(report.runId)).toMatchObject({ outcome: "skipped" });
  });

  it("is Unknown when the branch is gone, and keeps what the store knew was deployed", async () => {
    const { deployed } = history();
    script(changes("pending"), changes("drift"), deployed);
    await h.run(environment());
    h.git.branches.delete("env/test");
    const report = await h.run(environment(), SYNC);

    expect(report.status).toBe("Unknown");
    expect(report.reason).toBe("branch 'env/test' is not on the remote (deleted?); nothing was changed");
    expect(report.deployed?.commit).toBe(deployed);
    expect(Object.keys(report.timings)).toEqual(["poll"]);
    const state = await h.store.status("test");
    expect(state).toMatchObject({ status: "Unknown", deployedCommit: deployed });
    expect(state?.headCommit).toBeUndefined();
  });
});

describe("a sync", () => {
  it("applies the head under the lease and records it deployed", async () => {
    const { deployed, head } = history();
    script(CREATE, changes("drift"), deployed);
    const report = await h.run(environment(), SYNC);

    expect(report.status).toBe("Synced");
    expect(report.sync).toEqual({ applied: true, summary: { update: 1 } });
    expect(report.deployed?.commit).toBe(head);
    expect(h.stack.ups).toEqual([{ commit: head, refresh: false }]);
    expect(h.leases).toMatchObject({ taken: 1, released: 1 });
    expect(Object.keys(report.timings)).toContain("sync");
    expect(await h.store.status("test")).toMatchObject({
      status: "Synced",
      deployedCommit: head,
      pendingCount: 0,
    });
    expect(await h.store.success("test", `tree-${head.slice(0, 8)}`)).toMatchObject({ commit: head });
    expect(h.audit.map((e) => [e.action, e.verdict])).toEqual([
      ["gate", "pass"],
      ["sync", "Synced"],
    ]);
  });

  it("restores drift under the remediate policy, and says so", async () => {
    const { deployed, head } = history();
    script(changes("pending"), DRIFT, deployed);
    const report = await h.run(environment({ drift: { policy: "remediate" } }), SYNC);

    expect(report).toMatchObject({ status: "Synced", reason: "drift restored and changes applied" });
    expect(h.stack.ups).toEqual([{ commit: head, refresh: true }]);
    expect(await h.store.status("test")).toMatchObject({ driftCount: 0, pendingCount: 0 });
  });

  it("after remediating, stays Drifted on what an update cannot restore, and does not update for it alone", async () => {
    const { deployed, head } = history();
    // The drift read back after the update holds the label still.
    scriptDrift(
      deployed,
      changes("drift", resource("svc", "missing"), KEPT_LABEL),
      changes("drift", KEPT_LABEL),
    );
    const report = await h.run(environment({ drift: { policy: "remediate" } }), SYNC);

    expect(h.stack.ups).toEqual([{ commit: head, refresh: true }]);
    expect(h.stack.calls.filter((c) => c === "previewDrift")).toHaveLength(2);
    expect(report.status).toBe("Drifted");
    expect(report.reason).toBe(
      "drift restored except what an update cannot restore; not restored: metadata.labels.hotfix on kubernetes:apps/v1:Deployment web (set by kubectl)",
    );
    expect(await h.store.status("test")).toMatchObject({ status: "Drifted", driftCount: 1 });

    // The next check finds only the kept drift: no update, and still Drifted with why.
    script(changes("pending"), changes("drift", KEPT_LABEL), head);
    const again = await h.run(environment({ drift: { policy: "remediate" } }), SYNC);
    expect(h.stack.ups).toEqual([]);
    expect(again).toMatchObject({
      status: "Drifted",
      reason:
        "an update cannot restore this drift: not restored: metadata.labels.hotfix on kubernetes:apps/v1:Deployment web (set by kubectl)",
    });
  });

  it("before a remediating update, hands the kept drift to the stack to take over; a failure only warns", async () => {
    const { deployed, head } = history();
    const drift = changes("drift", resource("svc", "missing"), KEPT_LABEL);
    const seen: string[] = [];
    const takeOverFields = (given: ChangeSet) => {
      seen.push(
        `takeOverFields:${given.resources.length}`,
        `updated before: ${h.stack.calls.includes("up")}`,
      );
      return Promise.resolve({ moved: ["Deployment p/web: metadata.labels.hotfix"], warnings: [] });
    };
    scriptDrift(deployed, drift, changes("drift"));
    Object.assign(h.stack, { takeOverFields });
    const report = await h.run(environment({ drift: { policy: "remediate" } }), SYNC);
    // Called with the plan's drift, before the update.
    expect(seen).toEqual(["takeOverFields:2", "updated before: false"]);
    expect(h.stack.ups).toEqual([{ commit: head, refresh: true }]);
    expect(report.status).toBe("Synced");
    const logged = () => h.log.lines.map((l) => `${l.level}: ${l.message}`);
    expect(logged()).toContain("info: removed fields kubectl set that the program does not declare");

    // Failing to take them over: the update goes on, the read-back keeps the drift, a warning says why.
    scriptDrift(deployed, drift, changes("drift", KEPT_LABEL));
    Object.assign(h.stack, { takeOverFields: () => Promise.reject(new Error("connection refused")) });
    const kept = await h.run(environment({ drift: { policy: "remediate" } }), SYNC);
    expect(h.stack.ups).toEqual([{ commit: head, refresh: true }]);
    expect(kept.status).toBe("Drifted");
    expect(logged()).toContain("warn: the fields kubectl set were not taken over: Error: connection refused");
  });

  it("takes over nothing without kept drift, nor outside a remediation", async () => {
    const { deployed } = history();
    let called = 0;
    const takeOverFields = () => {
      called++;
      return Promise.resolve({ moved: [], warnings: [] });
    };
    scriptDrift(deployed, changes("drift", resource("svc", "missing")), changes("drift"));
    Object.assign(h.stack, { takeOverFields });
    await h.run(environment({ drift: { policy: "remediate" } }), SYNC);
    script(CREATE, changes("drift", KEPT_LABEL), deployed);
    Object.assign(h.stack, { takeOverFields });
    await h.run(environment(), SYNC);
    expect(h.stack.ups).toHaveLength(1);
    expect(called).toBe(0);
  });

  it("is Synced after remediating when the drift read back shows the update removed what it might have left", async () => {
    const { deployed } = history();
    scriptDrift(deployed, changes("drift", KEPT_LABEL), changes("drift"));
    // A restore has nothing an update could do for this drift alone either.
    const report = await h.run(environment(), { ...SYNC, resolve: "restore-drift" });
    expect(report).toMatchObject({ status: "Drifted" });
    expect(h.stack.ups).toEqual([]);

    scriptDrift(deployed, changes("drift", resource("svc", "missing"), KEPT_LABEL), changes("drift"));
    const remediated = await h.run(environment({ drift: { policy: "remediate" } }), SYNC);
    expect(remediated).toMatchObject({ status: "Synced", reason: "drift restored and changes applied" });
    expect(await h.store.status("test")).toMatchObject({ status: "Synced", driftCount: 0 });
  });

  it("applies nothing when another tidegate holds the lease", async () => {
    const { deployed } = history();
    script(CREATE, changes("drift"), deployed);
    h.leases.held = true;
    const report = await h.run(environment(), SYNC);

    expect(report).toMatchObject({
      status: "OutOfSync",
      reason: "another tidegate is syncing this stack; it will be checked again",
      sync: { applied: false },
    });
    expect(h.stack.calls).not.toContain("up");
  });

  it("applies an approved plan, and is Blocked without applying when the plan changed since", async () => {
    const { deployed, head } = history();
    const env = environment({ gates: APPROVAL });
    const other = changes("pending", resource("logs", "create"), resource("extra", "create"));
    // The plan run, the sync's own preview, then the re-verification under the lease finds more.
    h.stack = new FakeStack({
      pending: [CREATE, CREATE, other],
      deployed: { commit: deployed, version: 1, endTime: new Date(0) },
    });
    const planned = await h.run(env, CHECK);
    expect(planned.status).toBe("AwaitingApproval");
    const digest = planned.plan?.digest ?? "";
    await h.store.addApproval({
      id: "approval-1",
      environment: "test",
      commit: head,
      planDigest: digest,
      approver: "ops@example.com",
      scope: "sync",
      at: h.clock.now().toISOString(),
    });

    const report = await h.run(env, SYNC);
    expect(report.status).toBe("Blocked");
    expect(report.reason).toMatch(/^the plan changed after it was approved \(approved [0-9a-f]{12}, now /);
    expect(report.sync).toEqual({ applied: false });
    expect(h.stack.calls).not.toContain("up");
    expect(h.leases).toMatchObject({ taken: 1, released: 1 });

    // Approved and unchanged: the same plan is applied.
    h.stack = new FakeStack({
      pending: [CREATE],
      deployed: { commit: deployed, version: 1, endTime: new Date(0) },
    });
    const applied = await h.run(env, SYNC);
    expect(applied.status).toBe("Synced");
    expect(applied.plan?.digest).toBe(digest);
    // Held by the engine to the plan its preview saved.
    expect(h.stack.ups).toEqual([{ commit: head, refresh: false, followPlan: true }]);
  });

  /** A plan of `pending` approved on a check; returns the environment to sync. */
  async function approvedPlan(pending: ChangeSet) {
    const { deployed, head } = history();
    const env = environment({ gates: APPROVAL });
    h.stack = new FakeStack({
      pending: [pending],
      deployed: { commit: deployed, version: 1, endTime: new Date(0) },
    });
    const planned = await h.run(env, CHECK);
    await h.store.addApproval({
      id: "approval-1",
      environment: "test",
      commit: head,
      planDigest: planned.plan?.digest ?? "",
      approver: "ops@example.com",
      scope: "sync",
      at: h.clock.now().toISOString(),
    });
    return { env, head, deployed, digest: planned.plan?.digest };
  }

  it("applies an approved plan held to the saved update plan without previewing again when the state is unchanged", async () => {
    const { env, head, deployed, digest } = await approvedPlan(CREATE);
    h.stack = new FakeStack({
      pending: [CREATE],
      deployed: { commit: deployed, version: 1, endTime: new Date(0) },
      checkpoints: ["state-1"],
    });
    const applied = await h.run(env, SYNC);
    expect(applied.status).toBe("Synced");
    expect(applied.plan?.digest).toBe(digest);
    expect(h.stack.calls.filter((c) => c === "preview" || c === "previewDrift")).toEqual([
      "previewDrift",
      "preview",
    ]);
    expect(h.stack.calls).toContain("checkpoint (reread)");
    expect(h.stack.previewOptions).toEqual([{ savePlan: true }]);
    expect(h.stack.ups).toEqual([{ commit: head, refresh: false, followPlan: true }]);
  });

  it("previews again when the stack's state changed since the preview, and is Blocked when the plan changed", async () => {
    const { env, deployed } = await approvedPlan(CREATE);
    const other = changes("pending", resource("logs", "create"), resource("extra", "create"));
    h.stack = new FakeStack({
      pending: [CREATE, other],
      deployed: { commit: deployed, version: 1, endTime: new Date(0) },
      // Another update landed between the run's previews and its lease.
      checkpoints: ["state-1", "state-2"],
    });
    const report = await h.run(env, SYNC);
    expect(report.status).toBe("Blocked");
    expect(report.reason).toMatch(/^the plan changed after it was approved/);
    expect(h.stack.calls.filter((c) => c === "preview")).toHaveLength(2);
    expect(h.stack.calls).not.toContain("up");
  });

  it("is Failed when the update fails, and says it stopped halfway when operations are pending", async () => {
    const { deployed } = history();
    h.stack = new FakeStack({
      pending: [CREATE],
      deployed: { commit: deployed, version: 1, endTime: new Date(0) },
      up: new PulumiError("provider-error", "error: creating bucket failed"),
    });
    // Pending operations appear only once the update has failed.
    const up = h.stack.up.bind(h.stack);
    h.stack.up = async (options) => {
      h.stack.script.pendingOperations = [{ urn: "urn:x", type: "x", operation: "creating" }];
      return up(options);
    };
    const report = await h.run(environment(), SYNC);

    expect(report.status).toBe("Failed");
    expect(report.reason).toMatch(/The update stopped halfway: 1 operation\(s\) are pending on stack test/);
    expect(report.sync).toBeUndefined();
    expect(h.leases.released).toBe(1);
    expect(h.audit.map((e) => e.action)).toEqual(["gate", "failure"]);
  });
});

describe("recording a run", () => {
  it("reports a store failure as itself, not as a conflict, and still writes the audit log", async () => {
    const { deployed } = history();
    script(changes("pending"), changes("drift"), deployed);
    const failure = new StoreError("busy", "the store was locked for longer than 5000 ms");
    const real = h.store;
    h.store = failingStore(real, "saveReport", failure);

    const error = await h.run(environment()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(RunNotRecordedError);
    expect((error as RunNotRecordedError).cause).toBe(failure);
    expect((error as RunNotRecordedError).message).toMatch(
      /ended Synced but could not be recorded: the store was locked/,
    );
    const report = (error as RunNotRecordedError).report;
    expect(report.status).toBe("Synced");
    // Recorded once: the run ended once, no second attempt hit a conflict.
    expect(await real.run(report.runId)).toMatchObject({ outcome: "succeeded" });
    expect(h.audit.map((e) => e.action)).toEqual(["check"]);
    expect(h.reportFiles).toEqual([report]);
  });
});
