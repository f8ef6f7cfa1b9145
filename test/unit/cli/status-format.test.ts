import { describe, expect, it } from "vitest";

import {
  age,
  anyFailed,
  CHANGES_EXIT_CODE,
  changeLines,
  checkExitCode,
  checkLines,
  clean,
  displayType,
  formatCheckSummary,
  formatHistory,
  formatStatusTable,
  formatValue,
  gateLines,
  policyLines,
  progressLine,
  reasonLine,
  stageAfter,
  statusRows,
} from "../../../src/render/format";
import type { RunReport, EnvironmentStatus } from "../../../src/domain/model";
import type { EnvironmentState } from "../../../src/adapters/store/port";
import { DIGEST, gatedReport } from "../report/fixture";

const NOW = new Date("2025-03-04T10:00:00.000Z");
const minutesAgo = (n: number) => new Date(NOW.getTime() - n * 60_000).toISOString();

const ENVIRONMENTS = [
  { name: "test", branch: "test", stack: "test" },
  { name: "stage", branch: "stage", stack: "stage" },
  { name: "prod", branch: "release/prod", stack: "prod" },
];

function state(overrides: Partial<EnvironmentState> & { environment: string }): EnvironmentState {
  return {
    branch: overrides.environment,
    stack: overrides.environment,
    status: "Synced",
    headCommit: "4f1c2a9e0b7d3c5a6e8f9a0b1c2d3e4f5a6b7c8d",
    deployedCommit: "4f1c2a9e0b7d3c5a6e8f9a0b1c2d3e4f5a6b7c8d",
    pendingCount: 0,
    driftCount: 0,
    lastRunId: "run-1",
    lastRunAt: minutesAgo(3),
    updatedAt: minutesAgo(2),
    ...overrides,
  };
}

describe("statusRows", () => {
  it("lists every configured environment in order; one never checked is Unknown", () => {
    const rows = statusRows(ENVIRONMENTS, [state({ environment: "stage", status: "OutOfSync" })]);
    expect(rows.map((r) => [r.environment, r.status])).toEqual([
      ["test", "Unknown"],
      ["stage", "OutOfSync"],
      ["prod", "Unknown"],
    ]);
    expect(rows[0]).toMatchObject({ reason: "never checked", pendingCount: 0, driftCount: 0 });
    expect(rows[0]?.lastRunAt).toBeUndefined();
    expect(rows[2]?.branch).toBe("release/prod");
  });

  it("leaves out environments no longer configured, and takes branch and stack from the configuration", () => {
    const rows = statusRows(ENVIRONMENTS.slice(0, 1), [
      state({ environment: "test", branch: "old-branch" }),
      state({ environment: "gone" }),
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ environment: "test", branch: "test", status: "Synced" });
  });
});

