import { afterEach, describe, expect, it, vi } from "vitest";
import { ENGINE, person, token } from "../../../src/app/actor";
import { UnknownEnvironmentError } from "../../../src/app/errors";
import { status } from "../../../src/app/read";
import { AUTHOR, createFixture, environment, type EngineFixture, HEAD, QUEUE_UPDATE } from "./fixture";

const ALICE = person("alice@example.com");

describe("the engine's use cases", () => {
  let f: EngineFixture;
  afterEach(async () => f.cleanup());

  it("check, drift and sync record the run for the actor and trigger given; only sync may act", async () => {
    f = createFixture([environment("prod", { sync: { policy: "auto" }, gates: emptyGates() })]);
    f.pending = QUEUE_UPDATE;

    const checked = await f.engine.observe("check", "prod", { actor: ALICE, trigger: "cli:alice" });
    expect(checked.status).toBe("OutOfSync");
    expect(checked.sync).toBeUndefined();
    expect(await f.engine.store.run(checked.runId)).toMatchObject({ kind: "check", trigger: "cli:alice" });

    const drift = await f.engine.observe("drift", "prod", { actor: token("ci-bot", "ops@example.com") });
    expect(await f.engine.store.run(drift.runId)).toMatchObject({ kind: "drift", trigger: "token:ci-bot" });

    const synced = await f.engine.observe("sync", "prod", { actor: ENGINE });
    expect(synced).toMatchObject({ status: "Synced", sync: { applied: true } });
    const actors = (await f.engine.audit.entries({ environment: "prod" })).map((e) => [e.actor, e.action]);
    expect(actors).toEqual([
      ["alice@example.com", "gate"],
      ["alice@example.com", "check"],
      ["ci-bot", "check"],
      [ENGINE.id, "gate"],
      [ENGINE.id, "sync"],
    ]);
    // The status read through the read-only use case is the one the run left.
    expect((await status(f.engine)).map((r) => [r.environment, r.status])).toEqual([["prod", "Synced"]]);
  });

  it("approve binds the approval to the current plan and audits it under the actor", async () => {
    f = createFixture([environment("prod")]);
    f.pending = QUEUE_UPDATE;
    const plan = await f.engine.plan("prod", { actor: ALICE });
    expect(plan.status).toBe("AwaitingApproval");
    const digest = plan.plan?.digest as string;

    const result = await f.engine.approve("prod", { actor: ALICE, digest, comment: "looks right" });
    expect(result.refused).toBeUndefined();
    expect(result.approval).toMatchObject({
      approver: ALICE.id,
      commit: HEAD,
      planDigest: digest,
      scope: "sync",
    });
    expect(await f.engine.store.approvals("prod")).toHaveLength(1);
    const approvals = await f.engine.audit.entries({ action: "approve" });
    expect(approvals).toMatchObject([
      { actor: ALICE.id, verdict: "approved", planDigest: digest, reason: "looks right" },
    ]);
  });

  it("approve refuses, and audits the refusal, for a plan that changed, an author, or nothing to approve", async () => {
    f = createFixture([environment("prod")]);
    f.pending = QUEUE_UPDATE;

    const stale = await f.engine.approve("prod", { actor: ALICE, digest: `sha256:${"0".repeat(64)}` });
    expect(stale.refused).toMatch(/the plan changed since it was reviewed/);
    const self = await f.engine.approve("prod", { actor: person(AUTHOR) });
    expect(self.refused).toBeDefined();
    expect(self.approval).toBeUndefined();

    f.pending = { kind: "pending", resources: [] };
    const nothing = await f.engine.approve("prod", { actor: ALICE });
    expect(nothing.refused).toBe("nothing to approve: prod is Synced");

    expect(await f.engine.store.approvals("prod")).toEqual([]);
    expect((await f.engine.audit.entries({ action: "approve" })).map((e) => [e.actor, e.verdict])).toEqual([
      [ALICE.id, "refused"],
      [AUTHOR, "refused"],
      [ALICE.id, "refused"],
    ]);
  });

  it("refuses an approval through a token whose owner authored the change, as it refuses the author", async () => {
    f = createFixture([environment("prod")]);
    f.pending = QUEUE_UPDATE;
    const digest = (await f.engine.plan("prod", { actor: ALICE })).plan?.digest as string;

    const bot = await f.engine.approve("prod", { actor: token("ci-bot", AUTHOR), digest });
    expect(bot.approval).toBeUndefined();
    expect(bot.refused).toContain(
      `self-approval by ci-bot (token of ${AUTHOR}) does not count (an author of the change)`,
    );
    // A token of someone else counts, and records who is behind it.
    const other = await f.engine.approve("prod", { actor: token("release-bot", ALICE.id), digest });
    expect(other.approval).toMatchObject({ approver: "release-bot", owner: ALICE.id });
    expect((await f.engine.store.approvals("prod")).map((a) => [a.approver, a.owner])).toEqual([
      ["release-bot", ALICE.id],
    ]);
    expect((await f.engine.audit.entries({ action: "approve" })).map((e) => [e.actor, e.verdict])).toEqual([
      ["ci-bot", "refused"],
      ["release-bot", "approved"],
    ]);
  });

  it("revoke withdraws the actor's own approvals unless told whose, and audits each", async () => {
    f = createFixture([environment("prod")]);
    f.pending = QUEUE_UPDATE;
    const bob = person("bob@example.com");
    await f.engine.approve("prod", { actor: ALICE });
    await f.engine.approve("prod", { actor: bob });

    expect((await f.engine.revoke("prod", { actor: ALICE })).map((a) => a.approver)).toEqual([ALICE.id]);
    expect((await f.engine.store.approvals("prod")).map((a) => a.approver)).toEqual([bob.id]);
    expect((await f.engine.revoke("prod", { actor: ALICE, all: true })).map((a) => a.approver)).toEqual([
      bob.id,
    ]);
    expect((await f.engine.audit.entries({ action: "revoke" })).map((e) => [e.actor, e.reason])).toEqual([
      [ALICE.id, `approval by ${ALICE.id} revoked`],
      [ALICE.id, `approval by ${bob.id} revoked`],
    ]);
  });

  it("poll takes a head and status the caller has just read instead of asking the remote and store again", async () => {
    f = createFixture([environment("prod", { sync: { policy: "auto" }, gates: emptyGates() })]);
    await f.engine.observe("sync", "prod", { actor: ENGINE });
    const heads = vi.spyOn(f.engine.git, "heads");
    const state = await f.engine.store.status("prod");
    const status = vi.spyOn(f.engine.store, "status");

    expect(await f.engine.poll("prod", "schedule", undefined, { head: HEAD, state })).toBeUndefined();
    expect(heads).not.toHaveBeenCalled();
    expect(status).not.toHaveBeenCalled();
    expect(await f.engine.poll("prod")).toBeUndefined();
    expect(heads).toHaveBeenCalledTimes(1);
  });

  it("names the known environments when asked for another", async () => {
    f = createFixture([environment("test"), environment("prod")]);
    await expect(f.engine.revoke("qa", { actor: ALICE })).rejects.toThrow(
      new UnknownEnvironmentError("unknown environment 'qa' (known: test, prod)"),
    );
  });

  it("refuses a promotion against the order, audited as the actor's", async () => {
    f = createFixture([environment("test", { order: 0 }), environment("prod", { order: 1 })]);
    const result = await f.engine.promote("prod", "test", { actor: ALICE });
    expect(result).toMatchObject({ outcome: "refused", actor: ALICE.id });
    expect(await f.engine.audit.entries({ action: "promote" })).toMatchObject([
      { actor: ALICE.id, environment: "test", verdict: "refused" },
    ]);
  });
});

