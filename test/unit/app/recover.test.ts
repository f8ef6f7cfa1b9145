import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { AuditInput } from "../../../src/adapters/audit";
import type { PendingOperation } from "../../../src/adapters/pulumi/stack";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import type { Store } from "../../../src/adapters/store/port";
import { person } from "../../../src/app/actor";
import { interruptedReason, status } from "../../../src/app/read";
import {
  manualCommands,
  protection,
  recover,
  type Confirmation,
  type RecoverContext,
  type RecoverRequest,
} from "../../../src/app/recover";
import type { Gates } from "../../../src/domain/gates";
import type { RunReport } from "../../../src/domain/model";
import { createLogger } from "../../../src/log";
import { FakeStack, type StackScript } from "../../support/fake-stack";
import { environment } from "./fixture";

const HEAD = "a".repeat(40);
const RUN_COMMIT = "b".repeat(40);
const PENDING: PendingOperation[] = [
  {
    urn: "urn:pulumi:test::app::aws:s3/bucket:Bucket::logs",
    type: "aws:s3/bucket:Bucket",
    operation: "creating",
  },
];
const LOCK = { file: "/state/.pulumi/locks/organization/app/test/x.json", pid: 42, user: "ci", host: "box" };
const NO_GATES: Gates = { windows: [], checks: [], policyPacks: [] };
const yes = (): Promise<Confirmation> => Promise.resolve({ ok: true });

interface Harness {
  ctx: RecoverContext;
  stack: FakeStack;
  store: Store;
  audit: AuditInput[];
  /** Whether the environment was held, and by how many recoveries at once. */
  holds: number;
}

function harness(script: StackScript, options: { free?: boolean; gates?: Gates } = {}): Harness {
  const stack = new FakeStack(script);
  const store = openMemoryStore();
  const audit: AuditInput[] = [];
  let ids = 0;
  const h: Harness = {
    stack,
    store,
    audit,
    holds: 0,
    ctx: {
      store,
      git: {
        heads: (branches) => Promise.resolve(Object.fromEntries(branches.map((b) => [b, HEAD]))),
        checkout: () => Promise.resolve(),
      },
      audit: async (entry) => void audit.push(entry),
      log: createLogger({ mode: "json", level: "error", stream: new PassThrough().resume() }),
      workspaceDir: "/data/workspaces/test",
      installDependencies: () => Promise.resolve(),
      openStack: () => Promise.resolve(stack),
      hold: async (_runId, work) => {
        if (options.free === false) return undefined;
        h.holds++;
        return work();
      },
      gatesAt: () => Promise.resolve(options.gates),
      isOwnerDead: (owner) => owner === "dead-host/9/1/x",
      check: () => Promise.resolve({ status: "OutOfSync" } as RunReport),
      now: () => new Date("2025-06-01T12:00:00Z"),
      newId: () => `id-${++ids}`,
    },
  };
  return h;
}

const request = (overrides: Partial<RecoverRequest> = {}): RecoverRequest => ({
  actor: person("ada@example.com"),
  confirm: yes,
  ...overrides,
});

async function deadRun(store: Store): Promise<void> {
  await store.startRun({
    id: "run-1",
    environment: "test",
    stack: "test",
    kind: "sync",
    trigger: "cli:ada",
    commit: RUN_COMMIT,
    owner: "dead-host/9/1/x",
    startedAt: "2025-06-01T11:00:00Z",
  });
}