describe("formatStatusTable", () => {
  it("aligns the columns, shortens shas, shows ages, and puts the reason on the line below", () => {
    const rows = statusRows(ENVIRONMENTS, [
      state({ environment: "test" }),
      state({
        environment: "stage",
        status: "OutOfSync+Drifted",
        deployedCommit: "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
        pendingCount: 2,
        driftCount: 1,
        lastRunAt: minutesAgo(180),
        reason: "sync policy is gated: changes are reported and wait for their gates",
      }),
    ]);
    expect(formatStatusTable(rows, NOW)).toBe(
      [
        "ENVIRONMENT   BRANCH         STATUS              HEAD           DEPLOYED       PENDING   DRIFTED   LAST RUN",
        "test          test           Synced              4f1c2a9e0b7d   4f1c2a9e0b7d   0         0         3m ago",
        "stage         stage          OutOfSync+Drifted   4f1c2a9e0b7d   9a8b7c6d5e4f   2         1         3h ago",
        "  ↳ sync policy is gated: changes are reported and wait for their gates",
        "prod          release/prod   Unknown             -              -              -         -         never",
        "  ↳ never checked",
        "",
      ].join("\n"),
    );
  });

  it("shows why an environment waits or is blocked, cut to the table's width, and where the whole reason is", () => {
    const long =
      "approval: 0 of 2 approvals (needs two of alice@example.com, bob@example.com, carol@example.com); " +
      "window: closed until Mon 09:00 Europe/Berlin; checks: functional failed (exit 1)";
    const rows = statusRows(ENVIRONMENTS, [
      state({ environment: "test" }),
      state({ environment: "stage", status: "AwaitingApproval", reason: "approval: 0 of 1 approvals" }),
      state({ environment: "prod", status: "Blocked", reason: long }),
    ]);
    const lines = formatStatusTable(rows, NOW).split("\n");
    const width = lines[0]?.length ?? 0;
    expect(lines[3]).toBe("  ↳ approval: 0 of 1 approvals");
    expect(lines[4]).toMatch(/^prod {10}release\/prod {3}Blocked {12}/);
    expect(lines[5]).toBe(`  ↳ ${long.slice(0, width - 5)}…`);
    expect(lines[5]).toHaveLength(width);
    expect(lines.slice(6)).toEqual([
      "",
      "Reasons cut short (…): `tidegate status --json` or `tidegate report <env>` has them whole.",
      "",
    ]);
  });

  it("adds no note when every reason fits", () => {
    const rows = statusRows(ENVIRONMENTS.slice(0, 1), [
      state({ environment: "test", status: "AwaitingApproval", reason: "approval: 0 of 1 approvals" }),
    ]);
    expect(formatStatusTable(rows, NOW)).not.toContain("cut short");
  });

  it("says so when there are no environments", () => {
    expect(formatStatusTable([], NOW)).toBe("No environments.\n");
  });

  it("shows a stale status as the last known one, with since when and why", () => {
    const stale = { since: minutesAgo(10), lastPollAt: minutesAgo(12), reason: "git ls-remote timed out" };
    const rows = statusRows(
      [{ name: "test", branch: "test", stack: "test" }],
      [state({ environment: "test", status: "Synced", stale })],
    );
    const lines = formatStatusTable(rows, NOW).split("\n");
    expect(lines[1]).toMatch(/^test\s+test\s+Synced \(stale\)\s/);
    expect(lines[2]).toBe("  ↳ stale since 10m ago, last successful poll 12m ago: git ls-remote timed out");
  });

  it("keeps terminal control characters from names and reasons out of the table", () => {
    const rows = statusRows(
      [{ name: "test", branch: "test", stack: "test" }],
      [state({ environment: "test", status: "Failed", reason: "boom\u001b[31m red" })],
    );
    const table = formatStatusTable(rows, NOW);
    expect(table).not.toContain("\u001b");
    expect(table).toContain("  ↳ boom [31m red");
  });
});

describe("reasonLine", () => {
  it("keeps the first line, marks that more follows, and shortens long ones", () => {
    expect(reasonLine(undefined)).toBeUndefined();
    expect(reasonLine("  \n ")).toBeUndefined();
    expect(reasonLine("one line")).toBe("one line");
    expect(reasonLine("pulumi failed\nstack trace\nmore")).toBe("pulumi failed …");
    expect(reasonLine("x".repeat(200), 20)).toBe(`${"x".repeat(19)}…`);
  });
});

describe("age", () => {
  it.each([
    [0, "just now"],
    [4, "just now"],
    [45, "45s ago"],
    [60, "1m ago"],
    [3 * 60 + 59, "3m ago"],
    [59 * 60, "59m ago"],
    [60 * 60, "1h ago"],
    [47 * 3600, "47h ago"],
    [48 * 3600, "2d ago"],
    [-30, "just now"],
  ])("%i seconds ago reads %s", (seconds, text) => {
    expect(age(new Date(NOW.getTime() - seconds * 1000).toISOString(), NOW)).toBe(text);
  });

  it("shows ? for a time it cannot read", () => {
    expect(age("yesterday", NOW)).toBe("?");
  });
});