function emptyGates() {
  return { windows: [], checks: [], policyPacks: [] };
}

describe("recovering an environment of several stacks", () => {
  let f: EngineFixture | undefined;
  afterEach(async () => {
    await f?.cleanup();
    f = undefined;
  });
  const stacks = [
    { name: "cloud", project: "app", stack: "cloud-test", dependsOn: [] },
    { name: "cluster", project: "app", stack: "cluster-test", dependsOn: ["cloud"] },
  ];
  const request = (stack?: string) => ({
    actor: person(AUTHOR),
    ...(stack ? { stack } : {}),
    confirm: () => Promise.resolve({ ok: false as const, reason: "not in this test" }),
  });

  it("needs the stack named, and says which there are", async () => {
    f = createFixture([environment("test", { stacks })]);
    await expect(f.engine.recover("test", request())).rejects.toThrow(
      "test has several stacks (cloud, cluster): name the one to recover with --stack <name>",
    );
    await expect(f.engine.recover("test", request("app"))).rejects.toThrow(
      "test has no stack 'app' (its stacks: cloud, cluster)",
    );
  });

  it("opens the stack named", async () => {
    f = createFixture([environment("test", { stacks })]);
    const result = await f.engine.recover("test", request("cluster"));
    expect(result.plan?.stack).toBe("cluster-test");
  });
});