describe("recover", () => {
  it("shows the pending operations and the lock, then cancels, refreshes, checks and audits each step", async () => {
    const h = harness({
      pendingOperations: PENDING,
      locks: [LOCK],
      deployed: { commit: HEAD, version: 3, endTime: new Date() },
    });
    await deadRun(h.store);
    const shown: unknown[] = [];
    const result = await recover(
      h.ctx,
      environment("test"),
      request({ confirm: (plan) => (shown.push(plan), yes()) }),
    );

    expect(result.outcome).toBe("recovered");
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatchObject({
      commit: RUN_COMMIT, // the interrupted run's program, not the branch head
      pendingOperations: PENDING,
      locks: [LOCK],
      interrupted: { id: "run-1" },
      protection: { needs: "nothing" },
    });
    expect(h.stack.calls.filter((c) => c === "cancel" || c === "clearPendingOperations")).toEqual([
      "cancel",
      "clearPendingOperations",
    ]);
    expect(h.audit.map((e) => [e.action, e.details?.step, e.verdict])).toEqual([
      ["recover", "inspect", "shown"],
      ["recover", "cancel", "released"],
      ["recover", "refresh", "recovered"],
    ]);
    expect(h.audit[0]).toMatchObject({
      actor: "ada@example.com",
      environment: "test",
      details: {
        pendingOperations: [`creating ${PENDING[0]?.urn}`],
        lockHeld: true,
        interruptedRun: "run-1",
      },
    });
    // The dead run is marked, and the check after it is what the status shows.
    expect(await h.store.run("run-1")).toMatchObject({ outcome: "interrupted" });
    expect(result.outcome === "recovered" && result.report.status).toBe("OutOfSync");
  });

  it("declined (no --yes off a terminal): nothing is cancelled or refreshed, and the refusal is audited", async () => {
    const h = harness({ pendingOperations: PENDING, locks: [LOCK] });
    const reason = "not confirmed: stdin is not a terminal";
    const result = await recover(
      h.ctx,
      environment("test"),
      request({ confirm: () => Promise.resolve({ ok: false, reason }) }),
    );

    expect(result).toMatchObject({ outcome: "declined", reason });
    expect(h.stack.calls).not.toContain("cancel");
    expect(h.stack.calls).not.toContain("clearPendingOperations");
    expect(h.audit.at(-1)).toMatchObject({ verdict: "declined", reason, details: { step: "confirm" } });
  });

  it("with nothing pending and no lock, asks nothing and only checks", async () => {
    const h = harness({ locks: [] });
    const result = await recover(
      h.ctx,
      environment("test"),
      request({ confirm: () => expect.fail("nothing to confirm") }),
    );
    expect(result.outcome).toBe("clean");
    expect(h.stack.calls).not.toContain("cancel");
  });

  it("a backend that does not show its locks: cancel is tried, and 'nothing to cancel' is no failure", async () => {
    const h = harness({ pendingOperations: PENDING });
    h.stack.cancel = () => Promise.reject(new Error("no update in progress"));
    const result = await recover(h.ctx, environment("test"), request());
    expect(result.outcome).toBe("recovered");
    expect(h.audit.map((e) => e.verdict)).toEqual(["shown", "nothing-to-cancel", "recovered"]);
  });

  it("a failed refresh is audited and thrown", async () => {
    const h = harness({ pendingOperations: PENDING, locks: [], refresh: new Error("passphrase is wrong") });
    await expect(recover(h.ctx, environment("test"), request())).rejects.toThrow("passphrase is wrong");
    expect(h.audit.at(-1)).toMatchObject({ verdict: "failed", reason: "passphrase is wrong" });
  });

  it("when another process holds the environment, it refuses and says so", async () => {
    const h = harness({ pendingOperations: PENDING }, { free: false });
    const result = await recover(h.ctx, environment("test"), request());
    expect(result).toMatchObject({
      outcome: "refused",
      reason: expect.stringMatching(/another tidegate holds/),
    });
    expect(h.stack.calls).toEqual([]);
  });

  it("protected resources with refuse: never cleared through tidegate, the manual commands are shown instead", async () => {
    const gates: Gates = {
      ...NO_GATES,
      protect: { operations: ["delete"], resources: ["logs"], action: "refuse" },
    };
    const h = harness({ pendingOperations: PENDING, locks: [] });
    const result = await recover(h.ctx, environment("test", { gates }), request());
    expect(result).toMatchObject({
      outcome: "refused",
      reason: expect.stringMatching(/refuses protected operations/),
    });
    expect(result.plan?.manual.join("\n")).toMatch(/refresh --stack 'test' --clear-pending-creates/);
    expect(h.stack.calls).not.toContain("clearPendingOperations");
  });

  it("protected resources with approve: another person's approval of exactly these operations lets it run", async () => {
    const gates: Gates = {
      ...NO_GATES,
      protect: { operations: ["delete"], resources: ["aws:s3/*"], action: "approve" },
    };
    const env = environment("test", { gates });
    const h = harness({ pendingOperations: PENDING, locks: [] });

    const without = await recover(h.ctx, env, request());
    expect(without).toMatchObject({ outcome: "refused", reason: expect.stringMatching(/--approve/) });

    // Approving one's own recovery does not count.
    const own = await recover(h.ctx, env, request({ approve: true }));
    expect(own.outcome).toBe("approved");
    expect((await recover(h.ctx, env, request())).outcome).toBe("refused");

    const other = await recover(h.ctx, env, request({ actor: person("bob@example.com"), approve: true }));
    expect(other).toMatchObject({
      outcome: "approved",
      approval: { scope: "protected", approver: "bob@example.com" },
    });
    expect((await recover(h.ctx, env, request())).outcome).toBe("recovered");
  });

  it("the protected rule counts any pending operation on a matching resource, strictest set wins", () => {
    const approve: Gates = {
      ...NO_GATES,
      protect: { operations: ["replace"], resources: ["log*"], action: "approve" },
    };
    const refuse: Gates = {
      ...NO_GATES,
      protect: { operations: ["delete"], resources: [], action: "refuse" },
    };
    expect(protection([NO_GATES], PENDING)).toEqual({ needs: "nothing" });
    expect(protection([approve], PENDING)).toMatchObject({ needs: "approval", resources: [PENDING[0]?.urn] });
    expect(protection([approve, refuse], PENDING)).toMatchObject({ needs: "refused" });
  });

  it("the manual commands set the backend, PULUMI_HOME and name the passphrase's source, never its value", () => {
    const lines = manualCommands(
      {
        stackName: "test",
        workDir: "/data/workspaces/test/app",
        pulumi: "/toolchain/bin/pulumi",
        backendUrl: "file:///data/state",
        pulumiHome: "/data/pulumi-home",
        passphraseSource: "file /etc/tidegate/passphrase",
      },
      [LOCK],
    );
    expect(lines).toEqual([
      "cd '/data/workspaces/test/app'",
      "export PULUMI_BACKEND_URL='file:///data/state'",
      "export PULUMI_HOME='/data/pulumi-home'",
      "export PULUMI_CONFIG_PASSPHRASE=...   # the passphrase from file /etc/tidegate/passphrase",
      "'/toolchain/bin/pulumi' cancel --stack 'test' --yes",
      "'/toolchain/bin/pulumi' refresh --stack 'test' --clear-pending-creates --yes",
    ]);
  });
});