describe("checkExitCode", () => {
  const cases: [EnvironmentStatus, number, number][] = [
    ["Synced", 0, 0],
    ["OutOfSync", 0, CHANGES_EXIT_CODE],
    ["Drifted", 0, CHANGES_EXIT_CODE],
    ["OutOfSync+Drifted", 0, CHANGES_EXIT_CODE],
    ["AwaitingApproval", 0, CHANGES_EXIT_CODE],
    ["Failed", 1, 1],
    ["Stalled", 1, 1],
    ["Blocked", 1, 1],
    ["Unknown", 1, 1],
    ["Progressing", 1, 1],
  ];
  it.each(cases)("%s exits %i, and %i with --exit-code", (status, plain, detailed) => {
    expect(checkExitCode(status, false)).toBe(plain);
    expect(checkExitCode(status, true)).toBe(detailed);
  });

  it("uses 3 for differences, like terraform plan -detailed-exitcode", () => {
    expect(CHANGES_EXIT_CODE).toBe(3);
  });

  it("run --once fails only when an environment Failed", () => {
    expect(anyFailed(["Synced", "OutOfSync", "Blocked"])).toBe(false);
    expect(anyFailed(["Synced", "Failed"])).toBe(true);
    expect(anyFailed(["Synced", "Stalled"])).toBe(true);
  });
});

const report: RunReport = {
  schemaVersion: 1,
  runId: "run-1",
  environment: "test",
  stack: "test",
  branch: "test",
  status: "OutOfSync+Drifted",
  reason: "sync policy is gated: changes are reported and wait for their gates",
  desired: {
    sha: "4f1c2a9e0b7d3c5a6e8f9a0b1c2d3e4f5a6b7c8d",
    author: "Dana Ops",
    authorEmail: "dana@example.com",
    date: "2025-03-04T09:00:00Z",
    message: "Tag the queue with its owner\n\nPayments owns it now.",
  },
  deployed: { commit: "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b" },
  pending: {
    kind: "pending",
    resources: [
      {
        urn: "urn:pulumi:test::platform::aws-sdk:Queue::events",
        type: "aws-sdk:Queue",
        name: "events",
        action: "update",
        properties: [
          { path: "tags.owner", kind: "add", new: "payments", replaces: false },
          { path: "visibilityTimeoutSeconds", kind: "update", old: 30, new: 45, replaces: false },
        ],
      },
    ],
  },
  drift: {
    kind: "drift",
    resources: [
      {
        urn: "urn:pulumi:test::platform::aws-sdk:Bucket::artifacts",
        type: "aws-sdk:Bucket",
        name: "artifacts",
        action: "drifted",
        properties: [
          { path: "tags.team", kind: "update", old: "platform", new: "intruders", replaces: false },
        ],
      },
      {
        urn: "urn:pulumi:test::platform::aws-sdk:Queue::dead-letters",
        type: "aws-sdk:Queue",
        name: "dead-letters",
        action: "missing",
        properties: [],
      },
    ],
  },
  startedAt: "2025-03-04T09:59:00.000Z",
  endedAt: "2025-03-04T09:59:30.000Z",
  timings: {},
  versions: { tidegate: "0.1.0", pulumi: "3.274.1", node: "22.23.3" },
};

describe("formatCheckSummary", () => {
  it("shows status, reason and commit, then pending changes and drift apart, one line per property", () => {
    expect(formatCheckSummary(report)).toBe(
      [
        "test: OutOfSync+Drifted",
        "  sync policy is gated: changes are reported and wait for their gates",
        "  commit 4f1c2a9e0b7d by Dana Ops: Tag the queue with its owner · deployed 9a8b7c6d5e4f",
        "",
        "Pending changes (Git → deployed): 1 resource",
        '  ~ events (aws-sdk:Queue) tags.owner: (not set) → "payments"',
        "  ~ events (aws-sdk:Queue) visibilityTimeoutSeconds: 30 → 45",
        "",
        "Drift (live ≠ deployed): 2 resources",
        '  ~ artifacts (aws-sdk:Bucket) tags.team: "platform" → "intruders"',
        "  - dead-letters (aws-sdk:Queue): gone from the live world; the deployed state still records it",
        "",
      ].join("\n"),
    );
  });

  it("says none for an empty section and leaves out the pending section of a drift-only check", () => {
    const text = formatCheckSummary({
      ...report,
      status: "Synced",
      reason: undefined,
      pending: undefined,
      drift: { kind: "drift", resources: [] },
    });
    expect(text).toContain("Drift (live ≠ deployed): none");
    expect(text).not.toContain("Pending");
  });

  it("says not checked when a check stopped before a preview, and shows what a sync applied", () => {
    const failed = formatCheckSummary({
      ...report,
      status: "Failed",
      reason: "preview failed\nsecond line",
      desired: undefined,
      deployed: {},
      pending: undefined,
      drift: undefined,
    });
    expect(failed).toContain("  preview failed\n  second line\n");
    expect(failed).toContain("commit unknown · deployed nothing yet");
    expect(failed).toContain("Pending changes (Git → deployed): not checked");
    expect(failed).toContain("Drift (live ≠ deployed): not checked");

    const synced = formatCheckSummary({
      ...report,
      status: "Synced",
      sync: { applied: true, summary: { update: 1, same: 2 } },
    });
    expect(synced).toContain("Sync: applied (1 update)");
  });
});