describe("an interrupted run on read", () => {
  it("shows Interrupted when the newest run has no end and its owner is dead, naming run, commit, start and recover", async () => {
    const store = openMemoryStore();
    await store.setStatus({
      environment: "test",
      branch: "test",
      stack: "test",
      status: "Progressing",
      pendingCount: 0,
      driftCount: 0,
      updatedAt: "2025-06-01T11:00:01Z",
    });
    await deadRun(store);
    const environments = [{ name: "test", branch: "test", stack: "test" }];

    // An owner still alive: its run is in progress.
    expect((await status({ store, environments, isOwnerDead: () => false }))[0]?.status).toBe("Progressing");
    const [row] = await status({ store, environments, isOwnerDead: () => true });
    expect(row).toMatchObject({ status: "Interrupted", lastRunId: "run-1" });
    expect(row?.reason).toBe(
      "sync run run-1 of bbbbbbb started 2025-06-01T11:00:00Z was interrupted (its tidegate process is gone); run `tidegate recover test` to see and clear what it left",
    );

    // Marked by the daemon's sweep: still Interrupted, with or without a liveness probe.
    await store.markInterrupted({ now: "2025-06-01T11:30:00Z", isDead: () => true });
    expect((await status({ store, environments }))[0]?.status).toBe("Interrupted");
    const run = await store.run("run-1");
    expect(run && interruptedReason(run)).toMatch(/tidegate recover test/);
  });
});