describe("gates in the check summary", () => {
  it("shows the verdicts under the plan's short digest, the approvals, checks, policy and the window note", () => {
    const text = formatCheckSummary(
      gatedReport({
        sync: {
          applied: true,
          summary: { update: 1 },
          windowClosedDuringUpdate: "the sync window closed while the update ran; the update was let finish",
        },
      }),
    );
    expect(text).toContain(
      [
        "  commit 4f1c2a9e0b7d by Dana Ops: Raise the queue's visibility timeout · deployed 9a8b7c6d5e4f",
        "",
        "Gates (plan 3f9a0c1d2e4b):",
        "  ✔ promotion (pass): succeeded in stage 3h ago",
        "  ⏳ approval (wait): 1 of 2 approvals (needs one more of ops@example.com)",
        "  ✖ window (block): closed until Mon 09:00 Europe/Berlin",
        "  ✖ checks (block): functional failed (exit 1)",
        "Approvals counted:",
        "  alice@example.com at 2025-03-04T09:10:00Z (sync)",
        "",
        "Pending changes (Git → deployed): 1 resource",
      ].join("\n"),
    );
    expect(text).toContain("Checks:\n  ✔ unit: passed, exit 0 in 1.2 s\n");
    expect(text).toContain(
      "Sync: applied (1 update)\n  ⚠ the sync window closed while the update ran; the update was let finish\n",
    );
    expect(text.indexOf("Policy:")).toBeGreaterThan(text.indexOf("Drift (live ≠ deployed)"));
  });

  it("leaves gates out when none is set, and warns about a gates change", () => {
    expect(formatCheckSummary(report)).not.toContain("Gates");
    expect(
      gateLines({ ...report, plan: { commit: "c", digest: DIGEST, remediate: false }, gates: [] }),
    ).toEqual([]);
    const text = formatCheckSummary({ ...report, gatesChange: { changes: ["approval: required 1 → 0"] } });
    expect(text).toContain(
      "⚠ This commit changes test's gates. They apply only after it is deployed;\n" +
        "  until then the gates of the deployed commit decide, this sync included.\n" +
        "  - approval: required 1 → 0\n",
    );
  });

  it("reads each check's outcome and lists mandatory policy findings first", () => {
    const check = gatedReport().checks![0]!;
    expect(
      checkLines([
        check,
        { ...check, name: "slow", exitCode: null, timedOut: true, durationMs: 600_000 },
        { ...check, name: "gone", exitCode: null, durationMs: 800 },
      ]),
    ).toEqual([
      "Checks:",
      "  ✔ unit: passed, exit 0 in 1.2 s",
      "  ✖ slow: timed out after 10 min 0 s",
      "  ✖ gone: killed after 800 ms",
    ]);
    expect(checkLines([])).toEqual([]);
    expect(policyLines(gatedReport().policy)).toEqual([
      "Policy:",
      "  ✖ mandatory on assets: aws-guard/s3-no-public-read: Bucket assets allows public reads.",
      "  ⚠ advisory on the stack: aws-guard/stack-tags: The stack has no owner tag.",
      "  ⚠ advisory on events: aws-guard/sqs-encryption: Queue events is not encrypted at rest.",
    ]);
    expect(policyLines(undefined)).toEqual([]);
  });
});

describe("changeLines and formatValue", () => {
  it("marks each action the way Pulumi does and flags replacements", () => {
    const resource = (action: "create" | "delete" | "replace") => ({
      urn: "u",
      type: "t",
      name: "n",
      action,
      properties: [],
    });
    expect(changeLines(resource("create"))).toEqual(["  + n (t): will be created"]);
    expect(changeLines(resource("delete"))).toEqual(["  - n (t): will be deleted"]);
    expect(
      changeLines({
        ...resource("replace"),
        properties: [{ path: "name", kind: "update", old: "a", new: "b", replaces: true }],
      }),
    ).toEqual(['  +- n (t) name: "a" → "b" (forces replacement)']);
  });

  it("shows masked secrets and unknowns as they are, objects as JSON, and shortens long values", () => {
    expect(formatValue("[secret]")).toBe("[secret]");
    expect(formatValue("(known after apply)")).toBe("(known after apply)");
    expect(formatValue(undefined)).toBe("(not set)");
    expect(formatValue({ a: [1, 2] })).toBe('{"a":[1,2]}');
    expect(formatValue("line\nbreak\u001b")).toBe('"line\\nbreak\\u001b"');
    expect(formatValue("x".repeat(100), 10)).toBe(`"${"x".repeat(8)}…`);
  });

  it("shows a dynamic resource's type as its program names it", () => {
    expect(displayType("pulumi-nodejs:dynamic/aws-sdk:Bucket")).toBe("aws-sdk:Bucket");
    expect(displayType("aws:s3/bucket:Bucket")).toBe("aws:s3/bucket:Bucket");
  });

  it("clean turns control characters into spaces", () => {
    expect(clean("a\tb\u001bc\u009bd")).toBe("a b c d");
  });
});

describe("progress", () => {
  it("reads the next stage from the engine's log entries", () => {
    expect(stageAfter("git", { git: "ls-remote" }, "check")).toBe("poll");
    expect(stageAfter("git", { git: "worktree" }, "check")).toBe("checkout");
    expect(stageAfter("git", { git: "log" }, "check")).toBeUndefined();
    expect(stageAfter("checked out", {}, "check")).toBe("install dependencies");
    expect(stageAfter("dependencies ready", {}, "check")).toBe("preview, then drift preview");
    expect(stageAfter("dependencies ready", {}, "drift")).toBe("drift preview");
    expect(stageAfter("sync started", {}, "sync")).toBe("update");
    expect(stageAfter("something else", {}, "check")).toBeUndefined();
  });

  it("draws one line with a spinner, the stage and the time so far", () => {
    expect(progressLine(0, "checking test", "preview", 12_400)).toBe("⠋ checking test: preview… 12s");
    expect(progressLine(11, "checking test", undefined, 0)).toBe("⠙ checking test… 0s");
  });
});

describe("formatHistory", () => {
  it("lists runs newest first with their kind, mode, trigger and commit", () => {
    const text = formatHistory(
      [
        {
          runId: "run-2",
          startedAt: minutesAgo(1),
          status: "Drifted",
          kind: "drift",
          mode: "report",
          trigger: "cli:dana",
          commit: "4f1c2a9e0b1c2d3e4f5a",
        },
        { runId: "run-1", startedAt: minutesAgo(90), status: "Synced" },
      ],
      NOW,
    );
    expect(text.split("\n")).toEqual([
      "RUN     STARTED                             KIND    MODE     TRIGGER    COMMIT         STATUS",
      `run-2   ${minutesAgo(1)} (1m ago)   drift   report   cli:dana   4f1c2a9e0b1c   Drifted`,
      `run-1   ${minutesAgo(90)} (1h ago)   -       -        -          -              Synced`,
      "",
    ]);
    expect(formatHistory([], NOW)).toBe("No runs yet.\n");
  });
});
